// Timing parameters: settable by name, impossible values refused with the parameter named.
#include <gtest/gtest.h>

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
