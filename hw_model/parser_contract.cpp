#include "parser_contract.h"

#include <algorithm>
#include <stdexcept>

namespace ov2 {

ParserContract::ParserContract(uint32_t datapath_bytes, uint32_t latency_cycles)
    : width_(datapath_bytes), window_beats_(2 + (kWalkFirstStepBytes + datapath_bytes - 1) / datapath_bytes),
      pipe_(latency_cycles >= 2 ? latency_cycles - 1 : 1, false) {
    if (datapath_bytes == 0 || latency_cycles < 2) throw std::invalid_argument("parser contract: bad parameters");
}

void ParserContract::push(size_t bytes, const HeaderWalk& walk) { queue_.push_back(Frame{bytes, walk}); }

uint64_t ParserContract::frame_beats() const { return std::max<uint64_t>(1, (f_.bytes + width_ - 1) / width_); }

// After the last beat, a frame whose length makes it Malformed anyway stops walking.
bool ParserContract::walk_done() const {
    return step_ > f_.walk.offsets.size() || (last_in_ && f_.walk.length_bad);
}

// Whether the pending step can run this cycle, `beat_now` telling whether a beat of the frame is taken in it:
// once its bytes are in, or the whole frame is (unless its length makes it Malformed).
bool ParserContract::step_runs(bool beat_now) const {
    if (walk_done()) return false;
    const uint64_t beats = beats_ + (beat_now ? 1 : 0);
    const uint64_t available = std::min<uint64_t>(beats * width_, f_.bytes);
    const bool whole_frame = beats == frame_beats();
    if (step_ == 0) return available >= kWalkFirstStepBytes || whole_frame;
    return step_offset() + kWalkStepBytes <= available || (whole_frame && !f_.walk.length_bad);
}

bool ParserContract::s_ready(bool r_ready) const {
    if (!enabled(r_ready)) return false;
    if (takes_first_beat()) return true;
    if (last_in_) return false;
    // The parser keeps window_beats_ beats: the next one would push out a beat the pending step still reads.
    const uint64_t kept_from = beats_ + 1 >= window_beats_ ? beats_ + 1 - window_beats_ : 0;
    return walk_done() || step_offset() >= kept_from * width_;
}

void ParserContract::start_frame() {
    if (queue_.empty()) throw std::logic_error("parser contract: a beat with no frame pushed");
    f_ = std::move(queue_.front());
    queue_.pop_front();
    active_ = true;
    beats_ = 0;
    last_in_ = false;
    step_ = 0;
}

void ParserContract::edge(bool s_valid, bool r_ready) {
    if (!enabled(r_ready)) return;  // a result waits: the whole parser holds
    const bool take = s_valid && s_ready(r_ready);
    const bool done = complete();
    std::rotate(pipe_.rbegin(), pipe_.rbegin() + 1, pipe_.rend());
    pipe_.front() = done;
    if (done) active_ = false;
    if (take && !active_) start_frame();
    const bool runs = active_ && step_runs(take);
    if (take) {
        ++beats_;
        last_in_ = beats_ == frame_beats();
    }
    if (runs) ++step_;
}

ParserTiming parser_timing(const HeaderWalk& walk, size_t bytes, const TimingParams& t) {
    ParserContract c(t.datapath_bytes, t.parser_latency_cycles);
    c.push(bytes, walk);
    c.edge(true, true);  // cycle 0: the first beat
    ParserTiming r;
    for (uint64_t cycle = 1; r.busy == 0 || r.result == 0; ++cycle) {
        if (cycle > (uint64_t(1) << 32)) throw std::logic_error("parser contract: the frame never completes");
        if (r.busy == 0 && c.takes_first_beat()) r.busy = cycle;
        if (r.result == 0 && c.r_valid()) r.result = cycle;
        c.edge(!c.takes_first_beat(), true);
    }
    return r;
}

const ParserTiming& ParserTimingMemo::of(const HeaderWalk& walk, size_t bytes) {
    size_t h = bytes * 31 + walk.length_bad;
    for (uint32_t off : walk.offsets) h = h * 131 + off;
    Slot& m = slots_[h & (slots_.size() - 1)];
    if (m.bytes != bytes || m.walk.length_bad != walk.length_bad || m.walk.offsets != walk.offsets) {
        m.timing = parser_timing(walk, bytes, t_);
        m.bytes = bytes;
        m.walk.length_bad = walk.length_bad;
        m.walk.offsets.assign(walk.offsets.begin(), walk.offsets.end());
    }
    return m.timing;
}

}  // namespace ov2
