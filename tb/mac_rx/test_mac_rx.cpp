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

// ---- the receive FIFO under a host that does not keep up ------------------------------------------------

#include <vector>

#include "ov2_top.h"

namespace {

// Minimum-size UDP frames, back to back: 148.8 Mpps at 100 GbE.
class UdpFlood : public FrameSource {
public:
    explicit UdpFlood(uint32_t frames) : left_(frames) {}
    bool next(WireFrame& f) override {
        if (left_ == 0) return false;
        --left_;
        f.bytes.assign(60, 0);
        f.bytes[12] = 0x08;
        f.bytes[14] = 0x45;
        f.bytes[17] = 46;  // IPv4 total length
        f.bytes[23] = 17;  // UDP
        f.orig_len = 60;
        return true;
    }

private:
    uint32_t left_;
};

struct Drops {
    uint64_t missed = 0, passed = 0, out = 0, high_water = 0;
};

Drops flood(const SimConfig& config, uint32_t frames) {
    UdpFlood source(frames);
    Ov2System sys("sys", config, source, {}, nullptr);
    sys.run();  // also checks that every frame left the system, dropped or indicated
    const MacStats& m = sys.mac().stats();
    return {m.rx_missed, m.passed, sys.frames_out(), m.fifo_high_water_bytes};
}

}  // namespace

TEST(MacRxFifo, SlowHostFillsTheFifoAndFramesAreMissedNotLost) {
    SimConfig config;
    config.timing.host_per_packet_ns = 1000;  // 1 Mpps host against 148.8 Mpps on the wire
    config.timing.mac_fifo_bytes = 16384;
    config.timing.rx_ring_entries = 64;
    config.timing.cpl_ring_entries = 64;
    const Drops d = flood(config, 5000);
    EXPECT_GT(d.missed, 4000u);
    EXPECT_EQ(d.missed + d.passed, 5000u);
    EXPECT_EQ(d.out, 5000u);
    EXPECT_EQ(d.high_water, 16380u) << "full: 273 frames of 60 B";
}

TEST(MacRxFifo, FastHostMissesNothing) {
    SimConfig config;
    config.timing.host_per_packet_ns = 1;
    config.timing.host_irq_latency_ns = 0;
    const Drops d = flood(config, 2000);
    EXPECT_EQ(d.missed, 0u);
    EXPECT_EQ(d.passed, 2000u);
    // The writeback falls behind 148.8 Mpps and the FIFO builds up. The MAC writes frames into it up to 16
    // ahead of their last bits; the high water counts each frame at its last bit, as a MAC receiving it
    // then does (28 800 with the run-ahead off; counted when written ahead it would be 29 520).
    EXPECT_EQ(d.high_water, 28800u) << "480 frames of 60 B";
}
