// MAC (receive): takes frames from the wire side (a FrameSource: pcap reader or generator), places each on
// the wire at line rate with preamble and inter-frame gap, checks the FCS when frames carry one and counts
// runts, oversize frames and FCS errors. Frames wait in a receive FIFO of mac_fifo_bytes for the parser;
// the wire never waits, so a frame that finds the FIFO full is dropped (rx_missed), as a NIC does when the
// host does not keep up. Every frame it drops is reported through on_drop.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include <systemc>

#include "rx_packet.h"
#include "timing_params.h"
#include "trace.h"

namespace ov2 {

struct WireFrame {
    std::vector<uint8_t> bytes;  // as captured (reused between frames)
    uint64_t ts_ns = 0;          // capture timestamp
    uint32_t orig_len = 0;       // length on the wire as the capture recorded it
};

class FrameSource {
public:
    virtual ~FrameSource() = default;
    virtual bool next(WireFrame& frame) = 0;  // false at the end of the input
};

enum class Pacing { LineRate, Capture };  // back to back at line rate, or at the capture's timestamps

struct MacConfig {
    bool frames_have_fcs = false;  // captures usually strip the FCS; with true the last 4 bytes are checked
    uint32_t min_frame_bytes = 60; // without FCS: shorter frames with an FCS are runts
    uint32_t max_frame_bytes = 9216; // without FCS: longer frames are dropped as oversize
    Pacing pacing = Pacing::LineRate;
};

struct MacStats {
    uint64_t rx_frames = 0, rx_bytes = 0, rx_runt = 0, rx_oversize = 0, rx_fcs_errors = 0;
    uint64_t rx_capture_truncated = 0, rx_padded = 0, passed = 0, rx_missed = 0;
    uint64_t fifo_high_water_bytes = 0;
    uint64_t first_bit_ps = 0, last_bit_ps = 0;
};

enum class MacDrop : uint8_t { Runt, Oversize, FcsError, CaptureTruncated, Missed };
const char* mac_drop_name(MacDrop reason);

// The MAC's checks of one frame as received in pkt.data (capture truncation: `orig_len` on the wire,
// more than was captured; FCS, runt, oversize), counted in `stats`: false = dropped for `reason`. Strips a
// checked FCS from pkt.data. Shared by every timing mode.
bool mac_check(const MacConfig& config, uint32_t orig_len, RxPacket& pkt, MacStats& stats, MacDrop& reason);
// mac_check's verdict, counting nothing, for a frame of `bytes` captured bytes when frames carry no FCS
// (config.frames_have_fcs false): the capture has the whole frame and it is not oversize.
bool mac_passes_without_fcs(const MacConfig& config, uint32_t orig_len, size_t bytes);
// Counts a frame whose last bit arrived (before its checks).
void mac_count_arrival(MacStats& stats, const RxPacket& pkt, size_t wire_bytes);

// Places frames on the wire, back to back at line rate or at the capture's timestamps, never before the
// MAC's present time (it may have waited for OIDs before the frame). Shared by every timing mode.
class WirePacer {
public:
    WirePacer(const TimingParams& timing, const MacConfig& config) : timing_(timing), config_(config) {}
    void start(uint64_t t0_ps) { t0_ps_ = wire_free_ps_ = t0_ps; }
    // First and last bit of the next frame; `first` says it is the input's first frame.
    void place(const WireFrame& wire, bool first, uint64_t now_ps, uint64_t& start_ps, uint64_t& end_ps);

private:
    const TimingParams& timing_;
    const MacConfig& config_;
    uint64_t t0_ps_ = 0, wire_free_ps_ = 0, first_capture_ns_ = 0;
};

class MacRx : public sc_core::sc_module {
public:
    sc_core::sc_port<sc_core::sc_fifo_out_if<RxPacket*>> out;
    std::function<void(const RxPacket&, MacDrop)> on_drop;  // frame leaves here: no completion follows
    std::function<void(const RxPacket&)> on_arrival;          // every frame, when its last bit arrived
    // Called in the MAC's thread before frame n's first bit (and with n = UINT32_MAX after the last frame);
    // may block: the wire stays idle until it returns.
    std::function<void(uint32_t frame)> before_frame;
    // Whether before_frame does nothing from now on (no scripted OIDs left): the MAC may then run ahead of the
    // wire (run_ahead).
    std::function<bool()> before_frame_idle;

    // threads = false: the block only holds its configuration (the fast mode runs the frames).
    MacRx(sc_core::sc_module_name name, const TimingParams& timing, const MacConfig& config, FrameSource& source,
          RxPacketPool& pool, const sc_core::sc_event& start, bool threads = true);
    const MacStats& stats() const { return stats_; }
    void fifo_release(size_t bytes) {  // the parser took a frame out of the FIFO
        settle_high_water(now_ps());
        released_bytes_ += bytes;
        fifo_bytes_ -= bytes;
        tr_fifo_bytes_.set(fifo_bytes_);
    }
    // Waveform signals (docs/waveforms.md): the block's own, then the input queue of the stage it feeds.
    void trace(Tracer& t, const std::string& next_stage);
    // Frames the FIFO can hold at most (all minimum size): the depth its sc_fifo channel needs.
    static size_t fifo_frames(const TimingParams& t, const MacConfig& c) {
        return t.mac_fifo_bytes / std::max<uint32_t>(c.min_frame_bytes, 1) + 1;
    }
    bool finished() const { return finished_; }
    uint32_t frames_seen() const { return frame_index_; }

private:
    void run();
    void end_of_elaboration() override;
    void receive(RxPacket& pkt, bool have_context);
    void admit(RxPacket& pkt, uint64_t end_ps, bool ahead);
    void fill(RxPacket& pkt, uint32_t frame, uint64_t start_ps, uint64_t end_ps);
    bool may_run_ahead(uint64_t end_ps);
    bool run_ahead(uint64_t start_ps, uint64_t end_ps);
    void settle_high_water(uint64_t before_ps);

    // A frame written into the FIFO ahead of its last bit: the FIFO's bytes then are only known once the
    // parser's takes before then are (high water).
    struct EarlyArrival {
        uint64_t end_ps;
        uint64_t admitted_bytes;  // admitted_bytes_ with this frame
    };

    const TimingParams& timing_;
    MacConfig config_;
    FrameSource& source_;
    RxPacketPool& pool_;
    const sc_core::sc_event& start_;
    WireFrame wire_;
    MacStats stats_;
    uint32_t frame_index_ = 0;
    uint64_t fifo_bytes_ = 0;
    FrameFifo* out_fifo_ = nullptr;  // `out`'s channel, when a FrameFifo (run_ahead)
    uint64_t admitted_bytes_ = 0, released_bytes_ = 0;  // into the FIFO and out of it, since the start
    std::deque<EarlyArrival> early_;
    uint32_t ahead_ = 0;  // frames written ahead since the MAC last waited
    bool oids_done_ = false;  // before_frame_idle said so
    bool passed_on_ = false;
    bool finished_ = false;
    TraceSignal tr_busy_, tr_frame_, tr_fifo_bytes_, tr_rx_missed_, tr_rx_error_;
    QueueTrace tr_out_;
};

// Ethernet FCS (CRC-32, through Botan) as it appears on the wire, little-endian.
uint32_t ethernet_fcs(const uint8_t* data, size_t len);

}  // namespace ov2
