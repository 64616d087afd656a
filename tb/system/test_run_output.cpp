// RunOutput: the latency bins (the table lookup gives the bin of the log formula for every latency), and
// each frame's times kept until its line is written, however many frames arrive meanwhile.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver_shim.h"
#include "mac_rx.h"
#include "run_output.h"

namespace ov2 {
namespace {

TEST(LatencyBins, TableEqualsLogAroundEveryBinBoundary) {
    size_t boundaries = 0;
    for (size_t b = 1; b < RunCounts::kLatencyBins; ++b) {
        const uint64_t guess = uint64_t(std::ceil(1000.0 * std::pow(1.01, double(b))));
        for (uint64_t ps = guess > 40 ? guess - 40 : 0; ps < guess + 40; ++ps) {
            ASSERT_EQ(RunCounts::latency_bin(ps), RunCounts::latency_bin_by_log(ps)) << ps << " ps";
            boundaries += RunCounts::latency_bin_by_log(ps) != RunCounts::latency_bin_by_log(ps + 1);
        }
    }
    EXPECT_GE(boundaries, RunCounts::kLatencyBins - 1);  // every boundary was inside a window checked
}

TEST(LatencyBins, TableEqualsLogOnRandomLatencies) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200000; ++i) {
        const unsigned bits = unsigned(rng() % 64);
        const uint64_t ps = bits ? rng() >> (64 - bits) : 0;
        ASSERT_EQ(RunCounts::latency_bin(ps), RunCounts::latency_bin_by_log(ps)) << ps << " ps";
    }
    for (uint64_t ps : {uint64_t(0), uint64_t(999), uint64_t(1000), uint64_t(1010), UINT64_MAX})
        EXPECT_EQ(RunCounts::latency_bin(ps), RunCounts::latency_bin_by_log(ps)) << ps << " ps";
    EXPECT_EQ(RunCounts::latency_bin(UINT64_MAX), RunCounts::kLatencyBins - 1);
}

RxPacket arriving(uint32_t frame) {
    RxPacket pkt;
    pkt.reset(frame);
    pkt.data.assign(64, 0);
    pkt.wire_start_ps = uint64_t(frame) * 1000;
    pkt.wire_end_ps = pkt.wire_start_ps + 500;
    return pkt;
}

void indicate(RunOutput& out, uint32_t frame, uint64_t at_ps) {
    Indication ind;
    ind.frame = frame;
    ind.length = 0;
    Completion cpl;
    out.indicated(IndicationEvent{ind, cpl, StackVerdict::NotIpsec, at_ps});
}

// The lines of `wanted` frames, parsed; `count` gets the number of lines.
std::map<uint32_t, nlohmann::json> lines_of(const std::string& path, const std::vector<uint32_t>& wanted,
                                            size_t& count) {
    std::map<uint32_t, nlohmann::json> lines;
    std::ifstream in(path);
    count = 0;
    for (std::string line; std::getline(in, line); ++count) {
        const uint32_t frame = uint32_t(std::stoul(line.substr(line.find(':') + 1)));  // {"frame":N,...
        if (std::find(wanted.begin(), wanted.end(), frame) != wanted.end())
            lines[frame] = nlohmann::json::parse(line);
    }
    return lines;
}

// A slow host holds a few frames while the MAC drops far more than the time ring's 65 536 slots of later
// ones (rx_missed): the held frames' lines still carry their own wire and completion times.
TEST(RunOutputTimes, FramesHeldPastTheRingKeepTheirTimes) {
    const std::string dir = (std::filesystem::temp_directory_path() / "ov2_run_output_times").string();
    std::filesystem::remove_all(dir);
    const std::vector<uint32_t> held = {3, 7, 65539, 65543, 70000};  // 3 and 65539 share a slot, as do 7 and 65543
    const uint32_t frames = 3 * 65536;
    {
        RunOutput out(dir);
        for (uint32_t f = 1; f <= frames; ++f) {
            const RxPacket pkt = arriving(f);
            out.frame_arrived(pkt);
            if (std::find(held.begin(), held.end(), f) == held.end()) out.dropped(pkt, MacDrop::Missed);
        }
        for (uint32_t f : held) out.completion_written(f, uint64_t(f) * 1000 + 900);
        for (uint32_t f : held) indicate(out, f, uint64_t(frames) * 1000 + f);
        EXPECT_EQ(out.counts().latency_count, held.size());
        out.close();
    }
    std::vector<uint32_t> wanted = held;
    for (uint32_t f : {1u, 65537u, 131073u, 196608u}) wanted.push_back(f);
    size_t count = 0;
    const auto lines = lines_of(dir + "/oob.jsonl", wanted, count);
    ASSERT_EQ(count, frames);
    ASSERT_EQ(lines.size(), wanted.size());
    for (uint32_t f : held) {
        const nlohmann::json& j = lines.at(f);
        EXPECT_TRUE(j["indicated"].get<bool>()) << f;
        EXPECT_EQ(j["wire_start_ps"].get<uint64_t>(), uint64_t(f) * 1000) << f;
        EXPECT_EQ(j["wire_end_ps"].get<uint64_t>(), uint64_t(f) * 1000 + 500) << f;
        EXPECT_EQ(j["completion_ps"].get<uint64_t>(), uint64_t(f) * 1000 + 900) << f;
    }
    for (uint32_t f : {1u, 65537u, 131073u, 196608u})
        EXPECT_EQ(lines.at(f)["wire_start_ps"].get<uint64_t>(), uint64_t(f) * 1000) << f;
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ov2
