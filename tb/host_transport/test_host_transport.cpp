// Transport model: anti-replay (RFC 4303 3.4.3, Appendix A for ESN), verdicts, DELETE_SA on SaDeleteReq.
#include <gtest/gtest.h>

#include <vector>

#include "driver_shim.h"
#include "host_transport.h"

using namespace ov2;

TEST(ReplayWindow, AcceptsNewRejectsDuplicates) {
    ReplayWindow w(64, 0, false);
    EXPECT_TRUE(w.check_and_update(1));
    EXPECT_TRUE(w.check_and_update(2));
    EXPECT_FALSE(w.check_and_update(2));
    EXPECT_FALSE(w.check_and_update(1));
    EXPECT_EQ(w.highest(), 2u);
}

TEST(ReplayWindow, OutOfOrderInsideTheWindowIsAcceptedOnce) {
    ReplayWindow w(64, 0, false);
    EXPECT_TRUE(w.check_and_update(100));
    EXPECT_TRUE(w.check_and_update(37));   // 100 - 37 = 63 < 64: inside
    EXPECT_FALSE(w.check_and_update(37));
    EXPECT_FALSE(w.check_and_update(36));  // 100 - 36 = 64: outside
}

TEST(ReplayWindow, WindowSizesAreHonoured) {
    for (uint32_t size : {1u, 32u, 64u, 65u, 128u, 1024u}) {
        ReplayWindow w(size, 0, false);
        ASSERT_TRUE(w.check_and_update(5000));
        if (size > 1) EXPECT_TRUE(w.check_and_update(5000 - (size - 1))) << size;
        EXPECT_FALSE(w.check_and_update(5000 - size)) << size;
    }
}

TEST(ReplayWindow, BitsSurviveAShiftAcrossWords) {
    ReplayWindow w(256, 0, false);
    EXPECT_TRUE(w.check_and_update(10));
    EXPECT_TRUE(w.check_and_update(150));  // shift by 140: more than two words
    EXPECT_FALSE(w.check_and_update(10));
    EXPECT_TRUE(w.check_and_update(11));
    EXPECT_TRUE(w.check_and_update(500));  // beyond the window: everything cleared
    EXPECT_FALSE(w.check_and_update(150));  // now too old (500 - 150 = 350 >= 256)
}

TEST(ReplayWindow, EsnInfersTheNextEpochAfterAWrap) {
    ReplayWindow w(64, (uint64_t(1) << 32) | 0xFFFFFFF0u, true);
    EXPECT_EQ(w.infer(5), (uint64_t(2) << 32) | 5);
    EXPECT_EQ(w.infer(0xFFFFFFF8u), (uint64_t(1) << 32) | 0xFFFFFFF8u);
    EXPECT_TRUE(w.check_and_update(5));
    EXPECT_EQ(w.highest(), (uint64_t(2) << 32) | 5);
    // The window now spans the boundary: a late packet from the old epoch is still recognised.
    EXPECT_EQ(w.infer(0xFFFFFFF9u), (uint64_t(1) << 32) | 0xFFFFFFF9u);
    EXPECT_TRUE(w.check_and_update(0xFFFFFFF9u));
    EXPECT_FALSE(w.check_and_update(0xFFFFFFF9u));
}

namespace {

std::vector<uint8_t> esp_frame(uint32_t seq) {
    std::vector<uint8_t> f(14 + 20 + 8 + 16, 0);
    f[12] = 0x08;
    f[14] = 0x45;
    f[16] = 0;
    f[17] = uint8_t(20 + 8 + 16);
    f[14 + 8] = 64;
    f[14 + 9] = kIpProtoEsp;
    f[14 + 16] = 192; f[14 + 17] = 0; f[14 + 18] = 2; f[14 + 19] = 1;
    uint8_t* esp = f.data() + 34;
    esp[3] = 0x42;  // SPI 0x42
    esp[4] = uint8_t(seq >> 24); esp[5] = uint8_t(seq >> 16); esp[6] = uint8_t(seq >> 8); esp[7] = uint8_t(seq);
    return f;
}

Indication success(const std::vector<uint8_t>& f, uint32_t handle, uint8_t next_header = 6) {
    Indication ind;
    ind.data = f.data();
    ind.length = uint32_t(f.size());
    ind.nbl_info = make_nbl_info(false, true, false, CryptoStatus::Success);
    ind.header_info = make_header_info(next_header, 2, true);
    ind.offload_handle = handle;
    return ind;
}

AddSa inbound_sa(uint32_t window) {
    AddSa sa;
    sa.replay_window = window;
    return sa;
}

}  // namespace

TEST(TransportModel, ReplayIsTheStacksCheckAfterIndication) {
    TransportModel t;
    t.sa_offloaded(1, inbound_sa(32), 0);
    const auto f1 = esp_frame(1), f2 = esp_frame(2);
    EXPECT_EQ(t.on_indication(success(f1, 1)), StackVerdict::Accepted);
    EXPECT_EQ(t.on_indication(success(f2, 1)), StackVerdict::Accepted);
    EXPECT_EQ(t.on_indication(success(f1, 1)), StackVerdict::Replay);
    EXPECT_EQ(t.stats().replay, 1u);
}

TEST(TransportModel, WindowZeroMeansNoReplayCheck) {
    TransportModel t;
    t.sa_offloaded(1, inbound_sa(0), 0);
    const auto f = esp_frame(7);
    EXPECT_EQ(t.on_indication(success(f, 1)), StackVerdict::Accepted);
    EXPECT_EQ(t.on_indication(success(f, 1)), StackVerdict::Accepted);
}

TEST(TransportModel, VerdictFollowsCryptoStatus) {
    TransportModel t;
    t.sa_offloaded(1, inbound_sa(64), 0);
    const auto f = esp_frame(3);
    Indication ind = success(f, 1);
    const std::pair<CryptoStatus, StackVerdict> cases[] = {
        {CryptoStatus::TransportEspAuthFailed, StackVerdict::AuthFailed},
        {CryptoStatus::TunnelAhAuthFailed, StackVerdict::AuthFailed},
        {CryptoStatus::InvalidProtocol, StackVerdict::InvalidProtocol},
        {CryptoStatus::InvalidPacketSyntax, StackVerdict::BadSyntax},
        {CryptoStatus::GenericError, StackVerdict::GenericError},
    };
    for (const auto& [status, verdict] : cases) {
        ind.nbl_info = make_nbl_info(false, true, false, status);
        EXPECT_EQ(t.on_indication(ind), verdict) << crypto_status_name(status);
    }
    // A failed packet must not advance the replay window: seq 3 is still fresh.
    EXPECT_EQ(t.on_indication(success(f, 1)), StackVerdict::Accepted);
}

TEST(TransportModel, DummyPacketIsDroppedAfterDecrypt) {
    TransportModel t;
    t.sa_offloaded(1, inbound_sa(64), 0);
    const auto f = esp_frame(9);
    EXPECT_EQ(t.on_indication(success(f, 1, 59)), StackVerdict::DummyDropped);
}

TEST(TransportModel, UnprocessedIpsecGoesToSoftware) {
    TransportModel t;
    const auto f = esp_frame(1);
    Indication ind;
    ind.data = f.data();
    ind.length = uint32_t(f.size());
    EXPECT_EQ(t.on_indication(ind), StackVerdict::SoftwareIpsec);
    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    ind.data = arp.data();
    ind.length = uint32_t(arp.size());
    EXPECT_EQ(t.on_indication(ind), StackVerdict::NotIpsec);
}

TEST(TransportModel, SaDeleteReqDeletesInboundThenItsOutboundPairOnce) {
    TransportModel t;
    std::vector<uint32_t> deleted;
    t.delete_sa = [&](uint32_t h) {
        deleted.push_back(h);
        t.sa_deleted(h);
    };
    t.sa_offloaded(4, inbound_sa(64), 9);
    const auto f1 = esp_frame(1), f2 = esp_frame(2);
    Indication ind = success(f1, 4);
    ind.nbl_info |= 1;  // SaDeleteReq
    t.on_indication(ind);
    ASSERT_EQ(deleted, (std::vector<uint32_t>{4, 9}));
    Indication again = success(f2, 4);
    again.nbl_info |= 1;
    t.on_indication(again);
    EXPECT_EQ(deleted.size(), 2u);
    EXPECT_EQ(t.stats().delete_sa_issued, 2u);
}

TEST(TransportModel, SaDeleteReqWithoutPairDeletesTheInboundOnly) {
    TransportModel t;
    std::vector<uint32_t> deleted;
    t.delete_sa = [&](uint32_t h) { deleted.push_back(h); };
    t.sa_offloaded(2, inbound_sa(64), 0);
    const auto f = esp_frame(1);
    Indication ind = success(f, 2);
    ind.nbl_info |= 1;
    t.on_indication(ind);
    EXPECT_EQ(deleted, (std::vector<uint32_t>{2}));
    EXPECT_EQ(t.stats().delete_without_pair, 1u);
}

TEST(TransportModel, TruncatedFramesAreDroppedWithoutTouchingTheReplayWindow) {
    TransportModel t;
    t.sa_offloaded(1, inbound_sa(64), 0);
    const auto f = esp_frame(5);
    Indication cut = success(f, 1);
    cut.truncated = true;
    EXPECT_EQ(t.on_indication(cut), StackVerdict::Truncated);
    EXPECT_EQ(t.on_indication(success(f, 1)), StackVerdict::Accepted);  // seq 5 still fresh
}
