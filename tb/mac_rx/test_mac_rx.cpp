// MAC: FCS through Botan's CRC-32, wire time at line rate.
#include <gtest/gtest.h>

#include <cstring>

#include "mac_rx.h"

using namespace ov2;

TEST(MacRx, FcsIsTheStandardCrc32) {
    const char* check = "123456789";  // the CRC-32 check value
    EXPECT_EQ(ethernet_fcs(reinterpret_cast<const uint8_t*>(check), std::strlen(check)), 0xCBF43926u);
}

TEST(MacRx, WireTimeCountsPreambleGapAndFcs) {
    TimingParams t;
    EXPECT_EQ(t.wire_time_ps(60, false), 6720u);   // 60 + 4 FCS + 20 = 84 B at 100 Gb/s
    EXPECT_EQ(t.wire_time_ps(64, true), 6720u);
    t.line_rate_gbps = 25;
    EXPECT_EQ(t.wire_time_ps(60, false), 26880u);
}
