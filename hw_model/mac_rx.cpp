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
    : sc_module(name), out("out"), timing_(timing), config_(config), source_(source), pool_(pool), start_(start) {
    SC_HAS_PROCESS(MacRx);
    // A thread, not an SC_METHOD: the frame source throws on a bad input record, and a throw from a method
    // (on the main stack, after QuickThreads' stack switches) makes ASan report a false stack-use-after-scope
    // (google/sanitizers#189; docs/timing.md, "Speed").
    if (threads) SC_THREAD(run);
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

bool mac_passes_without_fcs(const MacConfig& config, uint32_t orig_len, size_t bytes) {
    return orig_len <= bytes && bytes <= config.max_frame_bytes;
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

namespace {

// Frames the MAC writes into its FIFO ahead of the wire before it waits for the wire to catch up: one
// wake-up for that many frames instead of one each. It changes no result (run_ahead), only how far ahead of
// simulated time the MAC's work is done.
constexpr uint32_t kRunAheadFrames = 16;

}  // namespace

void MacRx::end_of_elaboration() { out_fifo_ = dynamic_cast<FrameFifo*>(out.get_interface()); }

void MacRx::run() {
    sc_core::wait(start_);
    WirePacer pacer(timing_, config_);
    pacer.start(now_ps());
    RxPacket scratch;  // stands in for a frame that finds no context: it is dropped anyway
    uint64_t mac_ps = now_ps();  // the MAC's time: the last bit of the frame before (ahead of now when it ran ahead)
    while (source_.next(wire_)) {
        if (before_frame) before_frame(frame_index_ + 1);
        uint64_t start_ps = 0, end_ps = 0;
        pacer.place(wire_, frame_index_ == 0, std::max(now_ps(), mac_ps), start_ps, end_ps);
        if (tr_busy_.on()) {  // on the wire from its first bit to its last
            tr_busy_.set_at(start_ps, 1);
            tr_frame_.set_at(start_ps, frame_index_ + 1);
            tr_busy_.set_at(end_ps, 0);
            tr_frame_.set_at(end_ps, 0);
        }
        mac_ps = end_ps;
        if (run_ahead(start_ps, end_ps)) continue;
        wait_until_ps(end_ps);  // end_ps > now: the frame's last bit is ahead
        ahead_ = 0;

        RxPacket* ctx = pool_.try_acquire();
        RxPacket& pkt = ctx ? *ctx : scratch;
        fill(pkt, ++frame_index_, start_ps, end_ps);
        receive(pkt, ctx != nullptr);
        if (ctx && !passed_on_) pool_.release(ctx);
    }
    wait_until_ps(mac_ps);
    settle_high_water(now_ps() + 1);
    if (before_frame) before_frame(UINT32_MAX);
    finished_ = true;
}

void MacRx::fill(RxPacket& pkt, uint32_t frame, uint64_t start_ps, uint64_t end_ps) {
    pkt.reset(frame);
    pkt.data.assign(wire_.bytes.begin(), wire_.bytes.end());
    pkt.wire_start_ps = start_ps;
    pkt.wire_end_ps = end_ps;
}

// Whether the frame whose last bit arrives at `end_ps` may be received now, ahead of the wire: not with the
// waveform (it shows the FIFO's bytes as they change), nor while scripted OIDs may run between frames, nor
// for a last bit on a core clock edge (the parser may take a frame out of the FIFO on that edge, in an
// order SystemC picks), nor more than kRunAheadFrames ahead, nor with an FCS to check (run_ahead checks
// the frame without counting first).
bool MacRx::may_run_ahead(uint64_t end_ps) {
    if (!out_fifo_ || config_.frames_have_fcs || tr_busy_.on() || ahead_ >= kRunAheadFrames) return false;
    if (!oids_done_) oids_done_ = before_frame_idle && before_frame_idle();  // once done, done for good
    return oids_done_ && end_ps > now_ps() && timing_.edge_at_or_after(end_ps) != end_ps;
}

// Receives the frame now, ahead of its last bit at `end_ps`, when that changes nothing: it passes the MAC's
// checks (which do not depend on time) and fits into the FIFO now. Only the MAC takes contexts and FIFO
// room, and the parser only frees them, so a frame that fits now fits at end_ps too; the FIFO hands it to
// the parser as if written at end_ps (FrameFifo::write_at). False: receive it at end_ps, as before (a frame
// dropped then is reported then).
bool MacRx::run_ahead(uint64_t start_ps, uint64_t end_ps) {
    if (!may_run_ahead(end_ps)) return false;
    const size_t bytes = wire_.bytes.size();
    if (!mac_passes_without_fcs(config_, wire_.orig_len, bytes) || fifo_bytes_ + bytes > timing_.mac_fifo_bytes ||
        out_fifo_->num_free() == 0)
        return false;
    RxPacket* ctx = pool_.try_acquire();
    if (!ctx) return false;
    RxPacket& pkt = *ctx;
    fill(pkt, ++frame_index_, start_ps, end_ps);
    mac_count_arrival(stats_, pkt, bytes);
    if (on_arrival) on_arrival(pkt);
    MacDrop reason;
    mac_check(config_, wire_.orig_len, pkt, stats_, reason);  // passes (counts a padded frame)
    admit(pkt, end_ps, true);
    ++ahead_;
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
    admit(pkt, pkt.wire_end_ps, false);
}

// The frame goes into the FIFO for the parser at `end_ps` (now, or ahead of time).
void MacRx::admit(RxPacket& pkt, uint64_t end_ps, bool ahead) {
    const size_t bytes = pkt.data.size();
    fifo_bytes_ += bytes;
    admitted_bytes_ += bytes;
    if (ahead) early_.push_back(EarlyArrival{end_ps, admitted_bytes_});
    else stats_.fifo_high_water_bytes = std::max(stats_.fifo_high_water_bytes, fifo_bytes_);
    pkt.cpl.timestamp_ps = end_ps;
    pkt.ready_ps = timing_.mac_ready_ps(end_ps);
    ++stats_.passed;
    if (ahead) out_fifo_->write_at(&pkt, end_ps);
    else out->nb_write(&pkt);
    passed_on_ = true;
    tr_fifo_bytes_.set(fifo_bytes_);
    tr_out_.add(1);
}

// The FIFO's bytes just after each frame written ahead whose last bit came before `before_ps`, counted into
// the high water: those admitted up to it less those the parser took before it. Called before each take
// (which comes on an edge, never at such a last bit) and at the end.
void MacRx::settle_high_water(uint64_t before_ps) {
    while (!early_.empty() && early_.front().end_ps < before_ps) {
        stats_.fifo_high_water_bytes =
            std::max(stats_.fifo_high_water_bytes, early_.front().admitted_bytes - released_bytes_);
        early_.pop_front();
    }
}

}  // namespace ov2
