#include "rx_pipeline.h"

#include <algorithm>

#include "parser_contract.h"
#include "rx_parser.h"

namespace ov2 {

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

uint8_t packet_proto(const ParseResult& p) { return p.kind == L4Kind::Ah ? kIpProtoAh : kIpProtoEsp; }

// Whether the SA's ESP travels in UDP/4500 (spec 2.6): the tunnel SA for the two "UDP tunnel" types, the
// transport SA for the two "UDP transport" types.
bool expects_udp(const CamEntry& e) {
    const uint32_t t = e.udp_esp_encapsulation;
    if (e.mode == SaMode::Tunnel) return t & (ndis::kUdpEspTunnel | ndis::kTransportOverUdpEspTunnel);
    return t & (ndis::kUdpEspTransport | ndis::kUdpEspTransportOverTunnel);
}

// The ESP entry of an AH+ESP bundle may only be reached through its AH entry.
bool is_bundle_inner_esp(const SaCamTable& cam, uint32_t index) {
    const CamEntry& e = cam.entry(index);
    const CamEntry& other = cam.entry(index ^ 1u);
    return e.bundle_slot == 0 && other.valid && other.bundle_has_inner && other.handle == e.handle;
}

NicReason capability_check(const ParseResult& p, const CamEntry& e, uint32_t caps, uint32_t udp_mask) {
    if (p.fragment) return NicReason::Fragment;
    if (p.ip_version == 6 && !(caps & reg::kCapIpv6)) return NicReason::Ipv6NotSupported;
    if (p.ipv4_options && !(caps & reg::kCapIpv4Options)) return NicReason::Ipv4Options;
    if (p.ipv6_extension_headers && !(caps & reg::kCapIpv6ExtHeaders)) return NicReason::Ipv6ExtensionHeaders;
    if (!(caps & (e.mode == SaMode::Tunnel ? reg::kCapTunnel : reg::kCapTransport)))
        return NicReason::ModeNotSupported;
    if (!(caps & (p.kind == L4Kind::Ah ? reg::kCapAh : reg::kCapEsp))) return NicReason::ProtocolNotSupported;
    if (e.bundle_has_inner && !(caps & reg::kCapAhEsp)) return NicReason::ProtocolNotSupported;
    if (p.kind == L4Kind::UdpEsp && !(udp_mask & e.udp_esp_encapsulation)) return NicReason::UdpEspNotSupported;
    return NicReason::Processed;
}

bool protocol_matches(const ParseResult& p, const CamEntry& e, const SaCamTable& cam, uint32_t index) {
    if (packet_proto(p) != e.proto) return false;
    if (is_bundle_inner_esp(cam, index)) return false;  // the SA wants AH outside, the packet has only ESP
    return expects_udp(e) == (p.kind == L4Kind::UdpEsp);
}

struct PortionOutcome {
    CryptoStatus status = CryptoStatus::Success;
    PortionResult esp;          // result of the ESP header, when one was decrypted (header info)
    bool esp_decrypted = false;
    uint8_t next_header = 0;    // what follows the innermost header of this portion
    uint32_t payload_offset = 0, payload_end = 0;
};

// One SA bundle: AH then ESP for an AH+ESP bundle, or its single header.
PortionOutcome run_portion(SaCamTable& cam, CryptoEngine& crypto, uint32_t index, RxPacket& pkt,
                           const ParseResult& p, RxPathStats& stats) {
    PortionOutcome o;
    const CamEntry& e = cam.entry(index);
    const bool tunnel = e.mode == SaMode::Tunnel;
    uint8_t* buf = pkt.data.data();
    const size_t len = pkt.data.size();
    ++stats.portions;
    PortionResult r = crypto.process(index, buf, len, p, tunnel);
    if (r.status == CryptoStatus::Success && e.bundle_has_inner) {
        const uint32_t esp_index = index ^ 1u;
        const CamEntry& esp = cam.entry(esp_index);
        const size_t datagram_end = size_t(p.l3_offset) + p.l3_length;
        if (r.next_header != kIpProtoEsp || !esp.valid || esp.handle != e.handle) {
            o.status = CryptoStatus::InvalidProtocol;
            return o;
        }
        if (size_t(r.payload_offset) + 8 > datagram_end) {
            o.status = CryptoStatus::InvalidPacketSyntax;
            return o;
        }
        ParseResult inner = p;
        inner.kind = L4Kind::Esp;
        inner.ipsec_proto = kIpProtoEsp;
        inner.ipsec_offset = uint16_t(r.payload_offset);
        inner.spi = be32(buf + r.payload_offset);
        inner.seq = be32(buf + r.payload_offset + 4);
        if (inner.spi != esp.spi) {
            o.status = CryptoStatus::InvalidProtocol;
            return o;
        }
        ++stats.portions;
        r = crypto.process(esp_index, buf, len, inner, tunnel);
        o.esp = r;
        o.esp_decrypted = r.header_info_set;
    } else if (e.proto == kIpProtoEsp) {
        o.esp = r;
        o.esp_decrypted = r.header_info_set;
    }
    o.status = r.status;
    o.next_header = r.next_header;
    o.payload_offset = r.payload_offset;
    o.payload_end = r.payload_offset + r.payload_length;
    return o;
}

void set_header_info(Completion& cpl, const PortionOutcome& o) {
    if (!o.esp_decrypted) return;
    cpl.ipsec_flags |= kCplHeaderInfoSet;
    cpl.next_header = o.esp.next_header;
    cpl.pad_length = o.esp.pad_length;
}

}  // namespace

NicReason reason_before_lookup(const ParseResult& p, const SaCamTable& cam) {
    if (!cam.offload_enabled()) return NicReason::OffloadDisabled;
    switch (p.kind) {
    case L4Kind::NotIp: return NicReason::NotIp;
    case L4Kind::NotIpsec: return p.fragment && p.ipsec_proto ? NicReason::Fragment : NicReason::NotIpsec;
    case L4Kind::UdpNonEsp: return NicReason::NotIpsec;
    case L4Kind::Malformed: return NicReason::Malformed;
    default: return NicReason::Processed;
    }
}

bool decide_on_answer(RxPacket& pkt, const SaCamTable& cam, std::optional<uint32_t> index) {
    const ParseResult& p = pkt.parse;
    auto unprocessed = [&](NicReason reason) {
        pkt.cpl.unprocessed_reason = uint8_t(reason);
        return false;
    };
    if (!index) return unprocessed(NicReason::NoSa);
    const CamEntry& e = cam.entry(*index);
    const NicReason outside = capability_check(p, e, cam.caps(), cam.udp_esp_mask());
    if (outside != NicReason::Processed) return unprocessed(outside);

    pkt.cam_index = int32_t(*index);
    pkt.cpl.handle = e.handle;
    pkt.cpl.seq_low = p.seq;
    pkt.cpl.ipsec_flags |= p.kind == L4Kind::Ah ? kCplAh : kCplEsp;
    // Checked without running the crypto: the headers themselves are wrong for this SA.
    auto checked = [&](CryptoStatus status) {
        pkt.cpl.ipsec_flags |= kCplCryptoDone;
        pkt.cpl.crypto_status = uint8_t(status);
        return false;
    };
    if (!protocol_matches(p, e, cam, *index)) return checked(CryptoStatus::InvalidProtocol);
    if (p.syntax_error) return checked(CryptoStatus::InvalidPacketSyntax);
    return true;
}

void clear_outer_decision(RxPacket& pkt) {
    pkt.cam_index = -1;
    pkt.cpl.unprocessed_reason = uint8_t(NicReason::Processed);
    pkt.cpl.handle = 0;
    pkt.cpl.seq_low = 0;
    pkt.cpl.crypto_status = 0;
    pkt.cpl.ipsec_flags &= uint16_t(~(kCplAh | kCplEsp | kCplCryptoDone));
}

void count_outer_decision(const RxPacket& pkt, RxPathStats& stats, bool uncount) {
    const uint64_t step = uncount ? ~uint64_t(0) : 1;  // -1 in modulo arithmetic
    if (pkt.cpl.ipsec_flags & kCplCryptoDone) {
        stats.crypto_done += step;
        stats.status[pkt.cpl.crypto_status & 7] += step;
    } else if (pkt.cam_index < 0) {
        stats.unprocessed[pkt.cpl.unprocessed_reason] += step;
    }
}

bool decide_outer(RxPacket& pkt, SaCamTable& cam, RxPathStats& stats, int32_t* lookup) {
    if (lookup) *lookup = -2;
    bool to_crypto = false;
    const NicReason before = reason_before_lookup(pkt.parse, cam);
    if (before != NicReason::Processed) {
        pkt.cpl.unprocessed_reason = uint8_t(before);
    } else {
        const std::optional<uint32_t> index = cam.lookup(pkt.parse.spi, pkt.parse.dst);
        if (lookup) *lookup = index ? int32_t(*index) : -1;
        to_crypto = decide_on_answer(pkt, cam, index);
    }
    count_outer_decision(pkt, stats, false);
    return to_crypto;
}

void process_ipsec(RxPacket& pkt, SaCamTable& cam, CryptoEngine& crypto, RxPathStats& stats) {
    Completion& cpl = pkt.cpl;
    const uint32_t outer_index = uint32_t(pkt.cam_index);
    const bool outer_tunnel = cam.entry(outer_index).mode == SaMode::Tunnel;
    PortionOutcome outer = run_portion(cam, crypto, outer_index, pkt, pkt.parse, stats);
    cpl.ipsec_flags |= kCplCryptoDone;
    cpl.crypto_status = uint8_t(outer.status);
    set_header_info(cpl, outer);
    ++stats.crypto_done;

    const bool inner_ip = outer.next_header == 4 || outer.next_header == 41;
    if (outer.status == CryptoStatus::Success && outer_tunnel && inner_ip &&
        (cam.caps() & reg::kCapTransportTunnel)) {
        const ParseResult inner = parse_ip(pkt.data.data(), outer.payload_end, outer.payload_offset);
        if (inner.kind == L4Kind::Esp || inner.kind == L4Kind::Ah || inner.kind == L4Kind::UdpEsp) {
            ++stats.inner_lookups;
            const std::optional<uint32_t> index = cam.lookup(inner.spi, inner.dst, CamPort::Inner);
            const bool usable = index && cam.entry(*index).mode == SaMode::Transport &&
                                capability_check(inner, cam.entry(*index), cam.caps(), cam.udp_esp_mask()) ==
                                    NicReason::Processed;
            if (!usable) {
                ++stats.inner_misses;  // the stack checks the transport portion in software
            } else {
                cpl.ipsec_flags |= kCplNextCryptoDone;
                cpl.inner_handle = cam.entry(*index).handle;
                ++stats.next_crypto_done;
                if (!protocol_matches(inner, cam.entry(*index), cam, *index)) {
                    cpl.crypto_status = uint8_t(CryptoStatus::InvalidProtocol);
                } else {
                    const PortionOutcome in = run_portion(cam, crypto, *index, pkt, inner, stats);
                    cpl.crypto_status = uint8_t(in.status);
                    set_header_info(cpl, in);
                }
            }
        }
    }
    ++stats.status[cpl.crypto_status & 7];
}

uint32_t crypto_busy_cycles(const TimingParams& t, const CamEntry& e, size_t bytes) {
    auto cycles = [bytes](uint32_t per_cycle) { return uint32_t((bytes + per_cycle - 1) / per_cycle); };
    if (is_gcm_encryption(e.enc_alg) || is_gmac_auth(e.auth_alg)) return cycles(t.crypto_gcm_bytes_per_cycle);
    uint32_t busy = 1;
    if (is_cbc_encryption(e.enc_alg)) busy = std::max(busy, cycles(t.crypto_cbc_bytes_per_cycle));
    if (e.auth_alg != ndis::kAuthNone) busy = std::max(busy, cycles(t.crypto_hmac_bytes_per_cycle));
    return busy;
}

namespace {

// The AES pipeline is one stage set a round: 10, 12 or 14 rounds for a 128-, 192- or 256-bit key.
uint32_t aes_latency_cycles(const TimingParams& t, const CamEntry& e) {
    if (e.enc_alg == ndis::kEncAesGcm256 || e.enc_alg == ndis::kEncAesCbc256 || e.auth_alg == ndis::kAuthAesGmac256)
        return t.crypto_gcm256_latency_cycles;
    if (e.enc_alg == ndis::kEncAesGcm192 || e.enc_alg == ndis::kEncAesCbc192 || e.auth_alg == ndis::kAuthAesGmac192)
        return t.crypto_gcm192_latency_cycles;
    return t.crypto_gcm_latency_cycles;
}

}  // namespace

uint32_t crypto_latency_cycles(const TimingParams& t, const CamEntry& e) {
    if (is_gcm_encryption(e.enc_alg) || is_gmac_auth(e.auth_alg)) return aes_latency_cycles(t, e);
    if (e.auth_alg != ndis::kAuthNone) return t.crypto_hmac_latency_cycles;
    return aes_latency_cycles(t, e);  // CBC alone: the same AES round pipeline
}

uint64_t crypto_lane_busy_ps(const TimingParams& t, const CamEntry& e, size_t l3_bytes) {
    return t.cycles_ps(crypto_busy_cycles(t, e, l3_bytes));
}

uint64_t crypto_result_latency_ps(const TimingParams& t, const CamEntry& e, bool next_crypto_done) {
    const uint64_t latency = t.cycles_ps(crypto_latency_cycles(t, e));
    return next_crypto_done ? latency + t.cycles_ps(t.cam_latency_cycles) + latency : latency;
}

// ---- SystemC stages -------------------------------------------------------------------------------------

RxPipeline::RxPipeline(sc_core::sc_module_name name, const TimingParams& timing, SaCamTable& cam,
                       CryptoEngine& crypto, bool threads)
    : sc_module(name), in("in"), out("out"), timing_(timing), cam_(cam), crypto_(crypto),
      parsed_("parsed", int(timing.stage_fifo_depth)), looked_up_("looked_up", int(timing.stage_fifo_depth)),
      lane_free_ps_(timing.crypto_lanes, 0), parser_timing_(timing) {
    SC_HAS_PROCESS(RxPipeline);
    if (!threads) return;
    SC_METHOD(front_stages);
    sensitive << in_written_ << parsed_.data_written_event() << parsed_.data_read_event()
              << looked_up_.data_read_event() << parser_.timer << cam_stage_.timer;
    SC_METHOD(crypto_stage);
    SC_METHOD(crypto_retire);
    sensitive << retire_wake_;
}

void RxPipeline::end_of_elaboration() {
    parser_.input = dynamic_cast<sc_core::sc_fifo_in_if<RxPacket*>*>(in.get_interface());
    parser_.input_fifo = dynamic_cast<FrameFifo*>(in.get_interface());
    parser_.output = &parsed_;
    parser_.trace = &tr_parser_;
    parser_.next_trace = &tr_cam_;
    parser_.work = &RxPipeline::parse_taken_frame;
    // A frame from the MAC ready on an edge where the CAM stage's frame is due too wakes front_stages once.
    if (parser_.input_fifo) parser_.input_fifo->share_wake_with(&parsed_);
    cam_stage_.input = &parsed_;
    cam_stage_.input_fifo = &parsed_;
    cam_stage_.output = &looked_up_;
    cam_stage_.trace = &tr_cam_;
    cam_stage_.next_trace = &tr_crypto_;
    cam_stage_.trace_take_on_read = true;  // before it waits for the parse (the waveform's CAM take)
    cam_stage_.work = &RxPipeline::look_up;
    out_fifo_ = dynamic_cast<FrameFifo*>(out.get_interface());
}

void RxPipeline::trace(Tracer& t, const std::string& next_stage) {
    tr_parser_.attach(t, "parser");
    tr_cam_.attach(t, "cam");
    tr_lookup_.attach(t, "cam.lookup", 1, TraceFormat::Bin);
    tr_hit_.attach(t, "cam.hit", 1, TraceFormat::Bin);
    tr_entry_.attach(t, "cam.entry", 32);
    tr_crypto_.attach(t, "crypto");
    tr_reorder_.attach(t, "crypto.reorder", 32);
    tr_lane_busy_.resize(lane_free_ps_.size());
    tr_lane_frame_.resize(lane_free_ps_.size());
    for (size_t i = 0; i < lane_free_ps_.size(); ++i) {
        tr_lane_busy_[i].attach(t, "crypto.lane" + std::to_string(i) + ".busy", 1, TraceFormat::Bin);
        tr_lane_frame_[i].attach(t, "crypto.lane" + std::to_string(i) + ".frame", 32);
    }
    tr_out_.attach(t, next_stage);
    // The CAM and crypto stages record taking a frame before they wait for it to be ready.
    parsed_.set_wake_at_ready(false);
    looked_up_.set_wake_at_ready(false);
}

// The parser and the CAM stage in one SC_METHOD, statically sensitive to every event either may wait for:
// each steps when the event it waits for is triggered (both at once: a frame at each on one edge, one
// activation instead of two). The CAM stage goes first on an edge they share, so that it hands its frame on
// and leaves its input to read_later before the parser looks (hand_on_early then spares the parser its
// busy end); the FIFO between them gives the same result in either order.
void RxPipeline::front_stages() {
    for (Stage* s : {&cam_stage_, &parser_})
        if (!s->waits_for || s->waits_for->triggered() || (s->input_fifo && s->input_fifo->handed_due_now()))
            step_stage(*s);
}

void RxPipeline::stage_sleeps_until(Stage& s, uint64_t ps) {
    s.timer.notify(ps_time(ps - now_ps()));
    s.waits_for = &s.timer;
}

// One step at a time (StageStep), on the edges the threads these stages once were woke on: take a frame
// from the input (the parser: when it is ready in the MAC's FIFO, which wakes the stage then), do the
// stage's work on its ready edge, stay busy until the end the work gives, then hand the frame on (waiting
// for room in the output), or at once when nothing would change (hand_on_early).
void RxPipeline::step_stage(Stage& s) {
    for (;;) {
        switch (s.step) {
        case StageStep::Take:
            if (!nb_read_via(s.input_fifo, s.input, s.pkt)) {
                stage_waits(s, s.input->data_written_event());
                return;
            }
            if (s.trace_take_on_read) s.trace->take(s.pkt->frame);
            s.step = StageStep::Ready;
            break;
        case StageStep::Ready: {
            if (s.pkt->ready_ps > now_ps()) {
                stage_sleeps_until(s, s.pkt->ready_ps);
                return;
            }
            const uint64_t busy_end = (this->*s.work)(*s.pkt);
            if (hand_on_early(s.pkt, *s.output, s.input_fifo, busy_end)) {
                handed_on(s);
                stage_waits(s, s.input->data_written_event());
                return;
            }
            stage_sleeps_until(s, busy_end);
            s.step = StageStep::Hand;
            return;
        }
        case StageStep::Hand:
            if (!s.output->nb_write(s.pkt)) {
                if (s.trace->on()) s.trace->stall.set(1);
                stage_waits(s, s.output->data_read_event());
                return;
            }
            handed_on(s);
            break;
        }
    }
}

void RxPipeline::handed_on(Stage& s) {
    s.trace->done();
    s.next_trace->in.add(1);
    s.pkt = nullptr;
    s.step = StageStep::Take;
}

// The parser takes the frame on this edge: the parse, its cycle contract (docs/timing.md, the RTL's too:
// busy until the next frame's first beat can be taken, the key valid `result` cycles after this frame's
// first beat) and the RTL swap's look at it. Returns the end of its busy time.
uint64_t RxPipeline::parse_taken_frame(RxPacket& pkt) {
    tr_parser_.take(pkt.frame);
    if (on_input_taken) on_input_taken(pkt);
    pkt.parse = parse_frame(pkt.data.data(), pkt.data.size(), &walk_);
    ++stats_.parser_frames;
    if (pkt.parse.kind == L4Kind::Malformed) ++stats_.parser_malformed;
    const ParserTiming pt = parser_timing_.of(walk_, pkt.data.size());
    pkt.ready_ps = now_ps() + cycles_ps(pt.result);
    if (parser_swap_) parser_swap_->frame_taken(pkt, walk_, pt);
    return now_ps() + cycles_ps(pt.busy);
}

// A stage that takes a frame at the end of its busy time (`busy_end`), hands it on then and reads its next
// frame from `input` (when a FrameFifo) wakes only for those two, which often change nothing: the next stage
// waits and wakes at the frame's ready_ps, later than busy_end, and the input stays empty until busy_end.
// Then the frame goes on now and the input reads for the stage at busy_end (FrameFifo::read_later); true:
// the stage need not wake before its input has a frame for it. Off with the waveform on (no wake_at_ready).
bool RxPipeline::hand_on_early(RxPacket* pkt, FrameFifo& output, FrameFifo* input, uint64_t busy_end) {
    if (!input || input->num_available() != 0 || !output.reader_waits_for(*pkt, busy_end)) return false;
    output.write_early(pkt);
    input->read_later(busy_end);
    return true;
}

// The CAM stage's lookup edge: decides the frame on the table's answer and holds its entry (released by the
// crypto stage); the result is the crypto stage's cam_latency_cycles later. Busy one cycle (a lookup a
// cycle).
uint64_t RxPipeline::look_up(RxPacket& pkt) {
    int32_t lookup = -2;
    decide_outer(pkt, cam_, stats_, &lookup);
    pkt.cam_lookup = lookup;
    if (pkt.cam_index >= 0) cam_.hold(uint32_t(pkt.cam_index));
    if (tr_cam_.on() && lookup != -2) {  // the lookup cycle, and whether it matched
        const uint64_t now = now_ps(), end = now + cycles_ps(1);
        tr_lookup_.set_at(now, 1);
        tr_lookup_.set_at(end, 0);
        tr_hit_.set_at(now, lookup >= 0);
        tr_hit_.set_at(end, 0);
        if (lookup >= 0) tr_entry_.set_at(now, uint32_t(lookup));
    }
    pkt.ready_ps = now_ps() + cycles_ps(timing_.cam_latency_cycles);
    return now_ps() + cycles_ps(1);
}

// An SC_METHOD, one step at a time (CryptoStep): take a frame, wait for its lookup result, for a free lane
// (all lanes busy: the stage stalls, back-pressure builds up behind it), then for room in the reorder buffer.
void RxPipeline::crypto_stage() {
    for (;;) {
        switch (crypto_step_) {
        case CryptoStep::Take:
            if (!looked_up_.nb_read(crypto_pkt_)) {
                sc_core::next_trigger(looked_up_.data_written_event());
                return;
            }
            tr_crypto_.take(crypto_pkt_->frame);
            crypto_step_ = CryptoStep::LookedUp;
            break;
        case CryptoStep::LookedUp:
            if (trigger_at(crypto_pkt_->ready_ps)) return;
            if (cam_answers_ && crypto_pkt_->cam_lookup != -2) confirm_lookup(*crypto_pkt_);
            start_crypto(*crypto_pkt_);
            break;
        case CryptoStep::Lane:
            if (trigger_at(crypto_start_ps_)) return;
            if (tr_crypto_.on()) tr_crypto_.stall.set(0);
            process_ipsec(*crypto_pkt_, cam_, crypto_, stats_);
            crypto_ready_ps_ = crypto_start_ps_ + crypto_lane_busy_ps_ +
                               crypto_result_latency_ps(timing_, cam_.entry(uint32_t(crypto_pkt_->cam_index)),
                                                        crypto_pkt_->cpl.ipsec_flags & kCplNextCryptoDone);
            finish_crypto(*crypto_pkt_);
            break;
        case CryptoStep::Reorder:
            // A frame in a lane waits in the reorder buffer, not in the FIFO to writeback: that FIFO holds
            // only finished frames, so its depth does not limit how many lanes work at once.
            drop_departed(false);
            if (reorder_occupancy() >= size_t(timing_.crypto_lanes) * 2) {
                if (!departing_.empty()) plan_retire();  // the retirer frees a slot when the first departs
                sc_core::next_trigger(retired_);
                return;
            }
            reorder_.push_back(crypto_pkt_);
            tr_reorder_.set(reorder_occupancy());
            tr_crypto_.done();
            crypto_pkt_ = nullptr;
            crypto_step_ = CryptoStep::Take;
            if (reorder_.size() == 1 && !retire_blocked_) plan_retire();  // the retirer's next frame
            break;
        }
    }
}

// `--rtl cam`: the frame's lookup is settled by the RTL's answer, read on its result edge. The CAM stage
// decided on the table's answer at the lookup (the frame's hold had to be taken then); where the RTL
// answers otherwise, that decision is taken back, hold included, and made again on the RTL's answer.
void RxPipeline::confirm_lookup(RxPacket& pkt) {
    const std::optional<uint32_t> table =
        pkt.cam_lookup >= 0 ? std::optional<uint32_t>(uint32_t(pkt.cam_lookup)) : std::nullopt;
    const std::optional<uint32_t> rtl = cam_answers_->take_answer(table);
    if (rtl == table) return;
    count_outer_decision(pkt, stats_, true);
    if (pkt.cam_index >= 0) cam_.release(uint32_t(pkt.cam_index));
    clear_outer_decision(pkt);
    pkt.cam_lookup = rtl ? int32_t(*rtl) : -1;
    decide_on_answer(pkt, cam_, rtl);
    count_outer_decision(pkt, stats_, false);
    if (pkt.cam_index >= 0) cam_.hold(uint32_t(pkt.cam_index));
}

// The frame's lookup result is in: it takes the earliest free lane, or goes on at once when the crypto
// engine has no work for it.
void RxPipeline::start_crypto(RxPacket& pkt) {
    crypto_ready_ps_ = now_ps() + cycles_ps(1);
    if (pkt.cam_index < 0 || (pkt.cpl.ipsec_flags & kCplCryptoDone)) return finish_crypto(pkt);
    const CamEntry& e = cam_.entry(uint32_t(pkt.cam_index));
    auto lane = std::min_element(lane_free_ps_.begin(), lane_free_ps_.end());
    const uint64_t start = std::max(now_ps(), *lane);
    const uint64_t busy = crypto_lane_busy_ps(timing_, e, pkt.parse.l3_length);
    *lane = start + busy;
    crypto_busy_ps_ += busy;
    if (tr_crypto_.on()) {  // the lane holds the frame from start to start + busy
        const size_t i = size_t(lane - lane_free_ps_.begin());
        tr_lane_busy_[i].set_at(start, 1);
        tr_lane_frame_[i].set_at(start, pkt.frame);
        tr_lane_busy_[i].set_at(start + busy, 0);
        tr_lane_frame_[i].set_at(start + busy, 0);
        if (start > now_ps()) tr_crypto_.stall.set(1);
    }
    crypto_start_ps_ = start;
    crypto_lane_busy_ps_ = busy;
    crypto_step_ = CryptoStep::Lane;
}

// Completions leave in arrival order, as the lanes' results are reordered before writeback.
void RxPipeline::finish_crypto(RxPacket& pkt) {
    if (pkt.cam_index >= 0) cam_.release(uint32_t(pkt.cam_index));
    const uint64_t ready = std::max(crypto_ready_ps_, last_crypto_ready_ps_);
    last_crypto_ready_ps_ = ready;
    pkt.ready_ps = ready;
    if (tr_crypto_.on() && reorder_occupancy() >= size_t(timing_.crypto_lanes) * 2) tr_crypto_.stall.set(1);
    crypto_step_ = CryptoStep::Reorder;
}

// An SC_METHOD, statically sensitive to retire_wake_: hands the finished frames at the head of the reorder
// buffer on to writeback, each when its result is ready and the FIFO to writeback has room, then plans its
// next wake (plan_retire).
void RxPipeline::crypto_retire() {
    retire_blocked_ = false;
    drop_departed(true);
    while (!reorder_.empty()) {
        RxPacket* pkt = reorder_.front();
        if (pkt->ready_ps > now_ps()) break;
        if (!nb_write_via(out_fifo_, out, pkt)) {
            retire_blocked_ = true;
            sc_core::next_trigger(out->data_read_event());
            return;
        }
        reorder_.pop_front();
        ++retired_on_time_;
        if (crypto_step_ == CryptoStep::Reorder) retired_.notify(sc_core::SC_ZERO_TIME);  // the stage waits for room
        tr_reorder_.set(reorder_occupancy());
        tr_out_.add(1);
    }
    plan_retire();
}

// Frames written ahead whose result time has come leave the reorder buffer (as the retirer would have taken
// them out then); the crypto stage, when it waits for room, is told.
void RxPipeline::drop_departed(bool notify_stage) {
    const uint64_t now = now_ps();
    bool dropped = false;
    while (!departing_.empty() && departing_.front() <= now) {
        departing_.pop_front();
        dropped = true;
    }
    if (dropped && notify_stage && crypto_step_ == CryptoStep::Reorder) retired_.notify(sc_core::SC_ZERO_TIME);
}

// The retirer's next wake: the head's result time, as a thread waiting for it would wake. Two cases need no
// wake (without the waveform, which shows the reorder buffer and the FIFO as they change):
//  - the frame writer, the FIFO's reader, looks at the FIFO only after that time (it waits in read_later):
//    the head goes into the FIFO now for its result time (FrameFifo::write_at), exactly as the write then;
//  - the writer is asleep until the FIFO wakes it, before that time: the FIFO calls back when it has acted
//    then (reader_paused), and this is planned again.
// A crypto stage waiting for room wakes the retirer when the first frame written ahead departs.
void RxPipeline::plan_retire() {
    const uint64_t now = now_ps();
    uint64_t wake = ~uint64_t(0);
    const bool ahead = out_fifo_ && !tr_crypto_.on();
    while (!reorder_.empty()) {
        RxPacket* head = reorder_.front();
        const uint64_t due = head->ready_ps;
        if (!ahead || due <= now) {
            wake = std::max(due, now);
            break;
        }
        if (out_fifo_->reader_reads_after(due)) {
            out_fifo_->write_at(head, due);
            reorder_.pop_front();
            departing_.push_back(due);
            ++retired_ahead_;
            continue;
        }
        const uint64_t writer_wakes = out_fifo_->reader_wake_ps();
        if (writer_wakes != 0 && writer_wakes < due) out_fifo_->call_back_when_reader_pauses(this);
        else wake = due;
        break;
    }
    if (crypto_step_ == CryptoStep::Reorder && !departing_.empty()) wake = std::min(wake, departing_.front());
    arm_retirer(wake);
}

// retire_wake_ notified for `wake_ps` (~0: not at all), the one pending notification it keeps.
void RxPipeline::arm_retirer(uint64_t wake_ps) {
    const uint64_t now = now_ps();
    if (wake_ps == retire_armed_ps_ && wake_ps > now) return;  // pending already
    if (retire_armed_ps_ > now) retire_wake_.cancel();
    retire_armed_ps_ = wake_ps;
    if (wake_ps != ~uint64_t(0)) retire_wake_.notify(ps_time(wake_ps - now));
}

void RxPipeline::reader_paused(FrameFifo&) {
    if (!retire_blocked_) plan_retire();
}

}  // namespace ov2
