#include "driver_shim.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "reg_access.h"
#include "rx_packet.h"

namespace ov2 {

using sc_core::sc_time;
using sc_core::SC_PS;

uint32_t make_nbl_info(bool sa_delete_req, bool crypto_done, bool next_crypto_done, CryptoStatus status) {
    // NDIS rule: when the NIC did not process the packet both flags are clear and the status means nothing.
    if (!crypto_done) return sa_delete_req ? 1u : 0u;
    return uint32_t(sa_delete_req) | 1u << 1 | uint32_t(next_crypto_done) << 2 | uint32_t(status) << 16;
}

uint32_t make_header_info(uint8_t next_header, uint8_t pad_length, bool header_info_set) {
    if (!header_info_set) return 0;
    return uint32_t(next_header) | uint32_t(pad_length) << 8 | 1u << 16;
}

namespace {

uint32_t icv_length(const SecurityAssociation& s) {
    if (is_gcm_encryption(s.encryption.identifier)) return s.encryption.additional_info;
    switch (s.authentication.identifier) {
    case ndis::kAuthMd5:
    case ndis::kAuthSha1: return 12;
    case ndis::kAuthSha256: return 16;
    case ndis::kAuthAesGmac128:
    case ndis::kAuthAesGmac192:
    case ndis::kAuthAesGmac256: return s.authentication.additional_info ? s.authentication.additional_info : 16;
    default: return 0;
    }
}

std::string sa_refusal(const SecurityAssociation& s, const Capabilities& caps) {
    const bool ah = s.operation == IpsecOperation::Ah;
    if (ah && !caps.ah) return "AH is not supported (capability Ah = FALSE)";
    if (!ah && !caps.esp) return "ESP is not supported (capability Esp = FALSE)";
    if (s.mode == SaMode::Tunnel && !caps.tunnel) return "tunnel mode is not supported";
    if (s.mode == SaMode::Transport && !caps.transport) return "transport mode is not supported";
    if ((s.flags & ndis::kSaFlagEsn) && !caps.extended_sequence_numbers)
        return "extended sequence numbers are not supported";
    const uint32_t auth = s.authentication.identifier;
    const uint32_t enc = s.encryption.identifier;
    if (auth && !(auth & caps.authentication_algorithms))
        return fmt::format("authentication algorithm 0x{:x} is outside AuthenticationAlgorithms 0x{:x}", auth,
                           caps.authentication_algorithms);
    if (!ah && !(enc & caps.encryption_algorithms))
        return fmt::format("encryption algorithm 0x{:x} is outside EncryptionAlgorithms 0x{:x}", enc,
                           caps.encryption_algorithms);
    if (ah && !auth) return "AH SA without an authentication algorithm";
    if (s.encryption.key.size() > 36 || s.authentication.key.size() > 36) return "key longer than the device holds";
    return "";
}

}  // namespace

std::string offload_refusal(const AddSa& sa, const Capabilities& caps) {
    if (!sa.not_offloadable.empty())
        return "algorithm " + sa.not_offloadable + " cannot be named by IPsecOV2";
    if ((sa.flags & ndis::kAddSaIpv6) && !caps.ipv6_supported) return "IPv6 is not supported";
    if (sa.num_ext_hdrs == 2 && !caps.ah_esp_combined) return "AH+ESP bundles are not supported";
    if (sa.num_ext_hdrs < 1 || sa.num_ext_hdrs > 2) return "NumExtHdrs must be 1 or 2";
    if (sa.udp_esp_encapsulation && !(sa.udp_esp_encapsulation & caps.udp_esp))
        return fmt::format("UDP-ESP encapsulation {} is outside UdpEsp 0x{:x}", sa.udp_esp_encapsulation,
                           caps.udp_esp);
    for (size_t i = 0; i < sa.num_ext_hdrs; ++i) {
        std::string why = sa_refusal(sa.sec_assoc[i], caps);
        if (!why.empty()) return why;
    }
    return "";
}

CamEntry make_cam_entry(const AddSa& sa, size_t slot, uint32_t handle) {
    const SecurityAssociation& s = sa.sec_assoc[slot];
    CamEntry e;
    e.valid = true;
    e.inbound = sa.inbound();
    e.ip_version = (sa.flags & ndis::kAddSaIpv6) ? 6 : 4;
    e.dst = sa.dst;
    e.dst.version = e.ip_version;
    e.spi = s.spi;
    e.proto = s.operation == IpsecOperation::Ah ? kIpProtoAh : kIpProtoEsp;
    e.mode = s.mode;
    e.esn = s.flags & ndis::kSaFlagEsn;
    e.seq_hi = s.sequence_number_high_order;
    e.udp_esp_encapsulation = sa.udp_esp_encapsulation;
    e.enc_alg = s.operation == IpsecOperation::Ah ? 0 : s.encryption.identifier;
    e.auth_alg = s.authentication.identifier;
    e.icv_len = uint8_t(icv_length(s));
    auto split_salt = [&e](const std::vector<uint8_t>& key, std::array<uint8_t, 32>& out, uint8_t& out_len) {
        const size_t aes = key.size() >= 4 ? key.size() - 4 : 0;  // RFC 4106/4543 keymat: key || salt
        std::copy_n(key.begin(), std::min<size_t>(aes, 32), out.begin());
        std::copy_n(key.begin() + aes, std::min<size_t>(key.size() - aes, 4), e.salt.begin());
        out_len = uint8_t(std::min<size_t>(aes, 32));
    };
    if (is_gcm_encryption(e.enc_alg)) {
        split_salt(s.encryption.key, e.enc_key, e.enc_key_len);
    } else {
        e.enc_key_len = uint8_t(std::min<size_t>(s.encryption.key.size(), 32));
        std::copy_n(s.encryption.key.begin(), e.enc_key_len, e.enc_key.begin());
    }
    if (is_gmac_auth(e.auth_alg)) {
        split_salt(s.authentication.key, e.auth_key, e.auth_key_len);
    } else {
        e.auth_key_len = uint8_t(std::min<size_t>(s.authentication.key.size(), 32));
        std::copy_n(s.authentication.key.begin(), e.auth_key_len, e.auth_key.begin());
    }
    e.handle = handle;
    e.bundle_slot = uint8_t(slot);
    e.bundle_has_inner = sa.num_ext_hdrs == 2 && slot == 1;  // AH outside, ESP of slot 0 inside
    return e;
}

// ---- the module -----------------------------------------------------------------------------------------

DriverShim::DriverShim(sc_core::sc_module_name name, const TimingParams& timing, const DriverConfig& config,
                       HostMemory& memory, const sc_core::sc_event& irq, TransportModel& transport,
                       std::vector<AddSa> initial_sas, bool isr_thread)
    : sc_module(name), mmio("mmio"), timing_(timing), config_(config), memory_(memory), irq_(irq),
      transport_(transport), initial_sas_(std::move(initial_sas)) {
    SC_HAS_PROCESS(DriverShim);
    SC_THREAD(init_thread);
    if (isr_thread) SC_THREAD(isr_thread);
}

void DriverShim::trace(Tracer& t) {
    tr_irq_.attach(t, "driver.irq", 1, TraceFormat::Bin);
    tr_isr_.attach(t, "driver.isr", 1, TraceFormat::Bin);
    tr_indicate_.attach(t, "driver.indicate", 1, TraceFormat::Bin);
    tr_frame_.attach(t, "driver.frame", 32);
    tr_nbl_info_.attach(t, "driver.nbl_info", 32, TraceFormat::Hex);
}

bool DriverShim::mmio_write(uint32_t offset, const uint32_t* words, size_t count) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    const tlm::tlm_response_status status =
        transact(mmio, tlm::TLM_WRITE_COMMAND, reg::kMmioBase + offset,
                 reinterpret_cast<uint8_t*>(const_cast<uint32_t*>(words)), uint32_t(count * 4), delay);
    sc_core::wait(delay);
    if (status == tlm::TLM_OK_RESPONSE) return true;
    ++stats_.mmio_errors;
    return false;
}

uint32_t DriverShim::mmio_read(uint32_t offset) {
    uint32_t value = 0;
    sc_time delay = sc_core::SC_ZERO_TIME;
    const tlm::tlm_response_status status = transact(mmio, tlm::TLM_READ_COMMAND, reg::kMmioBase + offset,
                                                     reinterpret_cast<uint8_t*>(&value), 4, delay);
    sc_core::wait(delay);
    if (status != tlm::TLM_OK_RESPONSE) ++stats_.mmio_errors;
    return value;
}

void DriverShim::program_capabilities() {
    const Capabilities& c = config_.caps;
    const uint32_t caps = (c.ipv6_supported ? reg::kCapIpv6 : 0) | (c.ipv4_options ? reg::kCapIpv4Options : 0) |
                          (c.ipv6_non_ipsec_extension_headers ? reg::kCapIpv6ExtHeaders : 0) |
                          (c.ah ? reg::kCapAh : 0) | (c.esp ? reg::kCapEsp : 0) |
                          (c.ah_esp_combined ? reg::kCapAhEsp : 0) | (c.transport ? reg::kCapTransport : 0) |
                          (c.tunnel ? reg::kCapTunnel : 0) |
                          (c.transport_tunnel_combined ? reg::kCapTransportTunnel : 0) |
                          (c.extended_sequence_numbers ? reg::kCapEsn : 0);
    const uint32_t words[] = {caps, c.authentication_algorithms, c.encryption_algorithms, c.udp_esp};
    mmio_write(reg::kSaCaps, words, 4);
    const uint32_t enable = config_.offload_enabled ? 1 : 0;
    mmio_write(reg::kSaCtrl, &enable, 1);
    const uint32_t device_entries = mmio_read(reg::kSaCapacity);
    const uint32_t bundles = std::min(c.sa_offload_capacity, device_entries / 2);
    bundles_.assign(bundles, Bundle{});
    free_slots_.clear();
    for (uint32_t slot = 0; slot < bundles; ++slot) free_slots_.push_back(slot);
}

void DriverShim::setup_rings() {
    rx_size_ = timing_.rx_ring_entries;
    cpl_size_ = timing_.cpl_ring_entries;
    rx_ring_ = memory_.allocate(uint64_t(rx_size_) * RxDescriptor::kBytes);
    buffers_ = memory_.allocate(uint64_t(rx_size_) * timing_.rx_buffer_bytes);
    cpl_ring_ = memory_.allocate(uint64_t(cpl_size_) * Completion::kBytes);
    std::memset(memory_.at(cpl_ring_), 0, size_t(cpl_size_) * Completion::kBytes);
    for (uint32_t i = 0; i < rx_size_; ++i) {  // ring slot i always holds buffer i: both are used in order
        uint8_t* d = memory_.at(rx_ring_ + uint64_t(i) * RxDescriptor::kBytes);
        const uint64_t addr = buffers_ + uint64_t(i) * timing_.rx_buffer_bytes;
        std::memcpy(d, &addr, 8);
        std::memcpy(d + 8, &timing_.rx_buffer_bytes, 4);
        std::memset(d + 12, 0, 4);
    }
    const uint32_t rx[] = {uint32_t(rx_ring_), uint32_t(rx_ring_ >> 32), rx_size_};
    mmio_write(reg::kRxRingBaseLo, rx, 3);
    const uint32_t cpl[] = {uint32_t(cpl_ring_), uint32_t(cpl_ring_ >> 32), cpl_size_};
    mmio_write(reg::kCplRingBaseLo, cpl, 3);
    rx_tail_ = rx_size_ - 1;  // one slot stays empty so that head == tail means "no buffer"
    mmio_write(reg::kRxRingTail, &rx_tail_, 1);
}

void DriverShim::init_thread() {
    program_capabilities();
    setup_rings();
    if (config_.offload_enabled) {
        initial_results_ = oid_add_sa(initial_sas_);
    } else {
        initial_results_.assign(initial_sas_.size(), AddSaResult{0, "IPsec offload is not enabled"});
    }
    const uint32_t enable = 1;
    mmio_write(reg::kRxCtrl, &enable, 1);
    ready.notify(sc_core::SC_ZERO_TIME);
}

bool DriverShim::program_entry(uint32_t index, const CamEntry& entry) {
    const std::array<uint32_t, reg::kSaDataWords> words = pack_cam_entry(entry);
    const uint32_t command = index | uint32_t(reg::kSaCmdWrite) << 28;
    if (!mmio_write(reg::kSaData0, words.data(), words.size())) return false;
    for (uint32_t attempt = 0; attempt < kMaxBusyRetries; ++attempt) {
        if (!mmio_write(reg::kSaCmd, &command, 1)) return false;
        const uint32_t status = mmio_read(reg::kSaStatus);
        if (!(status & reg::kSaStatusBusy)) return (status & reg::kSaStatusError) == 0;
        ++stats_.sa_busy_retries;  // the deleted SA that had this slot still has frames in the pipeline
    }
    return false;
}

DriverShim::Bundle* DriverShim::bundle_of(uint64_t handle) {
    if (handle == 0 || handle > UINT32_MAX) return nullptr;
    const uint32_t slot = slot_of(uint32_t(handle));
    if (slot >= bundles_.size()) return nullptr;
    Bundle& b = bundles_[slot];
    return b.in_use && b.handle == handle ? &b : nullptr;
}

std::vector<AddSaResult> DriverShim::oid_add_sa(const std::vector<AddSa>& list) {
    ++stats_.oid_add_sa;
    std::vector<AddSaResult> results(list.size());
    for (size_t i = 0; i < list.size(); ++i) results[i] = oid_add_sa_ex(list[i]);
    link_pairs(list, results);
    return results;
}

AddSaResult DriverShim::oid_add_sa_ex(const AddSa& sa) {
    AddSaResult result;
    result.refused = offload_refusal(sa, config_.caps);
    if (result.refused.empty() && free_slots_.empty())
        result.refused = fmt::format("SA table full (SaOffloadCapacity {})", bundles_.size());
    if (!result.refused.empty()) {
        ++stats_.sa_refused;
        return result;
    }
    const uint32_t slot = free_slots_.front();
    free_slots_.pop_front();
    Bundle& b = bundles_[slot];
    const uint32_t handle = b.generation << kHandleSlotBits | (slot + 1);
    for (size_t i = 0; i < sa.num_ext_hdrs; ++i) {
        if (!program_entry(slot * 2 + uint32_t(i), make_cam_entry(sa, i, handle))) {
            result.refused = "the device rejected the SA entry";
            free_slots_.push_back(slot);
            ++stats_.sa_refused;
            return result;
        }
    }
    const uint32_t generation = b.generation;
    b = Bundle{};
    b.generation = generation;
    b.handle = handle;
    b.in_use = true;
    b.sa = sa;
    for (SecurityAssociation& s : b.sa.sec_assoc) {
        std::fill(s.encryption.key.begin(), s.encryption.key.end(), 0);
        std::fill(s.authentication.key.begin(), s.authentication.key.end(), 0);
    }
    ++in_use_;
    ++stats_.sa_offloaded;
    if (!sa.name.empty()) handle_by_name_[sa.name] = handle;
    result.offload_handle = handle;
    return result;
}

// Tells the transport which outbound SA belongs to each inbound one: the named pair, or else the outbound
// SA with the addresses swapped and the same protocol.
void DriverShim::link_pairs(const std::vector<AddSa>& list, const std::vector<AddSaResult>& results) {
    auto find_pair = [&](const AddSa& in) -> uint32_t {
        for (size_t j = 0; j < list.size(); ++j) {
            const AddSa& out = list[j];
            if (out.inbound() || !results[j].offload_handle) continue;
            const bool named = !in.pair.empty() && in.pair == out.name;
            const bool mirrored = in.pair.empty() && out.src == in.dst && out.dst == in.src &&
                                  out.sec_assoc[0].operation == in.sec_assoc[0].operation;
            if (named || mirrored) return results[j].offload_handle;
        }
        return 0;
    };
    for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].inbound() || !results[i].offload_handle) continue;
        transport_.sa_offloaded(results[i].offload_handle, list[i], find_pair(list[i]));
    }
}

uint32_t DriverShim::oid_delete_sa(uint32_t handle) {
    ++stats_.oid_delete_sa;
    Bundle* b = bundle_of(handle);
    if (!b) {
        ++stats_.oid_failed;
        return kNdisStatusInvalidParameter;
    }
    const uint32_t slot = slot_of(handle);
    for (uint32_t i = 0; i < 2; ++i) {
        const uint32_t command = (slot * 2 + i) | uint32_t(reg::kSaCmdInvalidate) << 28;
        mmio_write(reg::kSaCmd, &command, 1);
    }
    auto named = handle_by_name_.find(b->sa.name);
    if (named != handle_by_name_.end() && named->second == handle) handle_by_name_.erase(named);
    const uint32_t next_generation = (b->generation + 1) & 0xFFFF;
    *b = Bundle{};
    b->generation = next_generation;
    free_slots_.push_back(slot);
    --in_use_;
    transport_.sa_deleted(handle);
    return kNdisStatusSuccess;
}

uint32_t DriverShim::oid_update_sa(const UpdateSa& update) {
    ++stats_.oid_update_sa;
    Bundle* b = bundle_of(update.offload_handle);
    if (!b || !config_.caps.extended_sequence_numbers) {
        ++stats_.oid_failed;
        return kNdisStatusInvalidParameter;
    }
    const uint32_t bundle_slot = slot_of(uint32_t(update.offload_handle));
    const AddSa& sa = b->sa;
    for (uint32_t slot = 0; slot < sa.num_ext_hdrs; ++slot) {
        const SecurityAssociation& s = sa.sec_assoc[slot];
        if (s.spi != update.spi || s.operation != update.operation) continue;
        const uint32_t seq_hi = update.sequence_number_high_order;
        const uint32_t command = (bundle_slot * 2 + slot) | uint32_t(reg::kSaCmdSetSeqHi) << 28;
        mmio_write(reg::kSaData0, &seq_hi, 1);
        mmio_write(reg::kSaCmd, &command, 1);
        b->sa.sec_assoc[slot].sequence_number_high_order = seq_hi;
        return kNdisStatusSuccess;
    }
    ++stats_.oid_failed;
    return kNdisStatusInvalidParameter;
}

uint32_t DriverShim::handle_of(const std::string& sa_name) const {
    auto it = handle_by_name_.find(sa_name);
    return it == handle_by_name_.end() ? 0 : it->second;
}

void DriverShim::run_scheduled_oids(uint32_t frame) {
    while (next_event_ < scheduled_.size() && scheduled_[next_event_].before_frame <= frame) {
        const OidEvent& e = scheduled_[next_event_++];
        OidLogEntry log{e.before_frame, e.kind, e.sa, kNdisStatusSuccess, {}};
        switch (e.kind) {
        case OidEvent::Kind::AddSa: {
            log.added = oid_add_sa(e.sas);
            const bool any = std::any_of(log.added.begin(), log.added.end(),
                                         [](const AddSaResult& r) { return r.offload_handle != 0; });
            log.status = any ? kNdisStatusSuccess : kNdisStatusFailure;  // succeeds if any SA was offloaded
            break;
        }
        case OidEvent::Kind::DeleteSa:
            log.status = oid_delete_sa(handle_of(e.sa));
            break;
        case OidEvent::Kind::UpdateSa: {
            const uint32_t handle = handle_of(e.sa);
            UpdateSa u;
            u.offload_handle = handle;
            u.sequence_number_high_order = e.seq_hi;
            if (e.spi_given) {
                u.spi = e.spi;
                u.operation = e.operation;
            } else if (const Bundle* b = bundle_of(handle)) {
                u.spi = b->sa.sec_assoc[0].spi;
                u.operation = b->sa.sec_assoc[0].operation;
            }
            log.status = oid_update_sa(u);
            break;
        }
        }
        oid_log_.push_back(std::move(log));
    }
}

// SaDeleteReq policy (ov2sim, per SA): packet or byte lifetime reached, or a sequence number about to wrap
// without ESN. Requested once; the stack then deletes the SA.
bool DriverShim::sa_delete_due(Bundle& b, const Completion& c) {
    if (b.delete_requested) return false;
    ++b.packets;
    b.bytes += c.length;
    const SaDeletePolicy& p = b.sa.delete_policy;
    const bool esn = b.sa.sec_assoc[0].flags & ndis::kSaFlagEsn;
    const bool due = (p.packet_lifetime && b.packets >= p.packet_lifetime) ||
                     (p.byte_lifetime && b.bytes >= p.byte_lifetime) ||
                     (!esn && p.seq_wrap_margin && c.seq_low >= 0xFFFFFFFFu - p.seq_wrap_margin);
    b.delete_requested = due;
    return due;
}

void DriverShim::handle_completion(uint32_t slot, uint64_t at_ps) {
    if (before_host_read) before_host_read();
    uint8_t* record = memory_.at(cpl_ring_ + uint64_t(slot) * Completion::kBytes);
    const Completion c = Completion::decode(record);
    const uint64_t buffer = buffers_ + uint64_t(next_buffer_) * timing_.rx_buffer_bytes;
    next_buffer_ = next_buffer_ + 1 == rx_size_ ? 0 : next_buffer_ + 1;

    const bool crypto_done = c.ipsec_flags & kCplCryptoDone;
    bool delete_req = false;
    if (crypto_done) {
        if (Bundle* b = bundle_of(c.handle)) delete_req = sa_delete_due(*b, c);
    }
    stats_.sa_delete_req_set += delete_req;

    Indication ind;
    ind.frame = c.frame_tag;
    ind.data = memory_.at(buffer);
    ind.length = c.length;
    ind.nbl_info = make_nbl_info(delete_req, crypto_done, c.ipsec_flags & kCplNextCryptoDone,
                                 CryptoStatus(c.crypto_status));
    ind.header_info = make_header_info(c.next_header, c.pad_length, c.ipsec_flags & kCplHeaderInfoSet);
    ind.offload_handle = crypto_done ? c.handle : 0;
    ind.truncated = c.ipsec_flags & kCplTruncated;
    tr_indicate_.pulse();
    tr_frame_.set(ind.frame);
    tr_nbl_info_.set(ind.nbl_info);
    const StackVerdict verdict = transport_.on_indication(ind);
    if (on_indication) on_indication(IndicationEvent{ind, c, verdict, at_ps});
    record[Completion::kBytes - 1] = 0;  // hand the slot back
    ++stats_.completions;
}

void DriverShim::count_interrupt() {
    ++stats_.interrupts;
    tr_irq_.pulse();
}

void DriverShim::handle_next_completion(uint64_t at_ps) {
    handle_completion(cpl_head_, at_ps);
    cpl_head_ = cpl_head_ + 1 == cpl_size_ ? 0 : cpl_head_ + 1;
}

RingGiveBack DriverShim::give_back(uint32_t handled) {
    rx_tail_ = (rx_tail_ + handled) % rx_size_;
    return RingGiveBack{cpl_head_, rx_tail_};
}

void DriverShim::isr_thread() {
    auto completion_ready = [this] {
        if (before_host_read) before_host_read();
        return memory_.at(cpl_ring_ + uint64_t(cpl_head_) * Completion::kBytes + Completion::kBytes - 1)[0] & 1;
    };
    for (;;) {
        // Check the ring before sleeping: an interrupt raised while this thread was busy is not queued.
        if (!completion_ready()) {
            tr_isr_.set(0);
            sc_core::wait(irq_);
            count_interrupt();
            sc_core::wait(ps_time(timing_.host_irq_latency_ps()));
        }
        tr_isr_.set(1);
        uint32_t handled = 0;
        while (completion_ready()) {
            sc_core::wait(ps_time(timing_.host_per_packet_ps()));
            handle_next_completion(now_ps());
            ++handled;
        }
        if (!handled) continue;
        // Give the completion slots and the buffers back in one register write each.
        const RingGiveBack regs = give_back(handled);
        mmio_write(reg::kCplRingHead, &regs.cpl_head, 1);
        mmio_write(reg::kRxRingTail, &regs.rx_tail, 1);
    }
}

}  // namespace ov2
