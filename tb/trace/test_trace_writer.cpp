// The Tracer alone: VCD structure, changes recorded out of time order, same-time changes, streaming
// while time advances, the GTKWave save file, where --vcd files go, and TraceSignal without a Tracer.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "trace.h"
#include "vcd_reader.h"

namespace {

namespace fs = std::filesystem;
using tracetest::parse_vcd;
using tracetest::read_text;
using tracetest::scratch_dir;

TEST(TraceWriter, DeclaresScopesAndWritesChangesInTimeOrder) {
    const std::string vcd_path = scratch_dir() + "/w.vcd";
    {
        ov2::Tracer t(vcd_path, "top", 100);
        const auto busy = t.signal("blk.busy", 1, ov2::TraceFormat::Bin);
        const auto frame = t.signal("blk.frame", 32);
        const auto lane = t.signal("blk.lane0.busy", 1, ov2::TraceFormat::Bin);
        const auto addr = t.signal("bus.addr", 64, ov2::TraceFormat::Hex, 7);
        EXPECT_EQ(t.signal("blk.frame", 32), frame);  // the same path: the same signal
        // Recorded out of time order, as the blocks do for the end of a lane's busy time.
        t.set_at(5000, busy, 0);
        t.set_at(1000, busy, 1);
        t.set_at(1000, frame, 3);
        t.set_at(5000, frame, 0);
        t.set_at(3000, addr, 0xFFFFFFFF00000000ull);
        t.pulse_at(2000, lane);  // 1 at 2000, 0 one pulse width (100) later
        t.set_at(4000, frame, 9);
        t.set_at(4000, frame, 4);  // the same time: the last one recorded wins
        t.set_at(4500, busy, 0);
        t.set_at(4500, busy, 1);  // 0 and back to 1 at one time: no change at all
        t.close(6000);
    }
    const tracetest::Vcd vcd = parse_vcd(read_text(vcd_path));
    EXPECT_EQ(vcd.timescale, "1 ps");
    EXPECT_EQ(vcd.order, (std::vector<std::string>{"top.blk.busy", "top.blk.frame", "top.blk.lane0.busy", "top.bus.addr"}));
    EXPECT_EQ(vcd.var("top.blk.frame").width, 32u);
    EXPECT_EQ(vcd.var("top.bus.addr").width, 64u);
    EXPECT_EQ(vcd.end_time, 6000u);
    const auto& busy = vcd.var("top.blk.busy").changes;
    EXPECT_EQ(busy, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}, {1000, 1}, {5000, 0}}));
    EXPECT_EQ(vcd.var("top.blk.frame").changes,
              (std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}, {1000, 3}, {4000, 4}, {5000, 0}}));
    EXPECT_EQ(vcd.var("top.blk.lane0.busy").changes,
              (std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}, {2000, 1}, {2100, 0}}));
    EXPECT_EQ(vcd.var("top.bus.addr").changes,
              (std::vector<std::pair<uint64_t, uint64_t>>{{0, 7}, {3000, 0xFFFFFFFF00000000ull}}));
}

TEST(TraceWriter, ManySignalsGetDistinctIdentifiers) {
    const std::string vcd_path = scratch_dir() + "/m.vcd";
    constexpr int kSignals = 9000;  // identifiers of one, two and three characters
    {
        ov2::Tracer t(vcd_path, "top", 10);
        std::vector<ov2::Tracer::Id> ids;
        for (int i = 0; i < kSignals; ++i) ids.push_back(t.signal("b" + std::to_string(i % 7) + ".s" + std::to_string(i), 16));
        for (int i = 0; i < kSignals; ++i) t.set_at(100, ids[size_t(i)], uint64_t(i));
        t.close(200);
    }
    const std::string text = read_text(vcd_path);
    const tracetest::Vcd vcd = parse_vcd(text);
    ASSERT_EQ(vcd.vars.size(), size_t(kSignals));
    for (int i = 0; i < kSignals; ++i)
        ASSERT_EQ(vcd.var("top.b" + std::to_string(i % 7) + ".s" + std::to_string(i)).at(100), uint64_t(i)) << i;
    // No identifier holds '#' or '$': "b101 #x" would read as a time, "b0 $x" as a keyword.
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("$var ", 0) != 0) continue;
        std::istringstream words(line);
        std::string var, type, width, code;
        words >> var >> type >> width >> code;
        EXPECT_EQ(code.find_first_of("#$"), std::string::npos) << line;
    }
}

TEST(TraceWriter, SaveFileNamesTheDumpAndGroupsByBlock) {
    const std::string dir = scratch_dir();
    {
        ov2::Tracer t(dir + "/g.vcd", "top", 10);
        t.signal("mac.busy", 1, ov2::TraceFormat::Bin);
        t.signal("mac.frame", 32);
        t.signal("bus.addr", 64, ov2::TraceFormat::Hex);
        t.signal("mac.late", 1, ov2::TraceFormat::Bin);  // declared after bus: still in the mac group
        t.signal("mac.lane0.busy", 1, ov2::TraceFormat::Bin);  // deeper: shown under an alias
        t.close(100);
    }
    EXPECT_EQ(ov2::gtkw_path_for(dir + "/g.vcd"), dir + "/g.gtkw");
    const std::string gtkw = read_text(dir + "/g.gtkw");
    EXPECT_NE(gtkw.find("[dumpfile] \"" + fs::absolute(dir + "/g.vcd").string() + "\"\n"), std::string::npos) << gtkw;
    const std::string expected_groups =
        "@800200\n-mac\n@28\ntop.mac.busy\n@24\ntop.mac.frame[31:0]\n@28\ntop.mac.late\n"
        "+{lane0_busy} top.mac.lane0.busy\n@1000200\n-mac\n"
        "@800200\n-bus\n@22\ntop.bus.addr[63:0]\n@1000200\n-bus\n";
    EXPECT_NE(gtkw.find(expected_groups), std::string::npos) << gtkw;
}

// Time advances while records go in, some of them for later times: the Tracer writes what is final as it
// goes (every 64k records) and the file still comes out in time order with every change.
struct Driver : sc_core::sc_module {
    ov2::Tracer& t;
    ov2::Tracer::Id a, b;
    static constexpr int kSteps = 150000;
    Driver(sc_core::sc_module_name n, ov2::Tracer& tr) : sc_module(n), t(tr) {
        a = t.signal("d.a", 1, ov2::TraceFormat::Bin);
        b = t.signal("d.b", 32);
        SC_HAS_PROCESS(Driver);
        SC_THREAD(run);
    }
    void run() {
        for (int i = 1; i <= kSteps; ++i) {
            sc_core::wait(sc_core::sc_time(10, sc_core::SC_PS));
            t.set(a, i & 1);
            t.set_at(uint64_t(sc_core::sc_time_stamp().value()) + 25, b, uint64_t(i));
        }
    }
};

TEST(TraceWriter, StreamsWhileTimeAdvances) {
    const std::string vcd_path = scratch_dir() + "/s.vcd";
    {
        ov2::Tracer t(vcd_path, "top", 10);
        Driver d("d", t);
        sc_core::sc_start();
        t.close(uint64_t(sc_core::sc_time_stamp().value()));
    }
    const tracetest::Vcd vcd = parse_vcd(read_text(vcd_path));
    const auto& a = vcd.var("top.d.a").changes;
    const auto& b = vcd.var("top.d.b").changes;
    ASSERT_EQ(a.size(), size_t(Driver::kSteps) + 1);
    ASSERT_EQ(b.size(), size_t(Driver::kSteps) + 1);
    for (int i = 1; i <= Driver::kSteps; ++i) {
        ASSERT_EQ(a[i], std::make_pair(uint64_t(10 * i), uint64_t(i & 1))) << i;
        ASSERT_EQ(b[i], std::make_pair(uint64_t(10 * i + 25), uint64_t(i))) << i;
    }
    EXPECT_EQ(vcd.end_time, uint64_t(10 * Driver::kSteps + 25));
}

TEST(TraceWriter, FileWithoutDirectoryGoesUnderTraces) {
    const fs::path dir = scratch_dir();
    const fs::path cwd = fs::current_path();
    fs::current_path(dir);
    const std::string plain = ov2::resolve_vcd_path("run.vcd");
    const std::string nested = ov2::resolve_vcd_path("sub/dir/run.vcd");
    fs::current_path(cwd);
    EXPECT_EQ(plain, "traces/run.vcd");
    EXPECT_TRUE(fs::is_directory(dir / "traces"));
    EXPECT_EQ(nested, "sub/dir/run.vcd");
    EXPECT_TRUE(fs::is_directory(dir / "sub/dir"));
    EXPECT_EQ(ov2::gtkw_path_for("traces/run.vcd"), "traces/run.gtkw");
    EXPECT_EQ(ov2::gtkw_path_for("traces/run"), "traces/run.gtkw");
    EXPECT_THROW(ov2::resolve_vcd_path(""), std::exception);
    EXPECT_THROW(ov2::resolve_vcd_path("view.gtkw"), std::exception);  // would be overwritten by the save file
}

TEST(TraceWriter, SignalWithoutTracerDoesNothing) {
    ov2::TraceSignal s;
    ov2::StageTrace stage;
    EXPECT_FALSE(s.on());
    s.set(1);
    s.set_at(10, 2);
    s.pulse();
    s.add(3);
    EXPECT_EQ(s.last(), 0u);
    EXPECT_FALSE(stage.on());
    stage.take(5);
    stage.done();
    stage.in.add(1);
    EXPECT_EQ(stage.in.queue.last(), 0u);
}

}  // namespace
