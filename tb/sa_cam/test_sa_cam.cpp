// SA CAM: programmed only through registers; lookup by SPI + destination with the NDIS wildcard.
#include <gtest/gtest.h>

#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "sa_cam.h"

using namespace ov2;

namespace {

CamEntry esp_entry(uint32_t spi, const char* dst, uint32_t handle) {
    CamEntry e;
    e.valid = true;
    e.dst = *IpAddr::parse(dst);
    e.ip_version = e.dst.version;
    e.spi = spi;
    e.proto = kIpProtoEsp;
    e.enc_alg = ndis::kEncAesGcm128;
    e.enc_key_len = 16;
    e.enc_key.fill(0xAB);
    e.icv_len = 16;
    e.handle = handle;
    return e;
}

void program(SaCamTable& cam, uint32_t index, const CamEntry& e) {
    const auto words = pack_cam_entry(e);
    for (uint32_t i = 0; i < words.size(); ++i) cam.write_register(reg::kSaData0 + 4 * i, words[i]);
    cam.write_register(reg::kSaCmd, index | uint32_t(reg::kSaCmdWrite) << 28);
}

}  // namespace

TEST(SaCam, PackUnpackRoundTrip) {
    CamEntry e = esp_entry(0x01020304, "2001:db8::1", 7);
    e.mode = SaMode::Tunnel;
    e.esn = true;
    e.seq_hi = 0xDEADBEEF;
    e.salt = {1, 2, 3, 4};
    e.auth_key_len = 20;
    e.auth_key[19] = 0x55;
    e.bundle_slot = 1;
    e.bundle_has_inner = true;
    const CamEntry back = unpack_cam_entry(pack_cam_entry(e));
    EXPECT_EQ(back.dst, e.dst);
    EXPECT_EQ(back.spi, e.spi);
    EXPECT_EQ(back.mode, SaMode::Tunnel);
    EXPECT_TRUE(back.esn);
    EXPECT_EQ(back.seq_hi, 0xDEADBEEFu);
    EXPECT_EQ(back.salt, e.salt);
    EXPECT_EQ(back.enc_key, e.enc_key);
    EXPECT_EQ(back.auth_key, e.auth_key);
    EXPECT_EQ(back.handle, 7u);
    EXPECT_EQ(back.bundle_slot, 1);
    EXPECT_TRUE(back.bundle_has_inner);
}

TEST(SaCam, LookupNeedsSpiAndDestination) {
    SaCamTable cam(16);
    program(cam, 0, esp_entry(0x1000, "192.0.2.1", 1));
    EXPECT_EQ(cam.lookup(0x1000, *IpAddr::parse("192.0.2.1")), 0u);
    EXPECT_FALSE(cam.lookup(0x1001, *IpAddr::parse("192.0.2.1")));
    EXPECT_FALSE(cam.lookup(0x1000, *IpAddr::parse("192.0.2.2")));
    EXPECT_FALSE(cam.lookup(0x1000, *IpAddr::parse("::ffff:192.0.2.1")));  // other IP version
    EXPECT_EQ(cam.stats().hits, 1u);
    EXPECT_EQ(cam.stats().misses, 3u);
}

TEST(SaCam, WildcardDestinationMatchesAnyButExactWins) {
    SaCamTable cam(16);
    program(cam, 2, esp_entry(0x2000, "0.0.0.0", 2));
    EXPECT_EQ(cam.lookup(0x2000, *IpAddr::parse("198.51.100.9")), 2u);
    program(cam, 4, esp_entry(0x2000, "198.51.100.9", 3));
    EXPECT_EQ(cam.lookup(0x2000, *IpAddr::parse("198.51.100.9")), 4u);
    EXPECT_EQ(cam.lookup(0x2000, *IpAddr::parse("198.51.100.10")), 2u);
}

TEST(SaCam, AmongEqualCandidatesTheLowestIndexWins) {  // as a priority-encoded CAM; never the hash order
    SaCamTable cam(64);
    for (uint32_t i : {40u, 9u, 77u, 23u}) program(cam, i, esp_entry(0x2200, "192.0.2.7", i / 2 + 1));
    EXPECT_EQ(cam.lookup(0x2200, *IpAddr::parse("192.0.2.7")), 9u);
    cam.write_register(reg::kSaCmd, 9 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_EQ(cam.lookup(0x2200, *IpAddr::parse("192.0.2.7")), 23u);
}

TEST(SaCam, InvalidateRemovesTheEntryAndNotifies) {
    SaCamTable cam(16);
    std::vector<std::pair<uint32_t, reg::SaCmdOp>> changes;
    cam.on_entry_changed = [&](uint32_t i, const CamEntry&, reg::SaCmdOp op) { changes.emplace_back(i, op); };
    program(cam, 5, esp_entry(0x3000, "192.0.2.1", 3));
    EXPECT_EQ(cam.valid_entries(), 1u);
    cam.write_register(reg::kSaCmd, 5 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_FALSE(cam.lookup(0x3000, *IpAddr::parse("192.0.2.1")));
    EXPECT_EQ(cam.valid_entries(), 0u);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].second, reg::kSaCmdWrite);
    EXPECT_EQ(changes[1].second, reg::kSaCmdInvalidate);
}

// A frame in flight holds the bundle it matched: DELETE_SA stops new matches at once, but the entry (and so
// the crypto engine's key) stays until the frame is done; the slot cannot be reprogrammed meanwhile.
TEST(SaCam, InvalidateOfAHeldEntryWaitsForTheLastFrame) {
    SaCamTable cam(16);
    std::vector<std::pair<uint32_t, reg::SaCmdOp>> changes;
    cam.on_entry_changed = [&](uint32_t i, const CamEntry&, reg::SaCmdOp op) { changes.emplace_back(i, op); };
    program(cam, 4, esp_entry(0x3100, "192.0.2.1", 3));
    program(cam, 5, esp_entry(0x3101, "192.0.2.1", 3));  // the bundle's second entry
    cam.hold(4);
    cam.hold(4);  // two frames matched entry 4
    cam.write_register(reg::kSaCmd, 4 | uint32_t(reg::kSaCmdInvalidate) << 28);
    cam.write_register(reg::kSaCmd, 5 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_EQ(cam.read_register(reg::kSaStatus), 0u);
    EXPECT_FALSE(cam.lookup(0x3100, *IpAddr::parse("192.0.2.1"))) << "no new match after the invalidate";
    EXPECT_FALSE(cam.lookup(0x3101, *IpAddr::parse("192.0.2.1")));
    EXPECT_EQ(cam.valid_entries(), 0u);
    EXPECT_TRUE(cam.entry(4).valid) << "the frames in flight still see their SA";
    EXPECT_EQ(cam.entry(5).spi, 0x3101u) << "the whole bundle is held";
    EXPECT_TRUE(cam.retiring(4));
    EXPECT_EQ(changes.size(), 2u) << "the crypto engine keeps the keys";

    program(cam, 4, esp_entry(0x3200, "192.0.2.9", 7));  // the driver reuses the slot too early
    EXPECT_EQ(cam.read_register(reg::kSaStatus), reg::kSaStatusBusy);
    EXPECT_EQ(cam.entry(4).spi, 0x3100u) << "a busy write changes nothing";
    EXPECT_EQ(cam.stats().busy_writes, 1u);

    cam.release(4);
    EXPECT_TRUE(cam.entry(4).valid) << "one frame still holds it";
    cam.release(4);
    EXPECT_FALSE(cam.entry(4).valid);
    EXPECT_FALSE(cam.entry(5).valid);
    EXPECT_FALSE(cam.retiring(4));
    ASSERT_EQ(changes.size(), 4u);
    EXPECT_EQ(changes[2], std::make_pair(4u, reg::kSaCmdInvalidate));
    EXPECT_EQ(changes[3], std::make_pair(5u, reg::kSaCmdInvalidate));

    program(cam, 4, esp_entry(0x3200, "192.0.2.9", 7));
    EXPECT_EQ(cam.read_register(reg::kSaStatus), 0u);
    EXPECT_EQ(cam.lookup(0x3200, *IpAddr::parse("192.0.2.9")), 4u);
}

TEST(SaCam, InvalidateOfAnEntryNobodyHoldsIsImmediate) {
    SaCamTable cam(16);
    program(cam, 2, esp_entry(0x3300, "192.0.2.1", 2));
    cam.hold(6);  // another bundle is held: irrelevant
    cam.write_register(reg::kSaCmd, 2 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_FALSE(cam.entry(2).valid);
    EXPECT_FALSE(cam.retiring(2));
    EXPECT_EQ(cam.stats().deferred_invalidates, 0u);
}

TEST(SaCam, RewritingAnEntryReplacesItsKey) {
    SaCamTable cam(16);
    program(cam, 1, esp_entry(0x4000, "192.0.2.1", 1));
    program(cam, 1, esp_entry(0x4001, "192.0.2.1", 1));
    EXPECT_FALSE(cam.lookup(0x4000, *IpAddr::parse("192.0.2.1")));
    EXPECT_EQ(cam.lookup(0x4001, *IpAddr::parse("192.0.2.1")), 1u);
    EXPECT_EQ(cam.valid_entries(), 1u);
}

TEST(SaCam, OutboundEntriesOccupyASlotButNeverMatch) {
    SaCamTable cam(16);
    CamEntry out = esp_entry(0x5000, "192.0.2.1", 1);
    out.inbound = false;
    program(cam, 0, out);
    EXPECT_EQ(cam.valid_entries(), 1u);
    EXPECT_FALSE(cam.lookup(0x5000, *IpAddr::parse("192.0.2.1")));
}

TEST(SaCam, BadCommandsSetTheErrorBitAndChangeNothing) {
    SaCamTable cam(4);  // 8 entries
    EXPECT_EQ(cam.read_register(reg::kSaCapacity), 8u);
    program(cam, 8, esp_entry(0x6000, "192.0.2.1", 1));
    EXPECT_EQ(cam.read_register(reg::kSaStatus) & 1, 1u);
    cam.write_register(reg::kSaCmd, 0 | 0xFu << 28);
    EXPECT_EQ(cam.read_register(reg::kSaStatus) & 1, 1u);
    CamEntry bad = esp_entry(0x6000, "192.0.2.1", 1);
    bad.ip_version = 5;
    program(cam, 0, bad);
    EXPECT_EQ(cam.read_register(reg::kSaStatus) & 1, 1u);
    EXPECT_EQ(cam.valid_entries(), 0u);
    EXPECT_EQ(cam.stats().bad_commands, 3u);
}

TEST(SaCam, ReadBackNeverReturnsKeyMaterial) {
    SaCamTable cam(4);
    program(cam, 3, esp_entry(0x7000, "192.0.2.1", 2));
    cam.write_register(reg::kSaCmd, 3 | uint32_t(reg::kSaCmdRead) << 28);
    std::array<uint32_t, reg::kSaDataWords> words{};
    for (uint32_t i = 0; i < words.size(); ++i) words[i] = cam.read_register(reg::kSaData0 + 4 * i);
    const CamEntry back = unpack_cam_entry(words);
    EXPECT_EQ(back.spi, 0x7000u);
    for (uint8_t b : back.enc_key) EXPECT_EQ(b, 0);
}

TEST(SaCam, SeqHiUpdateChangesOnlyTheHighBits) {
    SaCamTable cam(4);
    CamEntry e = esp_entry(0x8000, "192.0.2.1", 1);
    e.esn = true;
    e.seq_hi = 1;
    program(cam, 0, e);
    cam.write_register(reg::kSaData0, 9);
    cam.write_register(reg::kSaCmd, 0 | uint32_t(reg::kSaCmdSetSeqHi) << 28);
    EXPECT_EQ(cam.entry(0).seq_hi, 9u);
    EXPECT_EQ(cam.entry(0).spi, 0x8000u);
    EXPECT_EQ(cam.stats().seq_hi_updates, 1u);
}

namespace {
struct RegisterMaster : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<RegisterMaster> out{"out"};
    explicit RegisterMaster(sc_core::sc_module_name n) : sc_module(n) {}
};
}  // namespace

TEST(SaCam, RegistersArriveOnlyAsAlignedWordsOverTlm) {
    SaCam cam("cam", 4);
    RegisterMaster master("master");
    master.out.bind(cam.regs);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);  // completes elaboration (binding)
    tlm::tlm_generic_payload t;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    uint32_t value = 1;
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_data_ptr(reinterpret_cast<uint8_t*>(&value));
    t.set_data_length(4);
    t.set_streaming_width(4);
    t.set_address(reg::kSaCtrl);
    master.out->b_transport(t, d);
    EXPECT_EQ(t.get_response_status(), tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(cam.table().offload_enabled());
    t.set_address(reg::kSaCtrl + 1);
    master.out->b_transport(t, d);
    EXPECT_EQ(t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    t.set_address(0x2000);
    master.out->b_transport(t, d);
    EXPECT_EQ(t.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

// The same question asked again (frames of one flow) is answered from the last lookup: every table change
// in between must show, and the counters and the answer must be those of a fresh search.
TEST(SaCam, RepeatedLookupsSeeEveryChangeInBetween) {
    SaCamTable cam(64);
    const IpAddr dst = *IpAddr::parse("192.0.2.7");
    EXPECT_FALSE(cam.lookup(0x4400, dst));
    program(cam, 30, esp_entry(0x4400, "0.0.0.0", 16));
    EXPECT_EQ(cam.lookup(0x4400, dst), 30u);  // a wildcard appeared
    EXPECT_EQ(cam.lookup(0x4400, dst), 30u);
    program(cam, 40, esp_entry(0x4400, "192.0.2.7", 21));
    EXPECT_EQ(cam.lookup(0x4400, dst), 40u);  // an exact match beats the wildcard
    program(cam, 12, esp_entry(0x4400, "192.0.2.7", 7));
    EXPECT_EQ(cam.lookup(0x4400, dst), 12u);  // a lower index
    program(cam, 12, esp_entry(0x4400, "192.0.2.8", 7));
    EXPECT_EQ(cam.lookup(0x4400, dst), 40u);  // rewritten to another destination
    cam.write_register(reg::kSaCmd, 40 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_EQ(cam.lookup(0x4400, dst), 30u);
    cam.hold(30);
    cam.write_register(reg::kSaCmd, 30 | uint32_t(reg::kSaCmdInvalidate) << 28);
    EXPECT_FALSE(cam.lookup(0x4400, dst));  // held, but no longer matched
    EXPECT_EQ(cam.lookup(0x4400, *IpAddr::parse("192.0.2.8")), 12u);
    EXPECT_EQ(cam.stats().lookups, 9u);
    EXPECT_EQ(cam.stats().hits, 7u);
    EXPECT_EQ(cam.stats().wildcard_hits, 3u);
    EXPECT_EQ(cam.stats().misses, 2u);
}
