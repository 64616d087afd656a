// `ov2sim bench` (model vs Botan alone, cycle rate, memory) and `ov2sim sweep` (one parameter over a range,
// CSV + PNG plots).
#pragma once

#include <string>
#include <vector>

#include "measure.h"

namespace ov2 {

struct BenchOptions {
    uint32_t frames_small = 200000;  // frames per 64 B case
    uint32_t frames_large = 100000;  // frames per 1500 B case
    bool memory_check = true;        // also 100k vs 1M frames for peak memory
};

struct SweepOptions {
    std::string mode = "cycle";  // --mode cycle|fast for every point
    std::string param;   // payload_bytes, sas, offered_gbps, or any --set name (crypto_lanes, core_clock_mhz...)
    std::string values;  // comma-separated
    TrafficSpec traffic;
    std::vector<std::string> settings;
    std::string out = "out/sweep";
};

int run_bench(const BenchOptions& options);
int run_sweep(const SweepOptions& options);

}  // namespace ov2
