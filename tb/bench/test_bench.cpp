// Synthetic traffic, measure, sweep: the generator's frames are valid for its SAs, the figures follow the
// configuration the way the timing contract says, and a sweep writes its table and plots.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "measure.h"

using namespace ov2;
namespace fs = std::filesystem;

namespace {

MeasureOptions traffic(const std::string& algorithm, uint32_t payload, uint32_t frames) {
    MeasureOptions o;
    o.traffic.algorithm = algorithm;
    o.traffic.payload_bytes = payload;
    o.traffic.frames = frames;
    o.executable = std::string(OV2_BINARY_DIR) + "/ov2sim";  // never this test binary: it would recurse
    return o;
}

}  // namespace

TEST(TrafficGenerator, EveryFrameVerifiesThroughTheModel) {
    for (const char* alg : {"aes-gcm-128", "aes-gcm-256", "aes-cbc-128-sha1"}) {
        MeasureOptions o = traffic(alg, 300, 400);
        o.traffic.sas = 7;
        o.traffic.offered_gbps = 10;  // paced well below what the device can take: nothing missed
        const auto r = measure_child(o);
        EXPECT_EQ(r["rx_missed"], 0) << alg;
        EXPECT_EQ(r["indicated"], 400) << alg;
        EXPECT_EQ(r["crypto_success"], 400) << alg;
    }
}

TEST(TrafficGenerator, BotanAloneVerifiesTheSameFrames) {
    for (const char* alg : {"aes-gcm-128", "aes-cbc-128-sha1"}) {
        MeasureOptions o = traffic(alg, 64, 1000);
        o.botan_only = true;
        EXPECT_EQ(measure_child(o)["verified"], 1000) << alg;
    }
}

TEST(TrafficGenerator, RejectsUnknownAlgorithms) {
    TrafficSpec spec;
    spec.algorithm = "rot13";
    EXPECT_THROW(TrafficGenerator{spec}, std::invalid_argument);
}

// Contract: HMAC engines are serial at crypto_hmac_bytes_per_cycle per lane, so CBC+SHA1 at 1500 B cannot
// keep up with 100 GbE on the default 4 lanes, and more lanes raise the throughput.
TEST(Measure, MoreHmacLanesRaiseCbcThroughput) {
    MeasureOptions o = traffic("aes-cbc-128-sha1", 1500, 3000);
    const double four = measure_child(o)["achieved_gbps"];
    o.settings = {"crypto_lanes=16"};
    const double sixteen = measure_child(o)["achieved_gbps"];
    EXPECT_LT(four, 40.0);
    EXPECT_GT(sixteen, four * 2.5);
}

// Contract: latency grows with the bus latency (DMA writes become visible one bus_latency_ns later).
TEST(Measure, BusLatencyMovesTheIndicationLatency) {
    // Light load, so that no queue builds up and the shift is the bus latency alone.
    MeasureOptions o = traffic("aes-gcm-128", 256, 600);
    o.traffic.offered_gbps = 2;
    const double base = measure_child(o)["latency_p50_ns"];
    o.settings = {"bus_latency_ns=2250"};
    const double slow = measure_child(o)["latency_p50_ns"];
    EXPECT_NEAR(slow - base, 2000.0, 300.0);
}

// Simulated time and cycles count from the first frame's first bit: programming 1024 SAs over MMIO first
// (~1.5 ms) must not count as traffic (nor inflate cycles/s or dilute utilisation).
TEST(Measure, SimulatedTimeStartsWithTheFirstFrame) {
    MeasureOptions o = traffic("aes-gcm-128", 64, 2000);
    o.traffic.sas = 1;
    const double one = measure_child(o)["simulated_us"];
    o.traffic.sas = 1024;
    const double many = measure_child(o)["simulated_us"];
    EXPECT_GT(one, 20.0);  // 2000 frames at 12.64 ns each, and the tail
    EXPECT_LT(many, one * 1.5) << "the set-up of 1024 SAs was counted as simulated traffic time";
}

// measure --rtl: the co-simulated run simulates the same cycles and frames as the pure SystemC one (the
// RTL changes no result), reports which blocks were RTL, and refuses an unknown block.
TEST(Measure, RtlCoSimulationSimulatesTheSameCycles) {
    MeasureOptions o = traffic("aes-gcm-128", 64, 3000);
    const nlohmann::json sc = measure_child(o);
    o.rtl = "cam,parser,wb";
    const nlohmann::json rtl = measure_child(o);
    EXPECT_EQ(rtl["rtl"], "cam,parser,wb");
    EXPECT_EQ(rtl["simulated_cycles"], sc["simulated_cycles"]);
    EXPECT_EQ(rtl["indicated"], sc["indicated"]);
    EXPECT_GT(rtl["cycles_per_second"].get<double>(), 0.0);
    o.rtl = "crypto";
    EXPECT_THROW(measure_child(o), std::runtime_error);
}

TEST(Sweep, WritesTheTableAndThePlots) {
    const fs::path out = fs::path(OV2_BINARY_DIR) / "test_bench_sweep";
    fs::remove_all(out);
    const std::string cmd = std::string(OV2_BINARY_DIR) +
                            "/ov2sim sweep --param crypto_lanes --values 1,4 --algorithm aes-cbc-128-sha1 "
                            "--payload 512 --frames 1500 --out " + out.string() + " 2>/dev/null >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream csv(out / "sweep.csv");
    std::string header, one, four;
    std::getline(csv, header);
    std::getline(csv, one);
    std::getline(csv, four);
    EXPECT_EQ(header.rfind("crypto_lanes,offered_gbps,achieved_gbps", 0), 0u);
    EXPECT_EQ(one.rfind("1,", 0), 0u);
    EXPECT_EQ(four.rfind("4,", 0), 0u);
    const double achieved_one = std::stod(one.substr(one.find(',', one.find(',') + 1) + 1));
    const double achieved_four = std::stod(four.substr(four.find(',', four.find(',') + 1) + 1));
    EXPECT_GT(achieved_four, achieved_one * 2);
    for (const char* png : {"throughput.png", "latency.png", "utilisation.png"})
        EXPECT_GT(fs::file_size(out / png), 1000u) << png;
}
