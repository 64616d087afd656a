// The receive parser's cycle contract (docs/timing.md, "Parser"), shared by the SystemC stage
// (parser_timing) and the RTL lockstep bench (ParserContract, cycle by cycle): when a beat is taken, when
// each header step runs and when the result is valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <deque>
#include <vector>

#include "rx_parser.h"
#include "timing_params.h"

namespace ov2 {

// Cycles of one frame from the cycle its first beat is taken, with the beats offered back to back and the
// result taken at once: the next frame's first beat can be taken `busy` cycles later, the result is valid
// `result` cycles later.
struct ParserTiming {
    uint64_t busy = 0;
    uint64_t result = 0;
};
ParserTiming parser_timing(const HeaderWalk& walk, size_t bytes, const TimingParams& t);

// parser_timing() kept for recent frames: it steps the contract cycle by cycle, and its result depends only
// on the frame length and the walk (for the given TimingParams), so both timing modes ask this instead
// (direct-mapped by a hash of the two; it showed as 5-16 % of a run).
class ParserTimingMemo {
public:
    explicit ParserTimingMemo(const TimingParams& t) : t_(t), slots_(64) {}
    const ParserTiming& of(const HeaderWalk& walk, size_t bytes);

private:
    struct Slot {
        size_t bytes = std::numeric_limits<size_t>::max();
        HeaderWalk walk;
        ParserTiming timing;
    };
    const TimingParams& t_;
    std::vector<Slot> slots_;
};

// The contract as a clocked reference. Each cycle: read s_ready(r_ready) and r_valid() (the outputs before
// the edge), then edge(s_valid, r_ready). A beat taken while no frame is in progress starts the next
// pushed frame.
class ParserContract {
public:
    ParserContract(uint32_t datapath_bytes, uint32_t latency_cycles);
    void push(size_t bytes, const HeaderWalk& walk);
    bool s_ready(bool r_ready) const;
    bool r_valid() const { return pipe_.back() != 0; }
    void edge(bool s_valid, bool r_ready);
    // No frame in progress, or the one in progress is complete: a beat now is the next frame's first.
    bool takes_first_beat() const { return !active_ || complete(); }

private:
    struct Frame {
        size_t bytes = 0;
        HeaderWalk walk;
    };
    bool enabled(bool r_ready) const { return !(r_valid() && !r_ready); }
    bool walk_done() const;
    bool complete() const { return active_ && last_in_ && walk_done(); }
    size_t step_offset() const { return step_ == 0 ? 0 : f_.walk.offsets[step_ - 1]; }
    uint64_t frame_beats() const;
    bool step_runs(bool beat_now) const;
    void start_frame();

    const uint64_t width_;
    const uint64_t window_beats_;
    std::deque<Frame> queue_;
    Frame f_;                   // the frame in progress
    bool active_ = false;       // first beat taken, result not yet passed on
    uint64_t beats_ = 0;        // beats of f_ taken
    bool last_in_ = false;      // its last beat was taken
    size_t step_ = 0;           // the next step: 0 = the L2/L3 step, k = walk.offsets[k - 1]
    std::vector<uint8_t> pipe_; // the result pipeline, latency - 1 stages; back() = r_valid
};

}  // namespace ov2
