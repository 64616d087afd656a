// Fast mode against cycle mode under load: synthetic traffic at line rate (64 B and 1500 B payloads),
// paced, and back-pressure cases that make the MAC drop frames (rx_missed). Each case runs
// fast_mode_traffic in both modes and requires, frame by frame, the same oob.jsonl fields and per-frame
// times within kTimeBoundPs, and the same stats.json counters (docs/timing.md, "Fast mode").
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pcap_io.h"

namespace {

using nlohmann::json;

// The largest difference allowed between the modes' completion and indication times of a frame. The fast
// mode computes the cycle mode's times exactly (docs/timing.md): zero.
constexpr int64_t kTimeBoundPs = 0;
constexpr uint32_t kFrames = 20000;

const char* const kTimes[] = {"wire_start_ps", "wire_end_ps", "completion_ps", "indication_ps"};

struct ModeRun {
    std::map<uint64_t, json> lines;  // by frame
    json stats;
};

std::string scratch(const std::string& name) {
    const std::string dir = std::string(OV2_BINARY_DIR) + "/tb_fast_mode_tmp/" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
    std::system(("rm -rf '" + dir + "'").c_str());
    return dir;
}

ModeRun run_mode(const std::string& mode, const std::string& args, const std::string& name) {
    const std::string dir = scratch(name);
    const std::string cmd = std::string("'") + OV2_TRAFFIC + "' --mode " + mode + " --out '" + dir + "' --frames " +
                            std::to_string(kFrames) + " " + args;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ModeRun r;
    std::ifstream oob(dir + "/oob.jsonl");
    for (std::string line; std::getline(oob, line);) {
        json j = json::parse(line);
        const uint64_t frame = j["frame"].get<uint64_t>();
        r.lines[frame] = std::move(j);
    }
    std::ifstream stats(dir + "/stats.json");
    if (stats) r.stats = json::parse(stats);
    return r;
}

// Counters of stats.json (the wall clock and the mode itself left out).
void flat_counters(const json& j, const std::string& prefix, std::map<std::string, json>& out) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string key = prefix + "/" + it.key();
        if (it->is_object()) flat_counters(*it, key, out);
        else if (key != "/run/wall_seconds" && key != "/run/frames_per_wall_second" && key != "/run/mode")
            out[key] = *it;
    }
}

struct Comparison {
    std::vector<std::string> problems;
    int64_t worst_ps = 0;
};

Comparison compare(const ModeRun& cycle, const ModeRun& fast) {
    Comparison c;
    if (cycle.lines.size() != fast.lines.size())
        c.problems.push_back("lines: cycle " + std::to_string(cycle.lines.size()) + ", fast " +
                             std::to_string(fast.lines.size()));
    for (const auto& [frame, a] : cycle.lines) {
        auto it = fast.lines.find(frame);
        if (it == fast.lines.end()) {
            c.problems.push_back("frame " + std::to_string(frame) + " missing in fast mode");
            continue;
        }
        json fa = a, fb = it->second;
        for (const char* t : kTimes) {
            const json &ta = a[t], &tb = it->second[t];
            fa.erase(t);
            fb.erase(t);
            if (ta.is_null() != tb.is_null()) {
                c.problems.push_back("frame " + std::to_string(frame) + ": " + t + " null in one mode");
                continue;
            }
            if (ta.is_null()) continue;
            const int64_t d = std::llabs(ta.get<int64_t>() - tb.get<int64_t>());
            c.worst_ps = std::max(c.worst_ps, d);
            if (d > kTimeBoundPs)
                c.problems.push_back("frame " + std::to_string(frame) + ": " + t + " cycle " + ta.dump() + " fast " +
                                     tb.dump());
        }
        if (fa != fb)
            c.problems.push_back("frame " + std::to_string(frame) + ": cycle " + fa.dump() + " fast " + fb.dump());
    }
    std::map<std::string, json> sa, sb;
    flat_counters(cycle.stats, "", sa);
    flat_counters(fast.stats, "", sb);
    for (const auto& [key, v] : sa)
        if (sb.count(key) && sb[key] != v) c.problems.push_back("stats " + key + ": cycle " + v.dump() + " fast " + sb[key].dump());
    return c;
}

uint64_t stat(const ModeRun& r, const char* group, const char* key) { return r.stats[group][key].get<uint64_t>(); }

// Both modes on the same traffic; returns the cycle mode's run for further checks.
ModeRun expect_same(const std::string& args, const std::string& fast_extra = "") {
    const ModeRun cycle = run_mode("cycle", args, "cycle");
    const ModeRun fast = run_mode("fast", args + " " + fast_extra, "fast");
    EXPECT_EQ(cycle.lines.size(), kFrames);
    const Comparison c = compare(cycle, fast);
    std::string shown;
    for (size_t i = 0; i < c.problems.size() && i < 10; ++i) shown += "\n  " + c.problems[i];
    EXPECT_TRUE(c.problems.empty()) << c.problems.size() << " differences, largest time difference " << c.worst_ps
                                    << " ps:" << shown;
    ::testing::Test::RecordProperty("largest_time_difference_ps", std::to_string(c.worst_ps));
    return cycle;
}

// Every frame decrypted and verified (the comparison would not notice a mode that skips nothing).
void expect_all_decrypted(const ModeRun& r) {
    uint64_t ok = 0;
    for (const auto& [frame, j] : r.lines)
        ok += j["indicated"].get<bool>() && j["crypto_done"] == 1 && j["crypto_status"] == 0 &&
              j["stack_verdict"] == "accepted";
    EXPECT_EQ(ok, r.lines.size() - stat(r, "mac", "rx_missed"));
}

TEST(FastModeLoad, LineRate64B) {
    const ModeRun r = expect_same("--payload 64");
    expect_all_decrypted(r);
    EXPECT_EQ(stat(r, "mac", "rx_missed"), 0u);
}

TEST(FastModeLoad, LineRate1500B) {
    const ModeRun r = expect_same("--payload 1500");
    expect_all_decrypted(r);
}

TEST(FastModeLoad, AuthFailuresAmongThem1500B) { expect_same("--payload 1500 --corrupt-every 7"); }

TEST(FastModeLoad, Paced512BAt50Gbps) { expect_all_decrypted(expect_same("--payload 512 --offered 50")); }

TEST(FastModeLoad, CbcHmacOver50Sas) {
    expect_all_decrypted(expect_same("--algorithm aes-cbc-128-sha1 --payload 64 --sas 50"));
}

// The host gives buffers back too slowly: the MAC's FIFO fills and frames are missed.
TEST(FastModeBackPressure, FewBuffersSlowHost64B) {
    const ModeRun r = expect_same("--payload 64 --set rx_ring_entries=64 --set host_per_packet_ns=200");
    EXPECT_GT(stat(r, "mac", "rx_missed"), 0u);
    EXPECT_GT(r.stats["desc_wb"]["stalled_no_buffer_us"].get<double>(), 0.0);
}

TEST(FastModeBackPressure, SlowHost1500B) {
    const ModeRun r = expect_same("--payload 1500 --set host_per_packet_ns=300");
    EXPECT_GT(stat(r, "mac", "rx_missed"), 0u);
}

TEST(FastModeBackPressure, CompletionRingFull) {
    const ModeRun r = expect_same("--payload 64 --set cpl_ring_entries=32 --set wb_batch_max=4");
    EXPECT_GT(stat(r, "mac", "rx_missed"), 0u);
    EXPECT_GT(r.stats["desc_wb"]["stalled_cpl_full_us"].get<double>(), 0.0);
}

TEST(FastModeBackPressure, OneSlowCryptoLaneSmallFifo) {
    const ModeRun r = expect_same("--payload 64 --set mac_fifo_bytes=4096 --set crypto_lanes=1 "
                              "--set crypto_gcm_bytes_per_cycle=1");
    EXPECT_GT(stat(r, "mac", "rx_missed"), 0u);
}

// The comparison itself: a fast run with another host time per packet, or without ESP offload, must show
// up as differences (times, then functional fields).
TEST(FastModeComparison, SeesATimingDifference) {
    const ModeRun cycle = run_mode("cycle", "--payload 64", "cycle");
    const ModeRun fast = run_mode("fast", "--payload 64 --set host_per_packet_ns=6", "fast");
    const Comparison c = compare(cycle, fast);
    EXPECT_FALSE(c.problems.empty());
    EXPECT_GT(c.worst_ps, kTimeBoundPs);
}

TEST(FastModeComparison, SeesAFunctionalDifference) {
    const ModeRun cycle = run_mode("cycle", "--payload 64", "cycle");
    const ModeRun fast = run_mode("fast", "--payload 64 --set caps.esp=false", "fast");
    const Comparison c = compare(cycle, fast);
    const bool seen = std::any_of(c.problems.begin(), c.problems.end(), [](const std::string& p) {
        return p.find("\"crypto_done\":1") != std::string::npos;
    });
    EXPECT_TRUE(seen) << c.problems.size() << " differences, none in crypto_done";
}

// ---- a frame failing authentication is indicated as it was received ------------------------------------

std::vector<std::vector<uint8_t>> read_frames(const std::string& path) {
    std::vector<std::vector<uint8_t>> out;
    ov2::PcapReader reader(path);
    for (ov2::Frame f; reader.next(f);) out.push_back(f.bytes);
    return out;
}

// Every 7th frame with its ICV's last byte flipped, in one mode. Frames that fail authentication must reach
// host memory (indicated.pcap holds the buffer as indicated) byte for byte as on the wire: the crypto
// engine decrypts GCM in place and must put a failed frame back. The others arrive decrypted.
void expect_failed_frames_as_received(const std::string& mode, uint32_t payload) {
    const std::string dir = scratch(mode);
    const uint32_t frames = 700;
    const std::string cmd = std::string("'") + OV2_TRAFFIC + "' --mode " + mode + " --out '" + dir +
                            "' --frames " + std::to_string(frames) + " --payload " + std::to_string(payload) +
                            " --corrupt-every 7 --wire-pcap '" + dir + "/wire.pcap'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto wire = read_frames(dir + "/wire.pcap");
    const auto indicated = read_frames(dir + "/indicated.pcap");
    ASSERT_EQ(wire.size(), frames);
    std::ifstream oob(dir + "/oob.jsonl");
    size_t next_indicated = 0, failed = 0, decrypted = 0;
    for (std::string line; std::getline(oob, line);) {  // indication order, as indicated.pcap
        const json j = json::parse(line);
        if (!j["indicated"].get<bool>()) continue;
        ASSERT_LT(next_indicated, indicated.size());
        const std::vector<uint8_t>& got = indicated[next_indicated++];
        const uint64_t frame = j["frame"].get<uint64_t>();
        const std::vector<uint8_t>& sent = wire.at(frame - 1);
        if (frame % 7 == 0) {
            ASSERT_EQ(j["crypto_status_name"], "CRYPTO_TRANSPORT_ESP_AUTH_FAILED") << "frame " << frame;
            ASSERT_EQ(got, sent) << mode << ": failed frame " << frame << " is not as received";
            ++failed;
        } else {
            ASSERT_EQ(j["crypto_status"], 0) << "frame " << frame;
            ASSERT_EQ(got.size(), sent.size());
            ASSERT_NE(got, sent) << "frame " << frame << " was not decrypted";
            ++decrypted;
        }
    }
    EXPECT_EQ(next_indicated, indicated.size());
    EXPECT_GT(failed, frames / 7 / 2);
    EXPECT_GT(decrypted, failed);
}

TEST(FastModeAuthFailure, FailedFrameIndicatedAsReceived1500BFast) { expect_failed_frames_as_received("fast", 1500); }
TEST(FastModeAuthFailure, FailedFrameIndicatedAsReceived1500BCycle) { expect_failed_frames_as_received("cycle", 1500); }
TEST(FastModeAuthFailure, FailedFrameIndicatedAsReceived64BFast) { expect_failed_frames_as_received("fast", 64); }
TEST(FastModeAuthFailure, FailedFrameIndicatedAsReceived64BCycle) { expect_failed_frames_as_received("cycle", 64); }

}  // namespace

