// `--rtl` (docs/rtl.md, "Swap-in"): the whole system with the Verilated CAM, parser and/or completion
// encoder must write the same oob.jsonl, byte for byte (every field, every time stamp), and the same
// stats.json counters as the pure SystemC model, on every scenario under tb/scenarios. And the checks can
// fail: the comparison sees a changed setting, and a bridge counts a planted disagreement.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include "ov2_top.h"
#include "run_output.h"
#include "run_report.h"
#include "system_util.h"
#include "traffic_gen.h"

using namespace systest;
namespace fs = std::filesystem;

namespace {

struct Scenario {
    std::string name, pcap, sa;
};

// Every scenario folder of `suite` (a folder below tb/scenarios) with a capture and an SA file.
std::vector<Scenario> scenarios(const std::string& suite) {
    std::vector<Scenario> out;
    const fs::path root = fs::path(OV2_SOURCE_DIR) / "tb" / "scenarios";
    for (const auto& d : fs::recursive_directory_iterator(root / suite)) {
        if (!d.is_regular_file() || d.path().filename() != "frames.pcap") continue;
        const fs::path dir = d.path().parent_path();
        const fs::path sa = fs::exists(dir / "sa.json") ? dir / "sa.json" : dir / "sa.xfrm";
        if (fs::exists(sa)) out.push_back({fs::relative(dir, root).string(), d.path().string(), sa.string()});
    }
    std::sort(out.begin(), out.end(), [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
    return out;
}

// stats.json without what only measures the host (wall time) or exists only with --rtl.
json comparable_stats(json s) {
    s["run"].erase("wall_seconds");
    s["run"].erase("frames_per_wall_second");
    s.erase("rtl");
    return s;
}

// What differs between two runs' outputs ("" = nothing): oob.jsonl byte for byte, then stats.json.
std::string differences(const std::string& a, const std::string& b) {
    const std::string oob_a = read_file(a + "/oob.jsonl"), oob_b = read_file(b + "/oob.jsonl");
    if (oob_a != oob_b) {
        const std::vector<std::string> la = split_lines(oob_a), lb = split_lines(oob_b);
        for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i)
            if (i >= la.size() || i >= lb.size() || la[i] != lb[i])
                return "oob.jsonl line " + std::to_string(i + 1) + ": " + (i < la.size() ? la[i] : "(none)") +
                       " vs " + (i < lb.size() ? lb[i] : "(none)");
    }
    const json sa = comparable_stats(read_json(a + "/stats.json")), sb = comparable_stats(read_json(b + "/stats.json"));
    if (sa != sb) return "stats.json: " + json::diff(sa, sb).dump();
    return "";
}

// Runs each scenario of `suite` pure SystemC and with `--rtl blocks`; every difference fails the test.
void expect_same_with_rtl(const std::string& suite, const std::string& blocks) {
    const std::vector<Scenario> list = scenarios(suite);
    ASSERT_FALSE(list.empty()) << suite;
    const std::string dir = scratch_dir();
    uint64_t transfers = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        const Scenario& s = list[i];
        const std::string sc = dir + "/sc" + std::to_string(i), rtl = dir + "/rtl" + std::to_string(i);
        const RunResult a = run_sim(s.pcap, s.sa, sc);
        ASSERT_EQ(a.exit_code, 0) << s.name << ": " << a.err;
        const RunResult b = run_sim(s.pcap, s.sa, rtl, {"--rtl", blocks, "--rtl-xcheck"});
        ASSERT_EQ(b.exit_code, 0) << s.name << " --rtl " << blocks << ": " << b.err;
        EXPECT_EQ(differences(sc, rtl), "") << s.name << " --rtl " << blocks;
        const json r = read_json(rtl + "/stats.json")["rtl"];
        for (const char* block : {"cam", "parser", "wb"}) {
            if (!r.contains(block)) continue;
            EXPECT_EQ(r[block]["mismatches"], 0) << s.name << " " << block << ": " << r[block]["first_mismatch"];
            transfers += r[block]["transfers"].get<uint64_t>();
        }
    }
    EXPECT_GT(transfers, 0u) << "the RTL saw no traffic";
    ::testing::Test::RecordProperty("scenarios", std::to_string(list.size()));
}

}  // namespace

class RtlSwap : public ::testing::TestWithParam<std::string> {};

TEST_P(RtlSwap, DefaultScenarioSameAsSystemC) { expect_same_with_rtl("default", GetParam()); }
TEST_P(RtlSwap, ScapyScenarioSameAsSystemC) { expect_same_with_rtl("scapy_full", GetParam()); }
TEST_P(RtlSwap, PublishedVectorsSameAsSystemC) { expect_same_with_rtl("published", GetParam()); }
TEST_P(RtlSwap, LinuxCapturesSameAsSystemC) {
    for (const char* s : {"linux_ah_sha1_transport_v4", "linux_esp_cbc_sha1_esn_transport_v4",
                          "linux_esp_cbc_sha256_tunnel_v6", "linux_esp_gcm128_transport_v4",
                          "linux_esp_gcm128_udpencap_transport_v4", "linux_esp_gcm256_tunnel_v4",
                          "linux_unnameable_chacha_sha512"})
        expect_same_with_rtl(s, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Blocks, RtlSwap, ::testing::Values("cam", "wb", "cam,wb", "parser", "cam,parser,wb"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                             std::string n = p.param;
                             std::replace(n.begin(), n.end(), ',', '_');
                             return n;
                         });

// The comparison is not blind: a run with another MMIO latency differs from the default one.
TEST(RtlSwapCheck, ComparisonSeesAChangedSetting) {
    const std::string dir = scratch_dir();
    const std::string pcap = default_scenario() + "/frames.pcap", sa = default_scenario() + "/sa.json";
    ASSERT_EQ(run_sim(pcap, sa, dir + "/a", {"--rtl", "cam,wb"}).exit_code, 0);
    ASSERT_EQ(run_sim(pcap, sa, dir + "/b", {"--rtl", "cam,wb", "--set", "mmio_latency_ns=700"}).exit_code, 0);
    EXPECT_NE(differences(dir + "/a", dir + "/b"), "");
    EXPECT_EQ(differences(dir + "/a", dir + "/a"), "");
}

// ---- the bridges' own checks, in this process (one elaboration per test) ------------------------------

namespace {

ov2::TrafficSpec small_traffic() {
    ov2::TrafficSpec t;
    t.frames = 300;
    t.payload_bytes = 64;
    t.sas = 4;
    return t;
}

struct BridgeRun {
    ov2::RtlBridgeStats cam, parser, wb;
    std::string report;
    uint64_t indicated = 0, crypto_done = 0, success = 0, no_sa = 0;
};

struct Blocks {
    bool cam = false, parser = false, wb = false;
};

BridgeRun run_bridged(Blocks blocks, bool plant_fault, bool x_check = false,
                      const std::function<void(ov2::Rx2ParserBridge&)>& plant_parser = {},
                      ov2::Tlm2CamBridge::AnswerFault answer_fault = ov2::Tlm2CamBridge::AnswerFault::None) {
    ov2::TrafficGenerator gen(small_traffic());
    ov2::SimConfig config;
    config.rtl.cam = blocks.cam;
    config.rtl.parser = blocks.parser;
    config.rtl.wb = blocks.wb;
    config.rtl.x_check = x_check;
    ov2::RunOutput out{ov2::RunOutput::CountsOnly{}};
    ov2::Ov2System sys("ov2", config, gen, gen.sas(), &out);
    if (plant_fault && blocks.cam && x_check) sys.cam_rtl()->plant_shadow_fault();
    else if (plant_fault && blocks.cam) sys.cam_rtl()->plant_key_fault();
    if (plant_fault && blocks.wb) sys.wb_rtl()->plant_record_fault();
    if (plant_parser) plant_parser(*sys.parser_rtl());
    if (blocks.cam) sys.cam_rtl()->plant_answer_fault(answer_fault);
    sys.run();
    BridgeRun r;
    if (blocks.cam) r.cam = sys.cam_rtl()->stats();
    if (blocks.parser) r.parser = sys.parser_rtl()->stats();
    if (blocks.wb) r.wb = sys.wb_rtl()->stats();
    r.report = ov2::rtl_disagreements(sys);
    r.indicated = out.counts().indicated;
    r.crypto_done = out.counts().crypto_done;
    r.success = out.counts().status[size_t(ov2::CryptoStatus::Success)];
    r.no_sa = sys.rx_stats().unprocessed[size_t(ov2::NicReason::NoSa)];
    return r;
}

BridgeRun run_bridged(bool cam, bool wb, bool plant_fault, bool x_check = false) {
    return run_bridged(Blocks{cam, false, wb}, plant_fault, x_check);
}

}  // namespace

TEST(RtlBridge, CamAgreesWithTheTable) {
    const BridgeRun r = run_bridged(true, false, false);
    EXPECT_EQ(r.cam.mismatches, 0u) << r.cam.first_mismatch;
    EXPECT_GE(r.cam.transfers, 300u);  // every frame's lookup went through the RTL
    EXPECT_EQ(r.report, "");
    EXPECT_EQ(r.success, 300u);
    EXPECT_EQ(r.no_sa, 0u);
}

// The RTL's answers decide the frames: an RTL that gets every key with its SPI's lowest bit flipped
// answers with the neighbouring SA (the traffic's SPIs are consecutive), and every frame is checked with
// that SA's keys and fails, though the table names the right SA for each.
TEST(RtlBridge, CamDisagreementIsCountedAndTheRtlsAnswerDecides) {
    const BridgeRun r = run_bridged(true, false, true);
    EXPECT_GE(r.cam.mismatches, 300u);
    EXPECT_NE(r.cam.first_mismatch.find(": res_index"), std::string::npos) << r.cam.first_mismatch;
    EXPECT_NE(r.report.find("disagreements between the RTL and the SystemC model"), std::string::npos) << r.report;
    EXPECT_EQ(r.indicated, 300u);  // every frame is still indicated
    EXPECT_EQ(r.crypto_done, 300u);
    EXPECT_EQ(r.success, 0u);
    EXPECT_EQ(r.no_sa, 0u);
}

// An answer the RTL did not give by its result edge is a disagreement; the frame goes on with the table's
// answer (it must go on with some answer: every frame is indicated).
TEST(RtlBridge, CamAnswerMissingOnItsResultEdgeIsCounted) {
    const BridgeRun r = run_bridged(Blocks{true, false, false}, false, false, {},
                                    ov2::Tlm2CamBridge::AnswerFault::Lost);
    EXPECT_GE(r.cam.mismatches, 300u);
    EXPECT_NE(r.cam.first_mismatch.find("answer not there on its result edge"), std::string::npos)
        << r.cam.first_mismatch;
    EXPECT_NE(r.report.find("disagreements between the RTL and the SystemC model"), std::string::npos) << r.report;
    EXPECT_EQ(r.indicated, 300u);
    EXPECT_EQ(r.success, 300u);
}

// An RTL index beyond the table cannot name an SA: it is a disagreement, and the frame is taken as a miss.
TEST(RtlBridge, CamIndexBeyondTheTableIsCountedAndTakenAsAMiss) {
    const BridgeRun r = run_bridged(Blocks{true, false, false}, false, false, {},
                                    ov2::Tlm2CamBridge::AnswerFault::BeyondTable);
    EXPECT_GE(r.cam.mismatches, 300u);
    EXPECT_NE(r.cam.first_mismatch.find("beyond the table"), std::string::npos) << r.cam.first_mismatch;
    EXPECT_EQ(r.indicated, 300u);
    EXPECT_EQ(r.crypto_done, 0u);
    EXPECT_EQ(r.no_sa, 300u);
}

TEST(RtlBridge, WbAgreesWithCompletionEncode) {
    const BridgeRun r = run_bridged(false, true, false);
    EXPECT_EQ(r.wb.mismatches, 0u) << r.wb.first_mismatch;
    EXPECT_EQ(r.wb.transfers, 300u);
}

TEST(RtlBridge, WbDisagreementIsCountedAndReported) {
    const BridgeRun r = run_bridged(false, true, true);
    EXPECT_EQ(r.wb.mismatches, 300u);
    EXPECT_NE(r.wb.first_mismatch.find("cpl_record byte 18"), std::string::npos) << r.wb.first_mismatch;
    EXPECT_NE(r.report.find("--rtl: 300 disagreements"), std::string::npos) << r.report;
}

// The X check compares: a shadow instance that gets another key than the main one is reported; with the
// same inputs (the equality tests run with --rtl-xcheck) it agrees.
TEST(RtlBridge, XCheckReportsAShadowThatDiffers) {
    const BridgeRun r = run_bridged(true, false, true, true);
    EXPECT_GT(r.cam.mismatches, 0u);
    EXPECT_NE(r.cam.first_mismatch.find("shadow res data"), std::string::npos) << r.cam.first_mismatch;
}

TEST(RtlBridge, XCheckAgreesOnBothBlocks) {
    const BridgeRun r = run_bridged(true, true, false, true);
    EXPECT_EQ(r.cam.mismatches + r.wb.mismatches, 0u) << r.cam.first_mismatch << r.wb.first_mismatch;
    EXPECT_GE(r.cam.transfers, 300u);
}

// ---- the parser bridge -----------------------------------------------------------------------------------

TEST(RtlBridge, ParserAgreesWithParseFrame) {
    const BridgeRun r = run_bridged(Blocks{false, true, false}, false);
    EXPECT_EQ(r.parser.mismatches, 0u) << r.parser.first_mismatch;
    EXPECT_EQ(r.parser.transfers, 300u);  // every frame's record came from the RTL
    EXPECT_GE(r.parser.edges, 600u);      // at least the frame's beats and its result cycle
    EXPECT_EQ(r.crypto_done, 300u);
    EXPECT_EQ(r.report, "");
}

// The RTL's record is the one the pipeline runs on: with the SPI's top bit flipped in the bytes the RTL
// gets, its r_spi differs from parse_frame's (counted), and no frame finds its SA.
TEST(RtlBridge, ParserFieldDisagreementIsCountedAndDrivesThePipeline) {
    const BridgeRun r = run_bridged(Blocks{false, true, false}, false, false,
                                    [](ov2::Rx2ParserBridge& b) { b.plant_spi_fault(); });
    EXPECT_EQ(r.parser.mismatches, 300u);
    EXPECT_NE(r.parser.first_mismatch.find(": r_spi (frame "), std::string::npos) << r.parser.first_mismatch;
    EXPECT_NE(r.report.find("--rtl: 300 disagreements"), std::string::npos) << r.report;
    EXPECT_EQ(r.indicated, 300u);
    EXPECT_EQ(r.crypto_done, 0u);
    EXPECT_EQ(r.no_sa, 300u);
}

// The record's cycle is checked: with each frame's first beat one edge late, every record misses the cycle
// parser_timing gives (when the CAM stage reads it: the frame goes on without a parse, as not IP), and
// comes a cycle later.
TEST(RtlBridge, ParserRecordCycleIsChecked) {
    const BridgeRun r = run_bridged(Blocks{false, true, false}, false, false,
                                    [](ov2::Rx2ParserBridge& b) { b.plant_late_first_beat(); });
    EXPECT_EQ(r.parser.mismatches, 600u);  // missing in its cycle, then there a cycle later
    EXPECT_NE(r.parser.first_mismatch.find("r_valid (frame 1 record missing in the cycle parser_timing says)"),
              std::string::npos)
        << r.parser.first_mismatch;
    EXPECT_EQ(r.parser.transfers, 300u);
    EXPECT_EQ(r.indicated, 300u);
    EXPECT_EQ(r.crypto_done, 0u);
}

TEST(RtlBridge, ParserXCheckReportsAShadowThatDiffers) {
    const BridgeRun r = run_bridged(Blocks{false, true, false}, false, true,
                                    [](ov2::Rx2ParserBridge& b) { b.plant_shadow_fault(); });
    EXPECT_GT(r.parser.mismatches, 0u);
    EXPECT_NE(r.parser.first_mismatch.find("shadow r_*"), std::string::npos) << r.parser.first_mismatch;
}

TEST(RtlBridge, XCheckAgreesOnAllThreeBlocks) {
    const BridgeRun r = run_bridged(Blocks{true, true, true}, false, true);
    EXPECT_EQ(r.cam.mismatches + r.parser.mismatches + r.wb.mismatches, 0u)
        << r.cam.first_mismatch << r.parser.first_mismatch << r.wb.first_mismatch;
    EXPECT_EQ(r.parser.transfers, 300u);
    EXPECT_EQ(r.indicated, 300u);
}
