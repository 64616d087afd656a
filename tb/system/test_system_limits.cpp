// End to end at the edges of the configuration: ring and buffer sizes, the bus payload size, and captures
// that cut frames. A setting is either refused up front (exit 2, one "ov2sim: error:" line naming it) or
// the run is correct; it must never run and produce wrong output or die with an internal error.
#include <gtest/gtest.h>

#include <algorithm>

#include "system_util.h"

using namespace systest;

namespace {

std::vector<json> baseline(const std::string& dir) {
    const std::string sc = default_scenario();
    const RunResult r = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/base");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return by_frame(read_jsonl(dir + "/base/oob.jsonl"), kDefaultScenarioFrames);
}

// Refused with a one-line error naming `name`, or run correctly: every frame once, same results as `base`.
void expect_refused_or_correct(const std::string& dir, const std::string& setting, const std::string& name,
                               const std::vector<json>& base) {
    const std::string sc = default_scenario(), out = dir + "/" + name;
    const RunResult r = run_sim(sc + "/frames.pcap", sc + "/sa.json", out, {"--set", setting});
    if (r.exit_code == 2) {
        const std::vector<std::string> lines = r.err_lines();
        ASSERT_EQ(lines.size(), 1u) << r.err;
        EXPECT_EQ(lines[0].rfind("ov2sim: error: ", 0), 0u) << lines[0];
        EXPECT_NE(lines[0].find(name), std::string::npos) << lines[0];
        EXPECT_NE(lines[0].find("expected"), std::string::npos) << lines[0];
        return;
    }
    ASSERT_EQ(r.exit_code, 0) << setting << " neither refused (exit 2) nor run correctly:\n" << r.err;
    const std::vector<json> run = by_frame(read_jsonl(out + "/oob.jsonl"), kDefaultScenarioFrames);
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f)
        EXPECT_EQ(crypto_fields(run[f]), crypto_fields(base[f])) << setting << ": frame " << f;
}

}  // namespace

TEST(Limits, RingsOfTwoEntriesStillWork) {
    // One slot of each ring stays empty (head == tail means empty): two entries are the smallest usable ring.
    const std::string dir = scratch_dir();
    const std::vector<json> base = baseline(dir);
    expect_refused_or_correct(dir, "rx_ring_entries=2", "rx_ring_entries", base);
    expect_refused_or_correct(dir, "cpl_ring_entries=2", "cpl_ring_entries", base);
    expect_refused_or_correct(dir, "desc_prefetch=1", "desc_prefetch", base);
    expect_refused_or_correct(dir, "stage_fifo_depth=1", "stage_fifo_depth", base);
    expect_refused_or_correct(dir, "crypto_lanes=1", "crypto_lanes", base);
}

TEST(Limits, RingOfOneEntryIsRefused) {
    // Was a model bug: TimingParams::validate() accepted rx_ring_entries=1 and cpl_ring_entries=1, but both rings keep
    // one slot empty, so a one-entry ring never has a usable slot: desc_wb stalls for ever, sc_start() returns
    // with the frames stuck, and ov2sim exits 1 with "ov2sim: internal error: conservation violated: 44 frames
    // entered, 0 left the system" and an empty oob.jsonl. Expected: refused up front like other impossible
    // values (exit 2, "... rx_ring_entries ...; expected at least 2").
    // Repro: ov2sim run --pcap tb/scenarios/default/frames.pcap --sa tb/scenarios/default/sa.json --out /tmp/o
    //        --set rx_ring_entries=1      (same with cpl_ring_entries=1)
    const std::string dir = scratch_dir();
    const std::vector<json> base = baseline(dir);
    expect_refused_or_correct(dir, "rx_ring_entries=1", "rx_ring_entries", base);
    expect_refused_or_correct(dir, "cpl_ring_entries=1", "cpl_ring_entries", base);
}

TEST(Limits, BusPayloadSmallerThanACompletionRecord) {
    // Was a model bug: DescWb::write_completion() writes the 32-byte record as one 31-byte DMA write plus the done
    // byte, without splitting at bus_max_payload_bytes (write_frame() does split). With
    // --set bus_max_payload_bytes=16 (any value 1..30, all accepted by validate()) the bus refuses every
    // record write with TLM_BURST_ERROR (stats desc_wb.dma_errors 44) while the 1-byte done write lands, so
    // the driver indicates all-zero records: every oob.jsonl line reads "frame":0, "length":0,
    // "crypto_done":0, "nic_reason":"processed", indicated.pcap holds 44 empty frames, and the exit code is 0.
    // Expected: split the record (or refuse values below 32 up front).
    const std::string dir = scratch_dir();
    const std::vector<json> base = baseline(dir);
    expect_refused_or_correct(dir, "bus_max_payload_bytes=16", "bus_max_payload_bytes", base);
    expect_refused_or_correct(dir, "bus_max_payload_bytes=4", "bus_max_payload_bytes", base);
}

TEST(Limits, BusPayloadOf32BytesSplitsFramesAndKeepsResults) {
    const std::string dir = scratch_dir();
    const std::vector<json> base = baseline(dir);
    expect_refused_or_correct(dir, "bus_max_payload_bytes=32", "bus_max_payload_bytes", base);
    EXPECT_TRUE(read_file(dir + "/base/indicated.pcap") == read_file(dir + "/bus_max_payload_bytes/indicated.pcap"))
        << "the frames written in 32-byte pieces differ from the ones written in 256-byte pieces";
}

TEST(Limits, SmallReceiveBuffersCutFramesAndFlagThem) {
    const std::string dir = scratch_dir(), sc = default_scenario();
    const RunResult r = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/out", {"--set", "rx_buffer_bytes=64"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<Bytes> input = read_pcap(sc + "/frames.pcap");
    const std::vector<json> oob = by_frame(read_jsonl(dir + "/out/oob.jsonl"), kDefaultScenarioFrames);
    size_t cut = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        const size_t len = input[f - 1].size();
        EXPECT_TRUE(oob[f]["indicated"].get<bool>()) << f;
        EXPECT_EQ(oob[f]["length"].get<size_t>(), std::min<size_t>(len, 64)) << f;
        EXPECT_EQ(oob[f]["truncated"].get<bool>(), len > 64) << f;
        cut += len > 64;
    }
    EXPECT_GT(cut, 30u);
    const json stats = read_json(dir + "/out/stats.json");
    EXPECT_EQ(stats["desc_wb"]["truncated"].get<size_t>(), cut);
    for (const Bytes& b : read_pcap(dir + "/out/indicated.pcap")) EXPECT_LE(b.size(), 64u);
}

TEST(Limits, CaptureThatCutFramesDropsThemAndCountsThem) {
    // A capture with a snap length keeps fewer bytes than the wire carried: the model cannot know the rest.
    const std::string dir = scratch_dir();
    const std::vector<Bytes> def = read_pcap(default_scenario() + "/frames.pcap");
    const std::vector<Bytes> frames = {def[1], Bytes(def[13].begin(), def[13].begin() + 60), def[13], def[4]};
    write_pcap(dir + "/cut.pcap", frames, 1, {0, uint32_t(def[13].size()), 0, 0});
    const RunResult r = run_sim(dir + "/cut.pcap", default_scenario() + "/sa.json", dir + "/out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> oob = by_frame(read_jsonl(dir + "/out/oob.jsonl"), frames.size());
    EXPECT_FALSE(oob[2]["indicated"].get<bool>());
    EXPECT_EQ(oob[2]["drop_reason"], "capture_truncated");
    for (size_t f : {1, 3, 4}) EXPECT_TRUE(oob[f]["indicated"].get<bool>()) << f;
    EXPECT_EQ(oob[3]["crypto_done"], 1) << "the complete copy of the frame is processed";
    EXPECT_EQ(read_json(dir + "/out/stats.json")["mac"]["rx_capture_truncated"], 1);
    EXPECT_EQ(pcap_records(dir + "/out/indicated.pcap"), 3u);
}
