// The context of one frame inside the device pipeline, and the fixed pool the MAC takes them from.
// Buffers keep their capacity between frames, so the hot path does not allocate after warm-up.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <systemc>

#include "ov2_types.h"
#include "timing_params.h"

namespace ov2 {

struct RxPacket {
    uint32_t frame = 0;              // 1-based index of the frame in the input (the device's frame tag)
    std::vector<uint8_t> data;       // frame bytes without FCS; decrypted in place by the crypto engine
    uint64_t wire_start_ps = 0;      // first bit on the wire
    uint64_t wire_end_ps = 0;        // last bit on the wire
    uint64_t ready_ps = 0;           // when the stage that produced it is done with it (its latency)
    ParseResult parse;               // outer headers, from the parser
    int32_t cam_index = -1;          // outer CAM entry hit by the lookup, -1 = none
    int32_t cam_lookup = -2;         // the lookup's answer: -2 no lookup, -1 miss, else the entry matched
    Completion cpl;                  // IPsec result, filled in as the stages go

    void reset(uint32_t frame_index) {
        frame = frame_index;
        data.clear();
        wire_start_ps = wire_end_ps = ready_ps = 0;
        parse = ParseResult{};
        cam_index = -1;
        cam_lookup = -2;
        cpl = Completion{};
        cpl.frame_tag = frame_index;
    }
};

// Waits until simulated time `ps`; returns at once when it has passed (a stage's latency is carried on the
// packet as ready_ps, so a stage can take the next packet before the previous one left the pipeline).
inline void wait_until_ps(uint64_t ps) {
    const uint64_t now = sc_core::sc_time_stamp().value();
    if (ps > now) sc_core::wait(sc_core::sc_time(double(ps - now), sc_core::SC_PS));
}

inline uint64_t now_ps() { return sc_core::sc_time_stamp().value(); }

// Device blocks act on core clock edges only (cycle mode, docs/timing.md): a block woken by anything that is
// not on the core clock (a register write over MMIO, a DMA finishing on the bus) waits for the next edge.
inline void wait_for_edge(const TimingParams& t) { wait_until_ps(t.edge_at_or_after(now_ps())); }

class RxPacketPool {
public:
    RxPacketPool(size_t count, size_t reserve_bytes) {
        storage_.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            storage_.push_back(std::make_unique<RxPacket>());
            storage_.back()->data.reserve(reserve_bytes);
            free_.push_back(storage_.back().get());
        }
    }
    // Blocks the calling SC_THREAD until a context is free.
    RxPacket* acquire() {
        while (free_.empty()) sc_core::wait(released_);
        RxPacket* p = free_.back();
        free_.pop_back();
        return p;
    }
    RxPacket* try_acquire() {  // nullptr when every context is in use
        if (free_.empty()) return nullptr;
        RxPacket* p = free_.back();
        free_.pop_back();
        return p;
    }
    void release(RxPacket* p) {
        free_.push_back(p);
        released_.notify(sc_core::SC_ZERO_TIME);
    }
    size_t in_use() const { return storage_.size() - free_.size(); }

private:
    std::vector<std::unique_ptr<RxPacket>> storage_;
    std::vector<RxPacket*> free_;
    sc_core::sc_event released_;
};

}  // namespace ov2
