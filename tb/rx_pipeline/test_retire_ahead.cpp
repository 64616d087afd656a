// The reorder buffer's retirer writes a finished frame into the FIFO to writeback ahead of its result time
// when the frame writer reads that FIFO only later (RxPipeline::plan_retire, docs/timing.md "Cycle mode").
// That the results stay those of a retirer waking at every result time is checked by the mode comparisons
// (tb/fast_mode FastModeLoad / FastModeBackPressure, vectors_modes_*): these tests check that the
// mechanism is used where it should be and not where it must not be. Each TEST is its own elaboration.
#include <gtest/gtest.h>

#include <string>

#include "ov2_top.h"
#include "traffic_gen.h"

using namespace ov2;

namespace {

struct Retired {
    uint64_t ahead = 0, on_time = 0, completions = 0, crypto_done = 0;
};

Retired run_64b_line_rate(uint32_t frames, const SimConfig& config, const std::string& vcd = "") {
    TrafficSpec spec;
    spec.payload_bytes = 64;
    spec.frames = frames;
    TrafficGenerator gen(spec);
    Ov2System sys("sys", config, gen, gen.sas(), nullptr);
    if (!vcd.empty()) sys.enable_trace(vcd);
    sys.run();
    return {sys.pipeline().frames_retired_ahead(), sys.pipeline().frames_retired_on_time(),
            sys.wb_stats().completions, sys.rx_stats().crypto_done};
}

}  // namespace

TEST(RetireAhead, AtLineRateFramesFinishedWhileTheWriterIsBusyGoIntoItsFifoAhead) {
    const Retired r = run_64b_line_rate(3000, SimConfig{});
    EXPECT_EQ(r.ahead + r.on_time, 3000u);
    EXPECT_EQ(r.completions, 3000u);
    EXPECT_EQ(r.crypto_done, 3000u);
    // At 64 B the writer holds a frame for about three of the four cycles between frames; while completion
    // batches share the link it is still busy when the next result is ready (about a third of the frames).
    EXPECT_GT(r.ahead, 500u);
    EXPECT_GT(r.on_time, 500u);
}

TEST(RetireAhead, OneCryptoLaneOneFrameFifosAndASlowLinkStillGoAheadAndLoseNothing) {
    SimConfig config;  // the reorder buffer holds two frames: the crypto stage waits for a frame to depart
    config.timing.crypto_lanes = 1;
    config.timing.stage_fifo_depth = 1;
    config.timing.bus_bandwidth_gbps = 48;  // the writer about as slow as the lane: often busy at a result
    const Retired r = run_64b_line_rate(2000, config);
    EXPECT_EQ(r.ahead + r.on_time, r.completions);
    EXPECT_EQ(r.crypto_done, r.completions);
    EXPECT_GT(r.ahead, 500u);
}

TEST(RetireAhead, WithTheWaveformEveryFrameRetiresAtItsResultTime) {
    const std::string vcd = std::string(OV2_BINARY_DIR) + "/tb_retire_ahead.vcd";
    const Retired r = run_64b_line_rate(300, SimConfig{}, vcd);
    EXPECT_EQ(r.ahead, 0u) << "the waveform shows the reorder buffer and the FIFO as they change";
    EXPECT_EQ(r.on_time, 300u);
}
