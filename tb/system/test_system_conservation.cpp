// End to end: every input frame leaves exactly one oob.jsonl line, runs are deterministic, and the per-frame
// times are ordered the way the pipeline orders them.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "system_util.h"

using namespace systest;

namespace {

// Random frames of 1..2000 bytes. A third are made to look like IPv4/IPv6 ESP towards an SA of the default
// scenario (SPI 0xd1129e71, dst 192.0.2.10) so the parser, the CAM and the crypto engine see garbage too.
std::vector<Bytes> garbage_frames(uint32_t seed, size_t n) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> len_dist(1, 2000), byte(0, 255), kind(0, 5);
    std::vector<Bytes> frames;
    for (size_t i = 0; i < n; ++i) {
        Bytes f(size_t(len_dist(rng)));
        for (uint8_t& b : f) b = uint8_t(byte(rng));
        const int k = kind(rng);
        if (k <= 1 && f.size() >= 42) {  // IPv4 | ESP
            f[12] = 0x08, f[13] = 0x00, f[14] = 0x45, f[23] = 50;
            const Bytes dst = ip4("192.0.2.10");
            std::copy(dst.begin(), dst.end(), f.begin() + 30);
            const uint8_t spi[4] = {0xd1, 0x12, 0x9e, 0x71};
            std::copy(spi, spi + 4, f.begin() + 34);
            if (k == 1) {  // a plausible total length
                const size_t total = f.size() - 14;
                f[16] = uint8_t(total >> 8), f[17] = uint8_t(total);
            }
        } else if (k == 2 && f.size() >= 62) {  // IPv6 | ESP
            f[12] = 0x86, f[13] = 0xDD, f[14] = 0x60, f[20] = 50;
        }
        frames.push_back(std::move(f));
    }
    return frames;
}

void expect_conserved(const std::string& pcap, const std::string& out, size_t frames) {
    const std::vector<json> lines = read_jsonl(out + "/oob.jsonl");
    EXPECT_EQ(lines.size(), frames) << "one oob.jsonl line per input frame";
    by_frame(lines, frames);  // each of 1..N exactly once
    size_t indicated = 0;
    for (const json& l : lines) indicated += l.at("indicated").get<bool>();
    EXPECT_EQ(pcap_records(out + "/indicated.pcap"), indicated) << "indicated.pcap records == indicated lines";
    const json stats = read_json(out + "/stats.json");
    EXPECT_EQ(stats["run"]["frames_in"].get<size_t>(), frames);
    EXPECT_EQ(stats["run"]["oob_lines"].get<size_t>(), frames);
    EXPECT_EQ(stats["run"]["indicated"].get<size_t>() + stats["run"]["dropped"].get<size_t>(), frames);
    EXPECT_EQ(pcap_records(pcap), frames);
}

}  // namespace

TEST(Conservation, DefaultScenarioOneLinePerFrame) {
    const std::string dir = scratch_dir(), pcap = default_scenario() + "/frames.pcap";
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    expect_conserved(pcap, dir + "/out", 44);
}

TEST(Conservation, RandomGarbageFramesOneLinePerFrame) {
    const std::string dir = scratch_dir(), pcap = dir + "/garbage.pcap";
    const size_t n = 400;
    write_pcap(pcap, garbage_frames(0x0F2D5EED, n));
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_conserved(pcap, dir + "/out", n);
    // without --fcs nothing is dropped: every frame is indicated, unchanged in length
    const std::vector<json> frames = by_frame(read_jsonl(dir + "/out/oob.jsonl"), n);
    const std::vector<Bytes> input = read_pcap(pcap);
    std::set<std::string> reasons;
    for (size_t f = 1; f <= n; ++f) {
        EXPECT_TRUE(frames[f]["indicated"].get<bool>()) << f;
        EXPECT_EQ(frames[f]["length"].get<size_t>(), input[f - 1].size()) << f;
        reasons.insert(frames[f]["nic_reason"].get<std::string>());
    }
    EXPECT_TRUE(reasons.count("processed") || reasons.count("malformed")) << "the ESP-looking frames reached the CAM";
}

TEST(Conservation, RandomGarbageWithFcsCheckingDropsSomeAndStillConserves) {
    const std::string dir = scratch_dir(), pcap = dir + "/garbage_fcs.pcap";
    const size_t n = 300;
    std::vector<Bytes> frames = garbage_frames(0x5EED0F2D, n);
    for (size_t i = 0; i < n; i += 2) frames[i] = with_fcs(frames[i]);  // half carry a correct FCS
    write_pcap(pcap, frames);
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out", {"--fcs"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_conserved(pcap, dir + "/out", n);
    const std::vector<json> lines = read_jsonl(dir + "/out/oob.jsonl");
    size_t indicated = 0;
    for (const json& l : lines) indicated += l["indicated"].get<bool>();
    EXPECT_GT(indicated, n / 3) << "frames with a correct FCS of 64 bytes or more pass";
    EXPECT_LT(indicated, n / 2 + 1) << "random FCS values do not pass";
}

TEST(Determinism, TwoRunsOfTheDefaultScenarioAreByteIdentical) {
    const std::string dir = scratch_dir(), sc = default_scenario();
    const RunResult a = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/a");
    const RunResult b = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/b");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const std::string oa = read_file(dir + "/a/oob.jsonl"), ob = read_file(dir + "/b/oob.jsonl");
    EXPECT_FALSE(oa.empty());
    EXPECT_TRUE(oa == ob) << "oob.jsonl differs between two identical runs";
    EXPECT_TRUE(read_file(dir + "/a/indicated.pcap") == read_file(dir + "/b/indicated.pcap"));
    // stats.json too, apart from the wall-clock figures
    json sa = read_json(dir + "/a/stats.json"), sb = read_json(dir + "/b/stats.json");
    for (json* s : {&sa, &sb}) {
        (*s)["run"].erase("wall_seconds");
        (*s)["run"].erase("frames_per_wall_second");
        (*s)["run"].erase("sa_file");
        (*s)["run"].erase("pcap");
    }
    EXPECT_EQ(sa, sb);
}

namespace {

void expect_ordered_times(const std::string& oob, size_t n) {
    const std::vector<json> frames = by_frame(read_jsonl(oob), n);
    uint64_t prev_end = 0;
    for (size_t f = 1; f <= n; ++f) {
        const json& l = frames[f];
        if (l.is_null()) continue;
        const uint64_t ws = l["wire_start_ps"].get<uint64_t>(), we = l["wire_end_ps"].get<uint64_t>();
        EXPECT_LT(ws, we) << "frame " << f;
        if (f > 1) {
            EXPECT_GT(we, prev_end) << "frame " << f << " ends on the wire before frame " << f - 1;
            EXPECT_GE(ws, prev_end) << "frame " << f << " overlaps frame " << f - 1 << " on the wire";
        }
        prev_end = we;
        if (!l["indicated"].get<bool>()) {
            EXPECT_TRUE(l["completion_ps"].is_null()) << f;
            EXPECT_TRUE(l["indication_ps"].is_null()) << f;
            continue;
        }
        const uint64_t c = l["completion_ps"].get<uint64_t>(), i = l["indication_ps"].get<uint64_t>();
        EXPECT_LE(we, c) << "frame " << f << ": completion before the last bit arrived";
        EXPECT_LE(c, i) << "frame " << f << ": indicated before its completion was written";
    }
}

}  // namespace

TEST(Times, DefaultScenarioTimesAreOrdered) {
    const std::string dir = scratch_dir(), sc = default_scenario();
    const RunResult r = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_ordered_times(dir + "/out/oob.jsonl", 44);
}

TEST(Times, BackPressuredGarbageRunTimesAreOrdered) {
    // Many frames at line rate with slow host handling: the rings fill, writeback stalls, times stay ordered.
    const std::string dir = scratch_dir(), pcap = dir + "/garbage.pcap";
    const size_t n = 300;
    std::vector<Bytes> frames = garbage_frames(0xABCDEF, n);
    for (size_t i = 0; i < n; i += 3) frames[i] = with_fcs(frames[i]);
    write_pcap(pcap, frames);
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out",
                                {"--fcs", "--set", "host_per_packet_ns=400", "--set", "rx_ring_entries=16",
                                 "--set", "cpl_ring_entries=8"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_ordered_times(dir + "/out/oob.jsonl", n);
    const json stats = read_json(dir + "/out/stats.json");
    EXPECT_GT(stats["desc_wb"]["stalled_no_buffer_us"].get<double>() + stats["desc_wb"]["stalled_cpl_full_us"].get<double>(),
              0.0)
        << "the small rings should have back-pressured the device";
}
