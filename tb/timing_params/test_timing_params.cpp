// Timing parameters: settable by name, impossible values refused with the parameter named.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "timing_params.h"

using namespace ov2;

TEST(TimingParams, SetByName) {
    TimingParams t;
    t.set("core_clock_mhz", "250");
    EXPECT_DOUBLE_EQ(t.core_clock_mhz, 250.0);
    EXPECT_DOUBLE_EQ(t.clock_ps(), 4000.0);
    t.set("crypto_lanes", "8");
    EXPECT_EQ(t.crypto_lanes, 8u);
}

TEST(TimingParams, EveryNameIsSettable) {
    for (const std::string& name : TimingParams::names()) {
        TimingParams t;
        const bool sized = name == "rx_buffer_bytes" || name == "mac_fifo_bytes";  // minimums of 64 and 2048 B
        EXPECT_NO_THROW(t.set(name, sized ? "4096" : "3")) << name;
    }
}

TEST(TimingParams, ErrorsNameTheParameterAndWhatWasExpected) {
    TimingParams t;
    try {
        t.set("core_clock_mhz", "0");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("core_clock_mhz"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos);
    }
    EXPECT_THROW(t.set("no_such_thing", "1"), std::invalid_argument);
    EXPECT_THROW(t.set("crypto_lanes", "1.5"), std::invalid_argument);
    EXPECT_THROW(t.set("crypto_lanes", "-1"), std::invalid_argument);
    EXPECT_THROW(t.set("bus_latency_ns", "abc"), std::invalid_argument);
}

// edges_in (and the edge roundings built on it) multiplies by the inverse period instead of dividing: the
// quotient must be the division's for every clock and every time, at and around the edges above all.
TEST(TimingParams, EdgeRoundingEqualsTheDivision) {
    std::mt19937_64 rng(11);
    for (const char* mhz : {"322", "250", "10000", "1", "156.25", "3.3", "7777"}) {
        TimingParams t;
        t.set("core_clock_mhz", mhz);
        const uint64_t c = t.clock_ps();
        auto check = [&](uint64_t ps) {
            ASSERT_EQ(t.edges_in(ps), ps / c) << mhz << " MHz, " << ps << " ps";
            if (ps <= UINT64_MAX - c) ASSERT_EQ(t.edge_at_or_after(ps), (ps + c - 1) / c * c) << ps;
            ASSERT_EQ(t.writer_release_ps(0, ps), ps / c * c) << ps;
        };
        for (uint64_t k : {uint64_t(0), uint64_t(1), uint64_t(2), uint64_t(1) << 20, (uint64_t(1) << 48) / c,
                           (uint64_t(1) << 48) / c + 1, UINT64_MAX / c})
            for (uint64_t ps = k * c > 2 ? k * c - 2 : 0; ps <= k * c + 2 && ps >= k * c - 2; ++ps) check(ps);
        for (int i = 0; i < 100000; ++i) {
            const unsigned bits = unsigned(rng() % 64) + 1;
            check(rng() >> (64 - bits));
        }
        check(UINT64_MAX);
    }
}

// wire_time_ps keeps the last length's time: every input of the formula, changed between two calls, must
// give the formula's value again, never the kept one.
TEST(TimingParams, WireTimeFollowsEveryInputPastItsCache) {
    auto formula = [](const TimingParams& t, uint32_t bytes, bool fcs) {
        const double wire_bytes = double(bytes) + (fcs ? 0 : t.fcs_bytes) + t.wire_overhead_bytes;
        return uint64_t(std::llround(wire_bytes * 8.0 * 1000.0 / t.line_rate_gbps));
    };
    TimingParams t;
    for (uint32_t bytes : {60u, 60u, 61u, 1514u, 60u}) {
        for (bool fcs : {false, true}) EXPECT_EQ(t.wire_time_ps(bytes, fcs), formula(t, bytes, fcs)) << bytes;
    }
    const uint64_t before = t.wire_time_ps(100, false);
    t.fcs_bytes = 8;
    EXPECT_EQ(t.wire_time_ps(100, false), formula(t, 100, false));
    EXPECT_NE(t.wire_time_ps(100, false), before);
    t.wire_overhead_bytes = 0;
    EXPECT_EQ(t.wire_time_ps(100, false), formula(t, 100, false));
    t.line_rate_gbps = 400;
    EXPECT_EQ(t.wire_time_ps(100, false), formula(t, 100, false));
    t.line_rate_gbps = 3.3;  // a rate whose times round
    EXPECT_EQ(t.wire_time_ps(101, true), formula(t, 101, true));
}
