#include "mac_rx.h"

#include <algorithm>
#include <memory>

#include <botan/hash.h>

namespace ov2 {

using sc_core::sc_time;
using sc_core::SC_PS;

const char* mac_drop_name(MacDrop reason) {
    switch (reason) {
    case MacDrop::Runt: return "rx_runt";
    case MacDrop::Oversize: return "rx_oversize";
    case MacDrop::FcsError: return "rx_fcs_error";
    case MacDrop::CaptureTruncated: return "capture_truncated";
    case MacDrop::Missed: return "rx_missed";
    }
    return "unknown";
}

uint32_t ethernet_fcs(const uint8_t* data, size_t len) {
    static thread_local std::unique_ptr<Botan::HashFunction> crc = Botan::HashFunction::create_or_throw("CRC32");
    uint8_t out[4];
    crc->update(data, len);
    crc->final(out);
    // Botan gives the CRC big-endian; Ethernet sends it least significant byte first.
    return uint32_t(out[0]) << 24 | uint32_t(out[1]) << 16 | uint32_t(out[2]) << 8 | out[3];
}

MacRx::MacRx(sc_core::sc_module_name name, const TimingParams& timing, const MacConfig& config,
             FrameSource& source, RxPacketPool& pool, const sc_core::sc_event& start, bool threads)
    : sc_module(name), out("out"), timing_(timing), config_(config), source_(source), pool_(pool), start_(start),
      pacer_(timing_, config_) {
    SC_HAS_PROCESS(MacRx);
    if (!threads) return;
    SC_METHOD(run);
    SC_THREAD(call_thread);
}

void MacRx::trace(Tracer& t, const std::string& next_stage) {
    tr_busy_.attach(t, "mac.busy", 1, TraceFormat::Bin);
    tr_frame_.attach(t, "mac.frame", 32);
    tr_fifo_bytes_.attach(t, "mac.fifo_bytes", 32);
    tr_rx_missed_.attach(t, "mac.rx_missed", 1, TraceFormat::Bin);
    tr_rx_error_.attach(t, "mac.rx_error", 1, TraceFormat::Bin);
    tr_out_.attach(t, next_stage);
}

bool mac_check(const MacConfig& config, uint32_t orig_len, RxPacket& pkt, MacStats& stats, MacDrop& reason) {
    if (orig_len > pkt.data.size()) {
        reason = MacDrop::CaptureTruncated;  // the capture lost bytes the NIC would have had: cannot model it
        ++stats.rx_capture_truncated;
        return false;
    }
    if (config.frames_have_fcs) {
        if (pkt.data.size() < config.min_frame_bytes + 4) {
            reason = MacDrop::Runt;
            ++stats.rx_runt;
            return false;
        }
        const size_t body = pkt.data.size() - 4;
        const uint8_t* f = pkt.data.data() + body;
        const uint32_t carried = uint32_t(f[0]) | uint32_t(f[1]) << 8 | uint32_t(f[2]) << 16 | uint32_t(f[3]) << 24;
        if (carried != ethernet_fcs(pkt.data.data(), body)) {
            reason = MacDrop::FcsError;
            ++stats.rx_fcs_errors;
            return false;
        }
        pkt.data.resize(body);
    } else if (pkt.data.size() < config.min_frame_bytes) {
        ++stats.rx_padded;  // the sender's NIC padded it on the wire; the capture shows it unpadded
    }
    if (pkt.data.size() > config.max_frame_bytes) {
        reason = MacDrop::Oversize;
        ++stats.rx_oversize;
        return false;
    }
    return true;
}

void mac_count_arrival(MacStats& stats, const RxPacket& pkt, size_t wire_bytes) {
    ++stats.rx_frames;
    stats.rx_bytes += wire_bytes;
    if (stats.rx_frames == 1) stats.first_bit_ps = pkt.wire_start_ps;
    stats.last_bit_ps = pkt.wire_end_ps;
}

void WirePacer::place(const WireFrame& wire, bool first, uint64_t now_ps, uint64_t& start_ps, uint64_t& end_ps) {
    start_ps = std::max(wire_free_ps_, now_ps);
    if (config_.pacing == Pacing::Capture) {
        if (first) first_capture_ns_ = wire.ts_ns;
        const uint64_t offset_ns = wire.ts_ns >= first_capture_ns_ ? wire.ts_ns - first_capture_ns_ : 0;
        start_ps = std::max(start_ps, t0_ps_ + offset_ns * 1000);
    }
    const uint32_t on_wire = std::max<uint32_t>(uint32_t(wire.bytes.size()),
                                                config_.frames_have_fcs ? 0 : config_.min_frame_bytes);
    end_ps = start_ps + timing_.wire_time_ps(on_wire, config_.frames_have_fcs);
    wire_free_ps_ = end_ps;
}

// An SC_METHOD, one step at a time (MacStep), waking on the times the wire gives (no stack switch a frame):
// after the start event, per frame the call before it (through call_thread when it may block), its place
// on the wire, and its last bit.
void MacRx::run() {
    for (;;) {
        switch (step_) {
        case MacStep::Start:
            sc_core::next_trigger(start_);
            step_ = MacStep::Started;
            return;
        case MacStep::Started:
            pacer_.start(now_ps());
            step_ = MacStep::Next;
            break;
        case MacStep::Next:
            if (!source_.next(wire_)) {
                step_ = MacStep::Finished;
                if (call_before_frame(UINT32_MAX)) return;
                break;
            }
            step_ = MacStep::Place;
            if (call_before_frame(frame_index_ + 1)) return;
            break;
        case MacStep::Place:
            place_frame();
            step_ = MacStep::LastBit;
            if (trigger_at(wire_end_ps_)) return;  // wire_end_ps_ > now: the frame's last bit is ahead
            break;
        case MacStep::LastBit:
            take_frame();
            step_ = MacStep::Next;
            break;
        case MacStep::Finished:
            finished_ = true;
            return;
        }
    }
}

// before_frame, when set and due, runs in call_thread (it may block); true: the method waits for it.
bool MacRx::call_before_frame(uint32_t frame) {
    if (!before_frame || (before_frame_due && !before_frame_due(frame))) return false;
    call_frame_ = frame;
    call_requested_.notify();  // the thread runs in this evaluation phase, and comes back in it if it need not wait
    sc_core::next_trigger(call_done_);
    return true;
}

void MacRx::call_thread() {
    for (;;) {
        sc_core::wait(call_requested_);
        before_frame(call_frame_);
        call_done_.notify();
    }
}

void MacRx::place_frame() {
    pacer_.place(wire_, frame_index_ == 0, now_ps(), wire_start_ps_, wire_end_ps_);
    if (tr_busy_.on()) {  // on the wire from its first bit to its last
        tr_busy_.set_at(wire_start_ps_, 1);
        tr_frame_.set_at(wire_start_ps_, frame_index_ + 1);
        tr_busy_.set_at(wire_end_ps_, 0);
        tr_frame_.set_at(wire_end_ps_, 0);
    }
}

// The frame's last bit is in: it takes a context (or, with none free, stands in scratch_ to be dropped).
void MacRx::take_frame() {
    RxPacket* ctx = pool_.try_acquire();
    RxPacket& pkt = ctx ? *ctx : scratch_;
    pkt.reset(++frame_index_);
    pkt.data.assign(wire_.bytes.begin(), wire_.bytes.end());
    pkt.wire_start_ps = wire_start_ps_;
    pkt.wire_end_ps = wire_end_ps_;
    receive(pkt, ctx != nullptr);
    if (ctx && !passed_on_) pool_.release(ctx);
}

// For an SC_METHOD: true (and the method triggered then) while simulated time `ps` is still ahead.
bool MacRx::trigger_at(uint64_t ps) {
    const uint64_t now = now_ps();
    if (ps <= now) return false;
    sc_core::next_trigger(ps_time(ps - now));
    return true;
}

// The frame's last bit has arrived: check it, then queue it for the parser if the FIFO has room.
void MacRx::receive(RxPacket& pkt, bool have_context) {
    passed_on_ = false;
    mac_count_arrival(stats_, pkt, wire_.bytes.size());
    if (on_arrival) on_arrival(pkt);
    MacDrop reason;
    if (!mac_check(config_, wire_.orig_len, pkt, stats_, reason)) {
        tr_rx_error_.pulse();
        if (on_drop) on_drop(pkt, reason);
        return;
    }
    const size_t bytes = pkt.data.size();
    if (!have_context || fifo_bytes_ + bytes > timing_.mac_fifo_bytes || out->num_free() == 0) {
        ++stats_.rx_missed;
        tr_rx_missed_.pulse();
        if (on_drop) on_drop(pkt, MacDrop::Missed);
        return;
    }
    fifo_bytes_ += bytes;
    stats_.fifo_high_water_bytes = std::max(stats_.fifo_high_water_bytes, fifo_bytes_);
    pkt.cpl.timestamp_ps = pkt.wire_end_ps;
    pkt.ready_ps = timing_.mac_ready_ps(pkt.wire_end_ps);
    ++stats_.passed;
    out->nb_write(&pkt);
    passed_on_ = true;
    tr_fifo_bytes_.set(fifo_bytes_);
    tr_out_.add(1);
}

}  // namespace ov2
