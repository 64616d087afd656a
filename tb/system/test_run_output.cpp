// RunOutput's latency bins: the table lookup gives the bin of the log formula for every latency.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

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

}  // namespace
}  // namespace ov2
