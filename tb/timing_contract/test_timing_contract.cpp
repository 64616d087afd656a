// The timing contract of docs/timing.md, one test (or more) per parameter of TimingParams: change the
// parameter, run the model, and check that the results moved the way the contract says.
//
// Two kinds of run, both in child processes (one SystemC elaboration per process):
//  - `ov2sim run` on the default scenario's 44 frames spaced 10 us apart (--pacing capture): low load, no
//    queue anywhere, so a latency parameter moves each frame's completion / indication time by exactly
//    its change (frame 1 is left out of exact comparisons: it arrives while the first descriptor read is in
//    flight, which hides part of any change before that point);
//  - `ov2sim measure` on synthetic ESP traffic at line rate (or paced), for throughput and drops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "measure.h"
#include "system_util.h"
#include "timing_params.h"

using namespace systest;
using ov2::MeasureOptions;

namespace {

constexpr uint64_t kFrames = 44;  // the default scenario

struct Frame {
    bool indicated = false;
    uint64_t wire_start = 0, wire_end = 0, completion = 0, indication = 0;
    uint32_t length = 0;
    bool truncated = false;
};

struct SimRun {
    std::vector<Frame> frames;  // index = frame number (1-based; [0] unused)
    json stats;
};

// The default scenario through `ov2sim run` with the given --set overrides; `spaced`: frames 10 us apart
// (capture pacing), else back to back at line rate.
SimRun run_default(const std::vector<std::string>& settings, bool spaced = true) {
    static int runs = 0;
    const std::string dir = scratch_dir() + "/" + std::to_string(runs++);
    std::filesystem::create_directories(dir);
    std::string pcap = default_scenario() + "/frames.pcap";
    std::vector<std::string> extra;
    if (spaced) {
        pcap = dir + "/spaced.pcap";
        write_pcap(pcap, read_pcap(default_scenario() + "/frames.pcap"), 10);
        extra = {"--pacing", "capture"};
    }
    for (const std::string& s : settings) {
        extra.push_back("--set");
        extra.push_back(s);
    }
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out", extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    SimRun out;
    out.frames.resize(kFrames + 1);
    const std::vector<json> lines = by_frame(read_jsonl(dir + "/out/oob.jsonl"), kFrames);
    for (uint64_t f = 1; f <= kFrames && f < lines.size(); ++f) {
        const json& l = lines[f];
        if (l.is_null()) continue;
        Frame& fr = out.frames[f];
        fr.indicated = l["indicated"].get<bool>();
        fr.wire_start = l["wire_start_ps"].get<uint64_t>();
        fr.wire_end = l["wire_end_ps"].get<uint64_t>();
        fr.length = l["length"].get<uint32_t>();
        if (fr.indicated) {
            fr.completion = l["completion_ps"].get<uint64_t>();
            fr.indication = l["indication_ps"].get<uint64_t>();
            fr.truncated = l.value("truncated", false);
        }
    }
    out.stats = read_json(dir + "/out/stats.json");
    return out;
}

// Per indicated frame from `first` on: (changed - base) of completion and of indication time.
struct Shift {
    std::map<uint64_t, int64_t> completion, indication;
};
Shift shifts(const SimRun& base, const SimRun& changed, uint64_t first = 2) {
    Shift s;
    for (uint64_t f = first; f <= kFrames; ++f) {
        const Frame &a = base.frames[f], &b = changed.frames[f];
        EXPECT_EQ(a.indicated, b.indicated) << "frame " << f << ": a timing change changed the outcome";
        if (!a.indicated || !b.indicated) continue;
        s.completion[f] = int64_t(b.completion) - int64_t(a.completion);
        s.indication[f] = int64_t(b.indication) - int64_t(a.indication);
    }
    EXPECT_GE(s.completion.size(), 40u) << "most frames of the default scenario are indicated";
    return s;
}

// The frames whose shift is `ps` (within 2 ps of rounding), and whether every shift is one of `allowed`.
size_t count_near(const std::map<uint64_t, int64_t>& m, double ps) {
    return size_t(std::count_if(m.begin(), m.end(), [&](const auto& kv) { return std::fabs(double(kv.second) - ps) <= 2; }));
}
void expect_all_in(const std::map<uint64_t, int64_t>& m, const std::vector<double>& allowed, const char* what) {
    for (const auto& [frame, d] : m) {
        bool ok = false;
        for (double a : allowed) ok = ok || std::fabs(double(d) - a) <= 2;
        EXPECT_TRUE(ok) << what << ": frame " << frame << " moved by " << d << " ps";
    }
}

const double kClockPs = double(ov2::TimingParams{}.clock_ps());  // the default core clock period

MeasureOptions traffic(const std::string& algorithm, uint32_t payload, uint32_t frames,
                       std::vector<std::string> settings = {}) {
    MeasureOptions o;
    o.traffic.algorithm = algorithm;
    o.traffic.payload_bytes = payload;
    o.traffic.frames = frames;
    o.traffic.sas = 64;
    o.settings = std::move(settings);
    o.executable = std::string(OV2_BINARY_DIR) + "/ov2sim";  // never this test binary: it would recurse
    return o;
}

json measure(const std::string& algorithm, uint32_t payload, uint32_t frames, std::vector<std::string> settings = {}) {
    const json r = ov2::measure_child(traffic(algorithm, payload, frames, std::move(settings)));
    EXPECT_EQ(r["indicated"].get<uint64_t>() + r["rx_missed"].get<uint64_t>(), frames)
        << "every frame indicated or missed";
    return r;
}

// Line rate with the defaults: nothing missed, the wire rate achieved (within the tail of the run).
void expect_line_rate(const json& r) {
    EXPECT_EQ(r["rx_missed"].get<uint64_t>(), 0u) << r.dump();
    EXPECT_GT(r["achieved_gbps"].get<double>(), 0.97 * r["offered_gbps"].get<double>()) << r.dump();
}

// A burst at line rate against a slow host (400 ns a packet: 2.5 Mpps against 79 Mpps on the wire): the
// device's buffering (MAC FIFO, stage FIFOs, rings) decides how much of the burst is missed.
json starved(std::vector<std::string> settings) {
    settings.push_back("host_per_packet_ns=400");
    return measure("aes-gcm-128", 64, 4000, settings);
}

}  // namespace

// Every parameter has its contract test below: this list must name them all.
TEST(TimingContract, EveryParameterHasAContractTest) {
    const std::set<std::string> tested = {
        "core_clock_mhz", "line_rate_gbps", "wire_overhead_bytes", "fcs_bytes", "datapath_bytes",
        "mac_latency_cycles", "parser_latency_cycles", "cam_latency_cycles", "crypto_gcm_latency_cycles",
        "crypto_gcm192_latency_cycles", "crypto_gcm256_latency_cycles",
        "crypto_gcm_bytes_per_cycle", "crypto_cbc_bytes_per_cycle", "crypto_hmac_bytes_per_cycle",
        "crypto_hmac_latency_cycles", "crypto_lanes", "bus_latency_ns", "bus_bandwidth_gbps",
        "bus_max_payload_bytes", "mmio_latency_ns", "desc_prefetch", "desc_cache_entries",
        "desc_prefetch_threshold", "wb_batch_max", "wb_batch_timeout_ns", "host_irq_latency_ns",
        "host_per_packet_ns", "mac_fifo_bytes", "stage_fifo_depth", "rx_ring_entries", "rx_buffer_bytes",
        "cpl_ring_entries"};
    for (const std::string& name : ov2::TimingParams::names())
        EXPECT_TRUE(tested.count(name)) << name << " has no contract test in tb/timing_contract";
    EXPECT_EQ(tested.size(), ov2::TimingParams::names().size());
}

// ---- clocks and wire --------------------------------------------------------------------------------------

// Contract: pipeline stage times are whole cycles, so a slower clock makes every frame take longer from its
// last bit to its completion; the wire is not clocked by it.
TEST(TimingContract, SlowerCoreClockDelaysEveryCompletion) {
    const SimRun base = run_default({}), slow = run_default({"core_clock_mhz=161"});
    const Shift s = shifts(base, slow);
    for (const auto& [f, d] : s.completion) EXPECT_GT(d, 0) << "frame " << f;
    for (uint64_t f = 1; f <= kFrames; ++f) EXPECT_EQ(base.frames[f].wire_end, slow.frames[f].wire_end) << f;
    // and at 100 MHz the 3-cycle parser issue interval of a 134-byte frame (30 ns) cannot keep up with a
    // frame every 12.6 ns
    const json fast = measure("aes-gcm-128", 64, 10000), hundred = measure("aes-gcm-128", 64, 10000, {"core_clock_mhz=100"});
    expect_line_rate(fast);
    EXPECT_LT(hundred["achieved_gbps"].get<double>(), 0.7 * fast["achieved_gbps"].get<double>());
    EXPECT_GT(hundred["rx_missed"].get<uint64_t>(), 0u);
}

// Contract: a frame occupies the wire for (bytes + FCS + overhead) x 8 / line rate.
TEST(TimingContract, HalfTheLineRateDoublesEachFramesWireTime) {
    const SimRun base = run_default({}, false), half = run_default({"line_rate_gbps=50"}, false);
    for (uint64_t f = 1; f <= kFrames; ++f) {
        const double t100 = double(base.frames[f].wire_end - base.frames[f].wire_start);
        const double t50 = double(half.frames[f].wire_end - half.frames[f].wire_start);
        EXPECT_NEAR(t50, 2 * t100, 2) << "frame " << f;
    }
}

// Contract: back to back at line rate, each frame starts (its bytes + FCS + overhead) after the previous one.
TEST(TimingContract, WireOverheadSpacesFramesApart) {
    const SimRun base = run_default({}, false), more = run_default({"wire_overhead_bytes=30"}, false);
    for (uint64_t f = 2; f <= kFrames; ++f) {
        const int64_t gap = int64_t(base.frames[f].wire_start - base.frames[f - 1].wire_start);
        const int64_t gap_more = int64_t(more.frames[f].wire_start - more.frames[f - 1].wire_start);
        EXPECT_NEAR(double(gap_more - gap), 10 * 8 * 10.0, 2) << "frame " << f << ": 10 more bytes at 100 Gb/s";
    }
}

TEST(TimingContract, FcsBytesAreOnTheWireWhenTheCaptureHasNone) {
    const SimRun base = run_default({}, false), none = run_default({"fcs_bytes=0"}, false);
    for (uint64_t f = 1; f <= kFrames; ++f) {
        const double t = double(base.frames[f].wire_end - base.frames[f].wire_start);
        const double t0 = double(none.frames[f].wire_end - none.frames[f].wire_start);
        EXPECT_NEAR(t - t0, 4 * 8 * 10.0, 2) << "frame " << f << ": 4 FCS bytes at 100 Gb/s";
    }
}

// Contract: the parser takes a frame at one beat of datapath_bytes a cycle, its first header step needs the
// first 64 bytes and the key comes after the last beat. A narrower datapath delays every frame (even one of
// 64 B: four beats of 16 B before the first step); at 64 B payloads it cannot keep up with the wire.
TEST(TimingContract, NarrowerDatapathDelaysEveryFrameAndLimitsSmallFrameRate) {
    const SimRun base = run_default({}), narrow = run_default({"datapath_bytes=16"});
    const Shift s = shifts(base, narrow);
    for (const auto& [f, d] : s.completion) EXPECT_GT(d, 0) << "frame " << f << " (" << base.frames[f].length << " B)";
    const json r = measure("aes-gcm-128", 64, 10000, {"datapath_bytes=16"});  // 134 B: 9 cycles, 28 ns a frame
    EXPECT_GT(r["rx_missed"].get<uint64_t>(), 0u);
    EXPECT_LT(r["achieved_gbps"].get<double>(), 60.0);
}

// ---- block latencies: + k cycles at low load moves each frame's completion by k cycles -------------------

TEST(TimingContract, MacLatencyMovesEveryCompletionByItsCycles) {
    const Shift s = shifts(run_default({}), run_default({"mac_latency_cycles=102"}));
    expect_all_in(s.completion, {100 * kClockPs}, "completion");
    expect_all_in(s.indication, {100 * kClockPs}, "indication");
}

// The key comes parser_latency_cycles after the later of the last beat and the last header step (default 2).
TEST(TimingContract, ParserLatencyMovesEveryCompletionByItsCycles) {
    const Shift s = shifts(run_default({}), run_default({"parser_latency_cycles=102"}));
    expect_all_in(s.completion, {100 * kClockPs}, "completion");
}

// Every frame is looked up once; the transport portion inside a tunnel is looked up a second time.
TEST(TimingContract, CamLatencyMovesEveryCompletionOncePerLookup) {
    const Shift s = shifts(run_default({}), run_default({"cam_latency_cycles=103"}));
    expect_all_in(s.completion, {100 * kClockPs, 200 * kClockPs}, "completion");
    EXPECT_GE(count_near(s.completion, 100 * kClockPs), 30u);
    EXPECT_GE(count_near(s.completion, 200 * kClockPs), 1u) << "the transport-over-tunnel frame: two lookups";
}

// Only the frames an AES-GCM/GMAC engine processes move (twice for a GCM portion inside a GCM tunnel).
TEST(TimingContract, GcmLatencyMovesOnlyGcmFrames) {
    const Shift s = shifts(run_default({}), run_default({"crypto_gcm_latency_cycles=118"}));
    expect_all_in(s.completion, {0, 100 * kClockPs, 200 * kClockPs}, "completion");
    EXPECT_GE(count_near(s.completion, 100 * kClockPs), 10u) << "the GCM frames";
    EXPECT_GE(count_near(s.completion, 0), 10u) << "plain, CBC+HMAC and unprocessed frames";
}

// The pipeline depth is per key size: the default scenario's one AES-GCM-192 and one AES-GCM-256 SA move
// alone, by exactly the change.
TEST(TimingContract, Gcm192LatencyMovesOnlyGcm192Frames) {
    const Shift s = shifts(run_default({}), run_default({"crypto_gcm192_latency_cycles=122"}));
    expect_all_in(s.completion, {0, 100 * kClockPs}, "completion");
    EXPECT_GE(count_near(s.completion, 100 * kClockPs), 1u) << "the GCM-192 frames";
    EXPECT_GE(count_near(s.completion, 0), 30u) << "every other frame";
}

TEST(TimingContract, Gcm256LatencyMovesOnlyGcm256Frames) {
    const Shift s = shifts(run_default({}), run_default({"crypto_gcm256_latency_cycles=126"}));
    expect_all_in(s.completion, {0, 100 * kClockPs}, "completion");
    EXPECT_GE(count_near(s.completion, 100 * kClockPs), 1u) << "the GCM-256 frames";
    EXPECT_GE(count_near(s.completion, 0), 30u) << "every other frame";
}

TEST(TimingContract, HmacLatencyMovesOnlyHmacFrames) {
    const Shift s = shifts(run_default({}), run_default({"crypto_hmac_latency_cycles=180"}));
    expect_all_in(s.completion, {0, 100 * kClockPs, 200 * kClockPs}, "completion");
    EXPECT_GE(count_near(s.completion, 100 * kClockPs), 5u) << "the HMAC frames";
    EXPECT_GE(count_near(s.completion, 0), 10u) << "plain, GCM and unprocessed frames";
}

// ---- crypto rates and lanes -------------------------------------------------------------------------------

// A slower GCM lane delays GCM frames only; at 1500 B, 4 lanes of 4 B/cycle (41 Gb/s) cannot keep up.
TEST(TimingContract, SlowerGcmLanesDelayGcmFramesAndLimitThroughput) {
    const Shift s = shifts(run_default({}), run_default({"crypto_gcm_bytes_per_cycle=4"}));
    size_t later = 0;
    for (const auto& [f, d] : s.completion) {
        EXPECT_GE(d, 0) << "frame " << f;
        later += d > 0;
    }
    EXPECT_GE(later, 10u);
    EXPECT_GE(count_near(s.completion, 0), 10u) << "non-GCM frames unchanged";
    const json base = measure("aes-gcm-128", 1500, 2000), slow = measure("aes-gcm-128", 1500, 2000, {"crypto_gcm_bytes_per_cycle=4"});
    expect_line_rate(base);
    EXPECT_LT(slow["achieved_gbps"].get<double>(), 45.0);
    EXPECT_GT(slow["rx_missed"].get<uint64_t>(), 0u);
}

// CBC + HMAC runs at the slower of the two rates: with the serial HMAC (1 B/cycle) a slower CBC lane changes
// nothing; once the HMAC is fast, the CBC rate decides.
TEST(TimingContract, CbcRateMattersOnlyWhenItIsTheSlowerOne) {
    const Shift hidden = shifts(run_default({}), run_default({"crypto_cbc_bytes_per_cycle=4"}));
    expect_all_in(hidden.completion, {0}, "completion behind the 1 B/cycle HMAC");
    const SimRun fast_hmac = run_default({"crypto_hmac_bytes_per_cycle=64"});
    const Shift s = shifts(fast_hmac, run_default({"crypto_hmac_bytes_per_cycle=64", "crypto_cbc_bytes_per_cycle=4"}));
    size_t later = 0;
    for (const auto& [f, d] : s.completion) {
        EXPECT_GE(d, 0) << "frame " << f;
        later += d > 0;
    }
    EXPECT_GE(later, 5u) << "the CBC frames";
}

TEST(TimingContract, FasterHmacEnginesRaiseCbcThroughputAndShortenHmacFrames) {
    const Shift s = shifts(run_default({}), run_default({"crypto_hmac_bytes_per_cycle=2"}));
    size_t earlier = 0;
    for (const auto& [f, d] : s.completion) {
        EXPECT_LE(d, 0) << "frame " << f;
        earlier += d < 0;
    }
    EXPECT_GE(earlier, 5u);
    const json one = measure("aes-cbc-128-sha1", 1500, 1500), four = measure("aes-cbc-128-sha1", 1500, 1500, {"crypto_hmac_bytes_per_cycle=4"});
    EXPECT_GT(four["achieved_gbps"].get<double>(), 2.5 * one["achieved_gbps"].get<double>());
}

// One GCM lane is 16 B/cycle x 322 MHz = 41 Gb/s: not enough for 100 GbE at 1500 B; the default 4 are.
TEST(TimingContract, CryptoLanesBoundGcmThroughput) {
    const json four = measure("aes-gcm-128", 1500, 2000), one = measure("aes-gcm-128", 1500, 2000, {"crypto_lanes=1"});
    expect_line_rate(four);
    EXPECT_LT(one["achieved_gbps"].get<double>(), 45.0);
    EXPECT_GT(one["achieved_gbps"].get<double>(), 35.0);
    EXPECT_GT(one["rx_missed"].get<uint64_t>(), 0u);
}

// ---- host link and writeback ------------------------------------------------------------------------------

// Posted writes: the done byte leaves at the same time, it (and the MSI behind it) reaches the host later.
TEST(TimingContract, BusLatencyMovesTheIndicationNotTheWrite) {
    const Shift s = shifts(run_default({}), run_default({"bus_latency_ns=1250"}));
    expect_all_in(s.completion, {0}, "completion (the done byte leaving)");
    expect_all_in(s.indication, {1000000}, "indication");
}

// Half the link bandwidth: 56.5 Gb/s of frame data at most.
TEST(TimingContract, HalfTheBusBandwidthLowersThroughputAt1500Bytes) {
    const json base = measure("aes-gcm-128", 1500, 2000), half = measure("aes-gcm-128", 1500, 2000, {"bus_bandwidth_gbps=56.5"});
    expect_line_rate(base);
    EXPECT_LT(half["achieved_gbps"].get<double>(), 58.0);
    EXPECT_GT(half["achieved_gbps"].get<double>(), 45.0);
    EXPECT_GT(half["rx_missed"].get<uint64_t>(), 0u);
    EXPECT_GT(half["bus_utilisation"].get<double>(), base["bus_utilisation"].get<double>());
}

// Writes are split at the maximum payload: more, smaller writes for the same bytes and the same results;
// the link time is in the bytes, so the times do not move.
TEST(TimingContract, SmallerMaxPayloadSplitsWritesWithoutChangingTheResult) {
    const SimRun base = run_default({}), small = run_default({"bus_max_payload_bytes=32"});
    EXPECT_GT(small.stats["bus"]["dma_writes"].get<uint64_t>(), 2 * base.stats["bus"]["dma_writes"].get<uint64_t>());
    EXPECT_EQ(small.stats["bus"]["dma_bytes"], base.stats["bus"]["dma_bytes"]);
    const Shift s = shifts(base, small);
    for (const auto& [f, d] : s.completion) EXPECT_LE(std::abs(d), 20) << "frame " << f;
}

// The driver programs the device over MMIO before the first frame: every access is slower, so traffic
// starts later; the frames' own path has no MMIO in it at low load.
TEST(TimingContract, MmioLatencyDelaysTheStartNotTheFrames) {
    const SimRun base = run_default({}), slow = run_default({"mmio_latency_ns=1000"});
    EXPECT_GT(slow.frames[1].wire_start, base.frames[1].wire_start + 10'000'000u) << "many MMIO accesses at setup";
    // The later start changes where the frames' last bits fall between two core clock edges, and a frame
    // is the device's from the next edge on: its completion moves with its wire time within one clock.
    for (uint64_t f = 2; f <= kFrames; ++f) {
        if (!base.frames[f].indicated) continue;
        const int64_t d = int64_t(slow.frames[f].completion - slow.frames[f].wire_end) -
                          int64_t(base.frames[f].completion - base.frames[f].wire_end);
        EXPECT_LT(std::abs(d), int64_t(kClockPs)) << f;
    }
}

// One descriptor read in flight: it must bring at least as many descriptors as frames arrive during its
// round trip (~0.57 us, 45 frames at 64 B payloads). 8 per read cannot keep up; the default 64 can.
TEST(TimingContract, DescPrefetchBoundsTheSmallFrameRate) {
    const json base = measure("aes-gcm-128", 64, 5000), small = measure("aes-gcm-128", 64, 5000, {"desc_prefetch=8"});
    expect_line_rate(base);
    EXPECT_LT(small["achieved_gbps"].get<double>(), 0.5 * base["achieved_gbps"].get<double>());
    EXPECT_GT(small["rx_missed"].get<uint64_t>(), 0u);
}

// Each read is limited by the room in the cache: a cache of 16 makes reads of at most 16.
TEST(TimingContract, SmallDescriptorCacheBoundsTheSmallFrameRate) {
    const json small = measure("aes-gcm-128", 64, 5000, {"desc_cache_entries=16"});
    EXPECT_GT(small["rx_missed"].get<uint64_t>(), 0u);
    EXPECT_LT(small["achieved_gbps"].get<double>(), 50.0);
    const SimRun run = run_default({"desc_cache_entries=4"});
    EXPECT_GE(run.stats["desc_wb"]["desc_fetches"].get<uint64_t>(), 11u) << "44 frames, at most 4 per read";
}

// Threshold 1: the next read starts only when the cache is empty, which makes the prefetch synchronous
// again (frames wait a round trip every desc_prefetch frames).
TEST(TimingContract, PrefetchThresholdOfOneMakesFramesWaitForReads) {
    const json base = measure("aes-gcm-128", 64, 20000), sync = measure("aes-gcm-128", 64, 20000, {"desc_prefetch_threshold=1"});
    expect_line_rate(base);
    EXPECT_GT(sync["rx_missed"].get<uint64_t>(), 0u);
    EXPECT_LT(sync["achieved_gbps"].get<double>(), 0.8 * base["achieved_gbps"].get<double>());
    // and back to back at line rate, the frames of the default scenario wait for reads only with threshold 1
    const SimRun line = run_default({}, false), line_sync = run_default({"desc_prefetch=8", "desc_prefetch_threshold=1"}, false);
    EXPECT_GT(line_sync.stats["desc_wb"]["stalled_desc_fetch_us"].get<double>(),
              line.stats["desc_wb"]["stalled_desc_fetch_us"].get<double>() + 0.5);
}

// Batches: at line rate up to wb_batch_max records share a writeback (and an MSI); 1 = one per frame.
TEST(TimingContract, BatchMaxSetsRecordsPerWriteback) {
    const SimRun batched = run_default({}, false), single = run_default({"wb_batch_max=1"}, false);
    EXPECT_EQ(single.stats["desc_wb"]["batches"].get<uint64_t>(), single.stats["desc_wb"]["completions"].get<uint64_t>());
    EXPECT_EQ(single.stats["desc_wb"]["interrupts"], single.stats["desc_wb"]["batches"]);
    EXPECT_LT(batched.stats["desc_wb"]["batches"].get<uint64_t>(), batched.stats["desc_wb"]["completions"].get<uint64_t>() / 2);
    EXPECT_LE(batched.stats["desc_wb"]["batch_high_water"].get<uint64_t>(), 8u);
    EXPECT_GT(batched.stats["desc_wb"]["batch_high_water"].get<uint64_t>(), 1u);
    const SimRun four = run_default({"wb_batch_max=4"}, false);
    EXPECT_LE(four.stats["desc_wb"]["batch_high_water"].get<uint64_t>(), 4u);
}

// At low load a record waits the whole timeout for company: + k ns moves every completion by k ns.
TEST(TimingContract, BatchTimeoutMovesEveryLowLoadCompletion) {
    // The timeout ends on the first edge after it has passed: 100 ns is 33 cycles, 500 ns 161.
    const double moved = (std::ceil(500000 / kClockPs) - std::ceil(100000 / kClockPs)) * kClockPs;
    const Shift s = shifts(run_default({}), run_default({"wb_batch_timeout_ns=500"}));
    expect_all_in(s.completion, {moved}, "completion");
    expect_all_in(s.indication, {moved}, "indication");
}

// ---- host ---------------------------------------------------------------------------------------------------

TEST(TimingContract, IrqLatencyMovesTheIndicationNotTheCompletion) {
    const Shift s = shifts(run_default({}), run_default({"host_irq_latency_ns=1500"}));
    expect_all_in(s.completion, {0}, "completion");
    expect_all_in(s.indication, {500000}, "indication");
}

TEST(TimingContract, PerPacketHostTimeMovesTheIndicationNotTheCompletion) {
    const Shift s = shifts(run_default({}), run_default({"host_per_packet_ns=505"}));
    expect_all_in(s.completion, {0}, "completion");
    expect_all_in(s.indication, {500000}, "indication (one frame per interrupt at low load)");
    // and a host slower than the wire makes the device miss frames
    const json r = starved({});
    EXPECT_GT(r["rx_missed"].get<uint64_t>(), 0u);
}

// ---- queues: under starvation, less buffering means more frames missed -------------------------------------

TEST(TimingContract, SmallerMacFifoMissesFramesUnderStarvation) {
    const json big = starved({"mac_fifo_bytes=4194304"}), small = starved({"mac_fifo_bytes=16384"});
    EXPECT_EQ(big["rx_missed"].get<uint64_t>(), 0u) << "4 MiB holds the whole burst";
    EXPECT_GT(small["rx_missed"].get<uint64_t>(), 1000u);
    EXPECT_LE(small["mac_fifo_high_water_bytes"].get<uint64_t>(), 16384u);
}

TEST(TimingContract, DeeperStageFifosMissFewerFramesUnderStarvation) {
    const json shallow = starved({"mac_fifo_bytes=16384", "stage_fifo_depth=1"});
    const json deep = starved({"mac_fifo_bytes=16384", "stage_fifo_depth=512"});
    EXPECT_GT(shallow["rx_missed"].get<uint64_t>(), deep["rx_missed"].get<uint64_t>() + 500);
}

TEST(TimingContract, SmallerReceiveRingMissesMoreFramesUnderStarvation) {
    const json small = starved({"mac_fifo_bytes=16384", "rx_ring_entries=64"});
    const json big = starved({"mac_fifo_bytes=16384", "rx_ring_entries=4096", "cpl_ring_entries=4096"});
    EXPECT_GT(small["rx_missed"].get<uint64_t>(), big["rx_missed"].get<uint64_t>() + 1000);
}

TEST(TimingContract, SmallerCompletionRingMissesMoreFramesUnderStarvation) {
    const json small = starved({"mac_fifo_bytes=16384", "cpl_ring_entries=64"});
    const json big = starved({"mac_fifo_bytes=16384", "rx_ring_entries=4096", "cpl_ring_entries=4096"});
    EXPECT_GT(small["rx_missed"].get<uint64_t>(), big["rx_missed"].get<uint64_t>() + 1000);
}

// A frame longer than its buffer is cut to the buffer and flagged; shorter DMA, earlier completion.
TEST(TimingContract, SmallReceiveBuffersCutFramesAndShortenTheirWriteback) {
    const SimRun base = run_default({}), small = run_default({"rx_buffer_bytes=64"});
    size_t cut = 0;
    for (uint64_t f = 1; f <= kFrames; ++f) {
        const Frame &a = base.frames[f], &b = small.frames[f];
        if (!b.indicated) continue;
        EXPECT_LE(b.length, 64u) << f;
        EXPECT_EQ(b.truncated, a.length > 64) << f;
        cut += b.truncated;
        if (f > 1 && a.length > 64) EXPECT_LE(b.completion, a.completion) << f;
    }
    EXPECT_GT(cut, 30u);
    EXPECT_EQ(small.stats["desc_wb"]["truncated"].get<uint64_t>(), cut);
}

// ---- ranges (docs/timing.md's table) ------------------------------------------------------------------------

namespace {
std::string show(double v) {  // as the error message and the table write numbers
    if (v == std::floor(v)) return std::to_string(static_cast<long long>(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}
}  // namespace

// Both ends of every range are accepted; one step beyond either end is refused with a message that names
// the parameter, the value and the range; the table in docs/timing.md shows the same range.
TEST(TimingContract, EveryParameterHasARangeAndTheTableShowsIt) {
    const std::string doc = read_file(std::string(OV2_SOURCE_DIR) + "/docs/timing.md");
    for (const ov2::TimingParams::Range& r : ov2::TimingParams::ranges()) {
        const std::string range = show(r.min) + " to " + show(r.max);
        const size_t row = doc.find("| `" + r.name + "` |");
        ASSERT_NE(row, std::string::npos) << r.name << " is not in the table of docs/timing.md";
        const std::string line = doc.substr(row, doc.find('\n', row) - row);
        EXPECT_NE(line.find("| " + range + " |"), std::string::npos) << r.name << ": the table does not say " << range;
        for (double v : {r.min, r.max}) {
            ov2::TimingParams t;
            t.rx_buffer_bytes = 4096;  // so that rx_ring_entries x rx_buffer_bytes stays within 256 MiB
            t.rx_ring_entries = 64;
            EXPECT_NO_THROW(t.set(r.name, show(v))) << r.name << "=" << show(v);
        }
        const double step = r.max >= 100 ? 1 : 0.001;
        for (double v : {r.min - step, r.max + step, r.max * 1000}) {
            if (v < 0 && r.min == 0 && r.name.find("_ns") == std::string::npos) continue;  // counts: not a whole number
            ov2::TimingParams t;
            try {
                t.set(r.name, show(v));
                ADD_FAILURE() << r.name << "=" << show(v) << " accepted outside " << range;
            } catch (const std::invalid_argument& e) {
                const std::string m = e.what();
                EXPECT_NE(m.find(r.name), std::string::npos) << m;
                EXPECT_NE(m.find("expected"), std::string::npos) << m;
            }
        }
    }
}
