// `ov2sim run --vcd` on the default scenario: the VCD parses and holds every signal docs/waveforms.md
// documents (and nothing undocumented), the signals agree with oob.jsonl and stats.json, the GTKWave save
// file names the VCD and groups every signal by block, and tracing changes no result.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vcd_reader.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tracetest::read_text;
using tracetest::scratch_dir;
using tracetest::Vcd;
using tracetest::VcdVar;

const std::vector<std::string> kGroups = {"mac", "parser", "cam", "crypto", "desc_wb", "bus", "driver"};

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// ov2sim run on the default scenario, from directory `cwd`, output in cwd/OUT; extra args appended.
int run_default(const std::string& cwd, const std::string& out, const std::vector<std::string>& extra) {
    const std::string scenario = std::string(OV2_SOURCE_DIR) + "/tb/scenarios/default";
    std::string cmd = "cd " + quote(cwd) + " && SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 " +
                      quote(std::string(OV2_BINARY_DIR) + "/ov2sim") + " run --pcap " + quote(scenario + "/frames.pcap") +
                      " --sa " + quote(scenario + "/sa.json") + " --out " + quote(out);
    for (const std::string& a : extra) cmd += " " + quote(a);
    cmd += " >" + quote(cwd + "/" + out + ".stdout") + " 2>" + quote(cwd + "/" + out + ".stderr");
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<json> read_jsonl(const std::string& path) {
    std::vector<json> lines;
    std::istringstream in(read_text(path));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(json::parse(line));
    return lines;
}

// The signal names of docs/waveforms.md: the first column of its signal tables, `ov2.block.name`.
// `laneN` stands for every lane. The RTL blocks' pins (`ov2.cam_rtl.*`, ...) are only in a --rtl run.
std::vector<std::string> documented_signals(unsigned lanes, bool with_rtl = false) {
    const std::string doc = read_text(std::string(OV2_SOURCE_DIR) + "/docs/waveforms.md");
    std::vector<std::string> names;
    const std::regex row(R"(^\| `(ov2\.[a-zA-Z0-9_.]+)` \|)");
    std::istringstream in(doc);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, row)) continue;
        const std::string name = m[1];
        if (!with_rtl && name.find("_rtl.") != std::string::npos) continue;
        const size_t n = name.find("laneN");
        if (n == std::string::npos) {
            names.push_back(name);
            continue;
        }
        for (unsigned l = 0; l < lanes; ++l)
            names.push_back(name.substr(0, n) + "lane" + std::to_string(l) + name.substr(n + 5));
    }
    return names;
}

// One run with --vcd (and its files), shared by the tests of a process; in a directory of its own per test,
// so that tests run in parallel (ctest -j) do not share it.
struct TracedRun {
    std::string dir, vcd_path, gtkw_path;
    Vcd vcd;
    std::vector<json> oob;
    json stats;
};

const TracedRun& traced_run() {
    static TracedRun r = [] {
        TracedRun run;
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        const fs::path dir = fs::path(OV2_BINARY_DIR) / "tb_trace_tmp" /
                             (std::string(info->test_suite_name()) + "." + info->name() + ".traced");
        fs::remove_all(dir);
        fs::create_directories(dir);
        run.dir = dir.string();
        const int rc = run_default(run.dir, "out", {"--vcd", "default.vcd", "--quiet"});
        if (rc != 0) throw std::runtime_error("ov2sim --vcd failed: " + read_text(run.dir + "/out.stderr"));
        run.vcd_path = run.dir + "/traces/default.vcd";  // no directory given: under traces/
        run.gtkw_path = run.dir + "/traces/default.gtkw";
        run.vcd = tracetest::parse_vcd(read_text(run.vcd_path));
        run.oob = read_jsonl(run.dir + "/out/oob.jsonl");
        run.stats = json::parse(read_text(run.dir + "/out/stats.json"));
        return run;
    }();
    return r;
}

// The frames that passed the MAC (reached the parser), in input order.
std::vector<uint64_t> passed_frames(const std::vector<json>& oob) {
    std::vector<uint64_t> frames;
    for (const json& l : oob)
        if (!l.contains("drop_reason")) frames.push_back(l.at("frame").get<uint64_t>());
    std::sort(frames.begin(), frames.end());
    return frames;
}

std::vector<uint64_t> nonzero_values(const VcdVar& v) {
    std::vector<uint64_t> out;
    for (uint64_t x : v.values())
        if (x) out.push_back(x);
    return out;
}

size_t rising_edges(const VcdVar& v) {
    size_t n = 0;
    uint64_t prev = 0;
    for (const auto& c : v.changes) {
        n += prev == 0 && c.second == 1;
        prev = c.second;
    }
    return n;
}

TEST(TraceCli, WritesVcdAndSaveFileUnderTraces) {
    const TracedRun& r = traced_run();
    EXPECT_TRUE(fs::is_regular_file(r.vcd_path));
    EXPECT_TRUE(fs::is_regular_file(r.gtkw_path));
    EXPECT_EQ(r.vcd.timescale, "1 ps");
    EXPECT_GT(r.vcd.end_time, 0u);
    EXPECT_FALSE(fs::exists(r.dir + "/default.vcd"));
}

TEST(TraceCli, HoldsEveryDocumentedSignalAndNoOther) {
    const TracedRun& r = traced_run();
    const unsigned lanes = 4;  // crypto_lanes default
    const std::vector<std::string> documented = documented_signals(lanes);
    ASSERT_GT(documented.size(), 40u) << "docs/waveforms.md signal table not found";
    for (const std::string& name : documented) EXPECT_TRUE(r.vcd.has(name)) << name << " documented, not in the VCD";
    const std::set<std::string> doc_set(documented.begin(), documented.end());
    for (const std::string& name : r.vcd.order) EXPECT_TRUE(doc_set.count(name)) << name << " in the VCD, not documented";
    for (const std::string& g : kGroups) EXPECT_TRUE(r.vcd.has("ov2." + g + ".frame") || g == "bus") << g;
}

TEST(TraceCli, ParserTakesEveryPassedFrameInOrder) {
    const TracedRun& r = traced_run();
    const std::vector<uint64_t> frames = passed_frames(r.oob);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(nonzero_values(r.vcd.var("ov2.parser.frame")), frames);
    EXPECT_EQ(nonzero_values(r.vcd.var("ov2.cam.frame")), frames);
    // A frame without crypto work that already waited out the CAM latency passes the crypto stage in
    // zero time, so it may not show there; the ones that show come in order.
    const std::vector<uint64_t> crypto = nonzero_values(r.vcd.var("ov2.crypto.frame"));
    EXPECT_TRUE(std::is_sorted(crypto.begin(), crypto.end()) && std::adjacent_find(crypto.begin(), crypto.end()) == crypto.end());
    EXPECT_TRUE(std::includes(frames.begin(), frames.end(), crypto.begin(), crypto.end()));
    EXPECT_GT(crypto.size(), frames.size() / 2);
    EXPECT_EQ(nonzero_values(r.vcd.var("ov2.desc_wb.frame")), frames);
    // Every input frame was on the wire, in order.
    std::vector<uint64_t> all;
    for (uint64_t f = 1; f <= r.oob.size(); ++f) all.push_back(f);
    EXPECT_EQ(nonzero_values(r.vcd.var("ov2.mac.frame")), all);
}

TEST(TraceCli, StagesBusyExactlyWhileTheyHoldAFrame) {
    const TracedRun& r = traced_run();
    for (const std::string stage : {"parser", "cam", "crypto", "desc_wb"}) {
        const VcdVar& busy = r.vcd.var("ov2." + stage + ".busy");
        const VcdVar& ready = r.vcd.var("ov2." + stage + ".ready");
        const VcdVar& frame = r.vcd.var("ov2." + stage + ".frame");
        const VcdVar& valid = r.vcd.var("ov2." + stage + ".valid");
        const VcdVar& queue = r.vcd.var("ov2." + stage + ".queue");
        std::set<uint64_t> times;
        for (const VcdVar* v : {&busy, &ready, &frame, &valid, &queue})
            for (const auto& c : v->changes) times.insert(c.first);
        for (uint64_t t : times) {
            EXPECT_EQ(busy.at(t), frame.at(t) != 0) << stage << " at " << t;
            EXPECT_EQ(ready.at(t), 1 - busy.at(t)) << stage << " at " << t;
            EXPECT_EQ(valid.at(t), queue.at(t) != 0) << stage << " at " << t;
        }
        EXPECT_EQ(busy.at(r.vcd.end_time), 0u) << stage;
        EXPECT_EQ(queue.at(r.vcd.end_time), 0u) << stage;
    }
    EXPECT_EQ(r.vcd.var("ov2.mac.fifo_bytes").at(r.vcd.end_time), 0u);
    EXPECT_GT(r.vcd.var("ov2.mac.fifo_bytes").values().size(), 2u);
}

// Cycle mode: the device's blocks act on core clock edges only (322 MHz: a 3106 ps period). The wire side
// of the MAC is not on the core clock, nor are the bus and the host; the parser's input queue is the MAC's
// FIFO, written from the wire side. The check must be able to fail: the wire side changes off the edges.
TEST(TraceCli, DeviceBlocksChangeOnlyOnCoreClockEdges) {
    const TracedRun& r = traced_run();
    const uint64_t period = 3106;
    size_t checked = 0;
    for (const std::string& name : r.vcd.order) {
        const bool device = name.rfind("ov2.parser.", 0) == 0 || name.rfind("ov2.cam.", 0) == 0 ||
                            name.rfind("ov2.crypto.", 0) == 0 || name.rfind("ov2.desc_wb.", 0) == 0;
        if (!device || name == "ov2.parser.valid" || name == "ov2.parser.queue") continue;
        const VcdVar& v = r.vcd.var(name);
        for (size_t i = 1; i < v.changes.size(); ++i) {  // changes[0] is the initial value
            EXPECT_EQ(v.changes[i].first % period, 0u) << name << " changes at " << v.changes[i].first << " ps";
            ++checked;
        }
    }
    EXPECT_GT(checked, 500u);
    const VcdVar& wire = r.vcd.var("ov2.mac.busy");
    EXPECT_TRUE(std::any_of(wire.changes.begin() + 1, wire.changes.end(),
                            [&](const auto& c) { return c.first % period != 0; }));
}

// Each lane holds one frame at a time: the busy time the VCD shows on all lanes adds up to the lane busy
// time the pipeline counted (stats.json), which it could not if two frames overlapped on one lane; and
// each frame the lanes process appears on one lane, once.
TEST(TraceCli, CryptoLanesHoldOneFrameAtATime) {
    const TracedRun& r = traced_run();
    uint64_t busy_ps = 0;
    std::map<uint64_t, int> seen;
    for (unsigned lane = 0; lane < 4; ++lane) {
        const VcdVar& busy = r.vcd.var("ov2.crypto.lane" + std::to_string(lane) + ".busy");
        const VcdVar& frame = r.vcd.var("ov2.crypto.lane" + std::to_string(lane) + ".frame");
        std::set<uint64_t> times;
        for (const VcdVar* v : {&busy, &frame})
            for (const auto& c : v->changes) times.insert(c.first);
        times.insert(r.vcd.end_time);
        uint64_t prev_t = 0, prev_frame = 0;
        for (uint64_t t : times) {
            const uint64_t b = busy.at(t), f = frame.at(t);
            EXPECT_EQ(b, f != 0) << "lane " << lane << " at " << t << ": busy and frame disagree";
            if (prev_frame) busy_ps += t - prev_t;
            if (f && f != prev_frame) ++seen[f];
            prev_t = t;
            prev_frame = f;
        }
        EXPECT_EQ(busy.at(r.vcd.end_time), 0u);
    }
    const double counted_ps = r.stats.at("crypto").at("lane_busy_us").get<double>() * 1e6;
    EXPECT_NEAR(double(busy_ps), counted_ps, 2.0);
    EXPECT_GT(seen.size(), 20u);
    for (const auto& [f, n] : seen) EXPECT_EQ(n, 1) << "frame " << f << " on the lanes " << n << " times";
}

TEST(TraceCli, CamBusAndDriverAgreeWithTheResults) {
    const TracedRun& r = traced_run();
    size_t indicated = 0;
    std::vector<uint64_t> indication_order;
    for (const json& l : r.oob) {
        if (!l.at("indicated").get<bool>()) continue;
        ++indicated;
        indication_order.push_back(l.at("frame").get<uint64_t>());
    }
    // completions are written back in batches (wb_batch_max, wb_batch_timeout_ns): one pulse a batch
    EXPECT_EQ(rising_edges(r.vcd.var("ov2.desc_wb.cpl_done")), r.stats.at("desc_wb").at("batches").get<size_t>());
    EXPECT_LT(rising_edges(r.vcd.var("ov2.desc_wb.cpl_done")), indicated) << "no two completions shared a batch";
    EXPECT_EQ(rising_edges(r.vcd.var("ov2.driver.indicate")), indicated);
    EXPECT_EQ(nonzero_values(r.vcd.var("ov2.driver.frame")), indication_order);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.driver.irq")), 0u);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.driver.isr")), 0u);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.cam.hit")), 0u);
    EXPECT_LE(rising_edges(r.vcd.var("ov2.cam.hit")), r.stats.at("sa_cam").at("hits").get<size_t>());
    EXPECT_GT(rising_edges(r.vcd.var("ov2.bus.dma_wr")), 0u);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.bus.dma_rd")), 0u);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.bus.mmio")), 0u);
    EXPECT_GT(rising_edges(r.vcd.var("ov2.desc_wb.desc_fetch")), 0u);
    EXPECT_EQ(r.vcd.var("ov2.bus.posted").at(r.vcd.end_time), 0u);
    // The completion slots are used in order from 0: each batch starts where the previous one ended.
    const std::vector<uint64_t> slots = r.vcd.var("ov2.desc_wb.cpl_slot").values();
    ASSERT_FALSE(slots.empty());
    EXPECT_EQ(slots[0], 0u);
    for (size_t i = 1; i < slots.size(); ++i) EXPECT_GT(slots[i], slots[i - 1]);
    EXPECT_LT(slots.back(), indicated);
    // The driver's NBL info slot is what oob.jsonl reports for the last indication.
    const std::string last_nbl = r.oob.back().at("nbl_info").get<std::string>();
    EXPECT_EQ(r.vcd.var("ov2.driver.nbl_info").at(r.vcd.end_time), std::stoull(last_nbl, nullptr, 16));
}

TEST(TraceCli, SaveFileNamesTheVcdAndGroupsEverySignal) {
    const TracedRun& r = traced_run();
    const std::string gtkw = read_text(r.gtkw_path);
    EXPECT_NE(gtkw.find("[dumpfile] \"" + fs::absolute(r.vcd_path).lexically_normal().string() + "\""),
              std::string::npos)
        << gtkw.substr(0, 400);
    std::istringstream in(gtkw);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    // Groups: "@800200" "-name" ... "@1000200" "-name", in pipeline order, each signal in one group.
    std::vector<std::string> groups;
    std::map<std::string, std::string> group_of;
    std::string open;
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
        if (lines[i] == "@800200") {
            EXPECT_TRUE(open.empty()) << "nested group at line " << i;
            open = lines[i + 1].substr(1);
            groups.push_back(open);
        } else if (lines[i] == "@1000200") {
            EXPECT_EQ(lines[i + 1], "-" + open) << "line " << i;
            open.clear();
        } else if (lines[i].rfind("ov2.", 0) == 0 || lines[i].rfind("+{", 0) == 0) {
            EXPECT_FALSE(open.empty()) << lines[i] << " outside a group";
            // "+{alias} name" shows the signal as alias: lanes as "lane0_busy"
            const std::string listed = lines[i][0] == '+' ? lines[i].substr(lines[i].find("} ") + 2) : lines[i];
            if (lines[i][0] == '+') {
                std::string want = listed.substr(5 + open.size(), listed.find('[') - 5 - open.size());
                std::replace(want.begin(), want.end(), '.', '_');
                EXPECT_EQ(lines[i].substr(2, lines[i].find('}') - 2), want);
            }
            std::string name = listed.substr(0, listed.find('['));
            EXPECT_TRUE(group_of.emplace(name, open).second) << name << " listed twice";
        }
    }
    EXPECT_TRUE(open.empty());
    EXPECT_EQ(groups, kGroups);
    for (const std::string& name : r.vcd.order) {
        ASSERT_TRUE(group_of.count(name)) << name << " not in the save file";
        EXPECT_EQ(group_of[name], name.substr(4, name.find('.', 4) - 4)) << name;
        const unsigned width = r.vcd.var(name).width;
        const std::string listed = width == 1 ? name : name + "[" + std::to_string(width - 1) + ":0]";
        EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
            return l == listed || (l.size() > listed.size() && l.compare(l.size() - listed.size() - 1, std::string::npos, " " + listed) == 0);
        })) << listed;
    }
}

// Without --vcd nothing is written; with it, oob.jsonl is the same byte for byte.
TEST(TraceCli, TracingChangesNoResultAndIsOffByDefault) {
    const TracedRun& traced = traced_run();
    const std::string dir = scratch_dir();
    ASSERT_EQ(run_default(dir, "out", {"--quiet"}), 0) << read_text(dir + "/out.stderr");
    EXPECT_FALSE(fs::exists(dir + "/traces"));
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string ext = e.path().extension().string();
        EXPECT_TRUE(ext != ".vcd" && ext != ".gtkw") << e.path();
    }
    const std::string plain = read_text(dir + "/out/oob.jsonl");
    EXPECT_FALSE(plain.empty());
    EXPECT_TRUE(plain == read_text(traced.dir + "/out/oob.jsonl")) << "oob.jsonl differs with --vcd";
    EXPECT_TRUE(read_text(dir + "/out/indicated.pcap") == read_text(traced.dir + "/out/indicated.pcap"));
}

TEST(TraceCli, ExplicitPathAndUnwritablePath) {
    const std::string dir = scratch_dir();
    ASSERT_EQ(run_default(dir, "out", {"--vcd", dir + "/waves/run1.vcd"}), 0) << read_text(dir + "/out.stderr");
    EXPECT_TRUE(fs::is_regular_file(dir + "/waves/run1.vcd"));
    EXPECT_TRUE(fs::is_regular_file(dir + "/waves/run1.gtkw"));
    EXPECT_NE(read_text(dir + "/out.stdout").find("gtkwave " + dir + "/waves/run1.gtkw"), std::string::npos)
        << read_text(dir + "/out.stdout");
    std::ofstream(dir + "/blocker") << "a file, not a directory";
    EXPECT_EQ(run_default(dir, "out2", {"--vcd", dir + "/blocker/run.vcd"}), 2);
    EXPECT_NE(read_text(dir + "/out2.stderr").find("ov2sim: error:"), std::string::npos);
}

}  // namespace

// --rtl cam,parser,wb --vcd: the Verilated blocks' pins are in the same VCD, every one documented, each
// block's group right after its SystemC twin's in the save file; the run's results are those without --rtl.
TEST(TraceCli, RtlPinsAreDocumentedAndFollowTheirTwin) {
    const TracedRun& plain = traced_run();
    const std::string dir = scratch_dir();
    ASSERT_EQ(run_default(dir, "out", {"--rtl", "cam,parser,wb", "--vcd", "rtl.vcd", "--quiet"}), 0)
        << read_text(dir + "/out.stderr");
    const Vcd vcd = tracetest::parse_vcd(read_text(dir + "/traces/rtl.vcd"));
    const std::vector<std::string> documented = documented_signals(4, true);
    for (const std::string& name : documented) EXPECT_TRUE(vcd.has(name)) << name << " documented, not in the VCD";
    const std::set<std::string> doc_set(documented.begin(), documented.end());
    for (const std::string& name : vcd.order) EXPECT_TRUE(doc_set.count(name)) << name << " in the VCD, not documented";
    std::vector<std::string> groups;
    std::istringstream in(read_text(dir + "/traces/rtl.gtkw"));
    for (std::string line, prev; std::getline(in, line); prev = line)
        if (prev == "@800200") groups.push_back(line.substr(1));
    const std::vector<std::string> want = {"mac",    "parser",  "parser_rtl",  "cam", "cam_rtl",
                                           "crypto", "desc_wb", "desc_wb_rtl", "bus", "driver"};
    EXPECT_EQ(groups, want);
    // Every lookup went into the RTL CAM, every record through the RTL encoder.
    const json stats = json::parse(read_text(dir + "/out/stats.json"));
    EXPECT_EQ(rising_edges(vcd.var("ov2.cam_rtl.res_valid")) > 0, stats["sa_cam"]["lookups"].get<uint64_t>() > 0);
    EXPECT_GT(rising_edges(vcd.var("ov2.desc_wb_rtl.cpl_valid")), 0u);
    // The key reaches the RTL on the first edge at or after the SystemC lookup (one 3.1 ns cycle at most),
    // and its result shows cam_latency_cycles (3) edges later.
    const uint64_t cycle_ps = 3106;  // 1e6 / 322 MHz, rounded up
    auto rises = [&](const char* name) {
        std::vector<uint64_t> t;
        uint64_t prev = 0;
        for (const auto& c : vcd.var(name).changes) {
            if (prev == 0 && c.second == 1) t.push_back(c.first);
            prev = c.second;
        }
        return t;
    };
    const std::vector<uint64_t> lookups = rises("ov2.cam.lookup"), keys = rises("ov2.cam_rtl.lk_valid"),
                                results = rises("ov2.cam_rtl.res_valid");
    ASSERT_FALSE(lookups.empty());
    for (uint64_t t : lookups) {
        const auto k = std::lower_bound(keys.begin(), keys.end(), t);
        ASSERT_NE(k, keys.end()) << "no key after the lookup at " << t;
        EXPECT_LE(*k - t, cycle_ps) << t;
        const auto r = std::lower_bound(results.begin(), results.end(), *k + 3 * (cycle_ps - 1));
        EXPECT_TRUE(r != results.end() && *r <= *k + 3 * cycle_ps) << "result 3 cycles after the key at " << *k;
    }
    // Every frame the parser took went through the RTL parser: one record each, each frame's first beat on
    // the edge the SystemC stage took it (recorded at the edge, or 1 ps after it when clocked lazily).
    EXPECT_EQ(rising_edges(vcd.var("ov2.parser_rtl.r_valid")), stats["parser"]["frames"].get<uint64_t>());
    size_t takes = 0;
    for (const auto& [t, frame] : vcd.var("ov2.parser.frame").changes) {
        if (frame == 0) continue;
        ++takes;
        EXPECT_EQ(vcd.var("ov2.parser_rtl.s_valid").at(t + 1), 1u) << "frame " << frame << " taken at " << t;
    }
    EXPECT_EQ(takes, stats["parser"]["frames"].get<uint64_t>());
    EXPECT_EQ(stats["rtl"]["cam"]["mismatches"], 0);
    EXPECT_EQ(stats["rtl"]["parser"]["mismatches"], 0);
    EXPECT_EQ(read_text(dir + "/out/oob.jsonl"), read_text(plain.dir + "/out/oob.jsonl"));
}
