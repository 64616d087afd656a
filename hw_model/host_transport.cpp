#include "host_transport.h"

#include "rx_parser.h"

namespace ov2 {

const char* stack_verdict_name(StackVerdict v) {
    switch (v) {
    case StackVerdict::Accepted: return "accepted";
    case StackVerdict::Replay: return "replay";
    case StackVerdict::AuthFailed: return "auth_failed";
    case StackVerdict::InvalidProtocol: return "invalid_protocol";
    case StackVerdict::BadSyntax: return "bad_syntax";
    case StackVerdict::GenericError: return "generic_error";
    case StackVerdict::DummyDropped: return "dummy_dropped";
    case StackVerdict::SoftwareIpsec: return "software_ipsec";
    case StackVerdict::NotIpsec: return "not_ipsec";
    case StackVerdict::UnknownSa: return "unknown_sa";
    case StackVerdict::Truncated: return "truncated";
    }
    return "unknown";
}

// ---- ReplayWindow ---------------------------------------------------------------------------------------

ReplayWindow::ReplayWindow(uint32_t window, uint64_t highest, bool esn)
    : window_(window), top_(highest), esn_(esn), bits_((window + 63) / 64 + 1, 0) {}

uint64_t ReplayWindow::infer(uint32_t seq_low) const {
    if (!esn_) return seq_low;
    const uint32_t tl = uint32_t(top_);
    const uint64_t th = top_ >> 32;
    const uint32_t w = window_ ? window_ : 1;
    const uint32_t bottom = tl - w + 1;  // lowest sequence number the window covers (mod 2^32)
    if (tl >= w - 1) {                   // window within one 2^32 epoch
        return (seq_low >= bottom ? th : th + 1) << 32 | seq_low;
    }
    // the window spans an epoch boundary
    return (seq_low >= bottom ? (th ? th - 1 : 0) : th) << 32 | seq_low;
}

bool ReplayWindow::seen(uint64_t seq) const {
    const uint64_t age = top_ - seq;
    return bits_[age / 64] >> (age % 64) & 1;
}

void ReplayWindow::mark(uint64_t seq) {
    const uint64_t age = top_ - seq;
    bits_[age / 64] |= uint64_t(1) << (age % 64);
}

bool ReplayWindow::check_and_update(uint32_t seq_low) {
    const uint64_t seq = infer(seq_low);
    if (seq > top_) {
        const uint64_t shift = seq - top_;
        const size_t words = bits_.size();
        if (shift >= uint64_t(words) * 64) {
            std::fill(bits_.begin(), bits_.end(), 0);
        } else {
            // Shift the bitmap so bit 0 is the new top (age grows by `shift`).
            const size_t word_shift = size_t(shift / 64), bit_shift = size_t(shift % 64);
            for (size_t i = words; i-- > 0;) {
                uint64_t v = i >= word_shift ? bits_[i - word_shift] << bit_shift : 0;
                if (bit_shift && i >= word_shift + 1) v |= bits_[i - word_shift - 1] >> (64 - bit_shift);
                bits_[i] = v;
            }
        }
        top_ = seq;
        mark(seq);
        return true;
    }
    if (top_ - seq >= window_) return false;  // older than the window
    if (seen(seq)) return false;
    mark(seq);
    return true;
}

// ---- TransportModel -------------------------------------------------------------------------------------

namespace {

uint32_t esp_iv_bytes(uint32_t enc) {
    if (enc == ndis::kEncAesCbc128 || enc == ndis::kEncAesCbc192 || enc == ndis::kEncAesCbc256) return 16;
    if (enc == ndis::kEncNull) return 0;  // ESP-NULL; with GMAC the 8-byte IV is counted below
    return 8;                             // GCM, DES, 3DES
}

}  // namespace

void TransportModel::sa_offloaded(uint32_t handle, const AddSa& sa, uint32_t pair_handle) {
    const SecurityAssociation& esp = sa.sec_assoc[0];  // slot 0 is the ESP SA of a bundle, or the only SA
    const bool esn = esp.flags & ndis::kSaFlagEsn;
    const uint32_t iv = esp.encryption.identifier == ndis::kEncNull && is_gmac_auth(esp.authentication.identifier)
                            ? 8
                            : esp_iv_bytes(esp.encryption.identifier);
    forget_found();
    sas_.erase(handle);
    sas_.emplace(handle, SaState{ReplayWindow(sa.replay_window, sa.replay_seq, esn), pair_handle,
                                 sa.replay_window > 0, esp.mode == SaMode::Tunnel, iv});
}

// After the NIC checked a tunnel SA alone, the stack looks inside: an inner AH/ESP packet is the transport
// portion the NIC left to software. Walks AH (and the ESP of an AH+ESP bundle) to the inner IP header.
bool TransportModel::inner_needs_software(const Indication& ind, const ParseResult& outer, const SaState& sa) const {
    size_t off = outer.ipsec_offset;
    uint8_t proto = outer.kind == L4Kind::Ah ? kIpProtoAh : kIpProtoEsp;
    if (proto == kIpProtoAh) {
        if (off + 2 > ind.length) return false;
        const uint8_t next = ind.data[off];
        off += (size_t(ind.data[off + 1]) + 2) * 4;
        proto = next;
    }
    if (proto == kIpProtoEsp) off += 8 + sa.esp_iv_bytes;
    if (off >= ind.length) return false;
    const ParseResult inner = parse_ip(ind.data, ind.length, off);
    return inner.kind == L4Kind::Esp || inner.kind == L4Kind::Ah || inner.kind == L4Kind::UdpEsp;
}

void TransportModel::sa_deleted(uint32_t handle) {
    forget_found();
    sas_.erase(handle);
}

TransportModel::SaState* TransportModel::find_sa(uint32_t handle) {
    if (found_ && found_handle_ == handle) return found_;
    auto it = sas_.find(handle);
    if (it == sas_.end()) return nullptr;
    found_handle_ = handle;
    found_ = &it->second;
    return found_;
}

StackVerdict TransportModel::verdict_for(const Indication& ind) {
    // A frame cut to its buffer is dropped whole: its headers may be incomplete and it must not move the
    // replay window.
    if (ind.truncated) return StackVerdict::Truncated;
    const bool crypto_done = ind.nbl_info & 2;
    const auto status = CryptoStatus(ind.nbl_info >> 16);
    if (!crypto_done) {
        const ParseResult p = parse_frame(ind.data, ind.length);
        const bool ipsec = p.kind == L4Kind::Esp || p.kind == L4Kind::Ah || p.kind == L4Kind::UdpEsp ||
                           (p.fragment && p.ipsec_proto);  // reassembled, then IPsec in software
        return ipsec ? StackVerdict::SoftwareIpsec : StackVerdict::NotIpsec;
    }
    switch (status) {
    case CryptoStatus::Success: break;
    case CryptoStatus::TransportAhAuthFailed:
    case CryptoStatus::TransportEspAuthFailed:
    case CryptoStatus::TunnelAhAuthFailed:
    case CryptoStatus::TunnelEspAuthFailed: return StackVerdict::AuthFailed;
    case CryptoStatus::InvalidProtocol: return StackVerdict::InvalidProtocol;
    case CryptoStatus::InvalidPacketSyntax: return StackVerdict::BadSyntax;
    default: return StackVerdict::GenericError;
    }
    SaState* sa = find_sa(ind.offload_handle);
    if (!sa) return StackVerdict::UnknownSa;
    const bool next_crypto_done = ind.nbl_info & 4;
    const bool look_inside = sa->tunnel && !next_crypto_done;
    // The headers are read only by the checks that need them (an SA without a replay window, in transport
    // mode, needs none).
    ParseResult p;
    if (sa->replay_check || look_inside) p = parse_frame(ind.data, ind.length);
    if (sa->replay_check && !sa->replay.check_and_update(p.seq)) return StackVerdict::Replay;
    const bool header_info_set = ind.header_info >> 16 & 1;
    if (header_info_set && (ind.header_info & 0xFF) == 59) return StackVerdict::DummyDropped;  // RFC 4303 2.6
    if (look_inside && inner_needs_software(ind, p, *sa)) return StackVerdict::SoftwareIpsec;
    return StackVerdict::Accepted;
}

void TransportModel::count(StackVerdict v) {
    switch (v) {
    case StackVerdict::Accepted: ++stats_.accepted; break;
    case StackVerdict::Replay: ++stats_.replay; break;
    case StackVerdict::AuthFailed: ++stats_.auth_failed; break;
    case StackVerdict::InvalidProtocol: ++stats_.invalid_protocol; break;
    case StackVerdict::BadSyntax: ++stats_.bad_syntax; break;
    case StackVerdict::GenericError: ++stats_.generic_error; break;
    case StackVerdict::DummyDropped: ++stats_.dummy_dropped; break;
    case StackVerdict::SoftwareIpsec: ++stats_.software_ipsec; break;
    case StackVerdict::NotIpsec: ++stats_.not_ipsec; break;
    case StackVerdict::UnknownSa: ++stats_.unknown_sa; break;
    case StackVerdict::Truncated: ++stats_.truncated; break;
    }
}

StackVerdict TransportModel::on_indication(const Indication& ind) {
    ++stats_.indications;
    const StackVerdict v = verdict_for(ind);
    count(v);
    if ((ind.nbl_info & 1) && ind.offload_handle) {
        ++stats_.sa_delete_requests;
        SaState* sa = find_sa(ind.offload_handle);
        if (sa && !sa->delete_issued && delete_sa) {
            sa->delete_issued = true;
            const uint32_t pair = sa->pair_handle;
            delete_sa(ind.offload_handle);  // inbound first, then its outbound pair
            ++stats_.delete_sa_issued;
            if (pair) {
                delete_sa(pair);
                ++stats_.delete_sa_issued;
            } else {
                ++stats_.delete_without_pair;
            }
        }
    }
    return v;
}

}  // namespace ov2
