// Crypto engine unit tests with vectors made here by a Botan-based sender: every algorithm combination,
// ICV bit flips, truncation, padding, ESN inference, AH mutable fields, bundles, and no allocation.
#include <gtest/gtest.h>

#include "alloc_counter.h"
#include "crypto_test_util.h"

// GoogleTest prints each CamEntry parameter in the test list: a short name instead of a byte dump.
namespace ov2 {
void PrintTo(const CamEntry& e, std::ostream* os) { *os << test::entry_name(e); }
}  // namespace ov2

namespace ov2::test {
namespace {

using namespace ndis;

constexpr uint32_t kSeqHi = 0xA5;
constexpr uint64_t kSeq64 = (uint64_t(kSeqHi) << 32) | 1000;

// ---- one algorithm combination and a packet made for it -------------------------------------------------

struct Combo {
    uint8_t proto;
    uint32_t enc;
    uint32_t auth;
    uint8_t icv;  // 0 = the algorithm's
    bool esn;
    bool ipv6;
};

CamEntry entry_of(const Combo& c) { return make_entry(c.proto, c.enc, c.auth, c.icv, c.esn, kSeqHi); }

std::string combo_name(const ::testing::TestParamInfo<Combo>& info) {
    return entry_name(entry_of(info.param)) + (info.param.ipv6 ? "_v6" : "_v4");
}

// ctest lists each parameter next to the test name: a short name instead of a byte dump.
void PrintTo(const Combo& c, std::ostream* os) { *os << entry_name(entry_of(c)) << (c.ipv6 ? "_v6" : "_v4"); }

struct Built {
    Bytes pkt;
    Bytes payload;  // what the engine must deliver at payload_offset
    uint8_t next_header;
    size_t ipsec_offset;  // from the start of pkt
    size_t icv_offset;
    size_t icv_len;
};

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + 13 * i);
    return b;
}

Bytes ip_packet(bool ipv6, uint8_t proto, const Bytes& payload) {
    return ipv6 ? ipv6_packet(proto, payload) : ipv4_packet(proto, payload);
}

Built build_esp(const CamEntry& e, bool ipv6, const EspBuild& eb) {
    Built b;
    b.payload = eb.payload;
    b.next_header = eb.next_header;
    b.pkt = ip_packet(ipv6, kIpProtoEsp, esp_encapsulate(e, eb));
    b.ipsec_offset = ipv6 ? 40 : 20;
    b.icv_len = e.icv_len;
    b.icv_offset = b.pkt.size() - b.icv_len;
    return b;
}

// IP | AH | payload, signed with the mutable fields at zero, then changed as routers would.
Built build_ah(const CamEntry& e, bool ipv6, uint64_t seq64, const Bytes& payload, uint8_t next_header) {
    Built b;
    b.payload = payload;
    b.next_header = next_header;
    const Bytes ah = ah_header(e, next_header, seq64, ipv6 ? 8 : 4);
    const Bytes view = ip_packet(ipv6, kIpProtoAh, concat({ah, payload}));
    b.ipsec_offset = ipv6 ? 40 : 20;
    b.pkt = view;
    sign_ah(e, view, b.ipsec_offset, seq64, b.pkt);
    ipv6 ? transit_ipv6(b.pkt) : transit_ipv4(b.pkt);
    b.icv_offset = b.ipsec_offset + ah_icv_offset(e);
    b.icv_len = e.icv_len;
    return b;
}

Built build(const Combo& c, uint64_t seq64 = kSeq64) {
    const CamEntry e = entry_of(c);
    if (c.proto == kIpProtoAh) return build_ah(e, c.ipv6, seq64, pattern(45, 0x31), 6);
    EspBuild eb;
    eb.payload = ipv4_packet(17, pattern(37, 0x72));
    eb.seq64 = seq64;
    return build_esp(e, c.ipv6, eb);
}

PortionResult process(CryptoEngine& engine, Bytes& buf, bool tunnel = false, size_t index = 0) {
    return engine.process(index, buf.data(), buf.size(), walk_ip(buf), tunnel);
}

bool has_integrity(const Combo& c) { return c.proto == kIpProtoAh || c.auth != kAuthNone || c.enc & 0x38; }

CryptoStatus auth_failed(const Combo& c, bool tunnel) {
    if (c.proto == kIpProtoAh)
        return tunnel ? CryptoStatus::TunnelAhAuthFailed : CryptoStatus::TransportAhAuthFailed;
    return tunnel ? CryptoStatus::TunnelEspAuthFailed : CryptoStatus::TransportEspAuthFailed;
}

std::vector<Combo> all_combos() {
    std::vector<Combo> out;
    for (bool esn : {false, true}) {
        for (uint32_t gcm : {kEncAesGcm128, kEncAesGcm192, kEncAesGcm256})
            for (uint8_t icv : {8, 12, 16}) out.push_back({kIpProtoEsp, gcm, kAuthNone, icv, esn, esn});
        for (uint32_t gmac : {kAuthAesGmac128, kAuthAesGmac192, kAuthAesGmac256})
            out.push_back({kIpProtoEsp, kEncNull, gmac, 0, esn, false});
        for (uint32_t enc : {kEncNull, kEncDesCbc, kEnc3DesCbc, kEncAesCbc128, kEncAesCbc192, kEncAesCbc256})
            for (uint32_t auth : {kAuthMd5, kAuthSha1, kAuthSha256})
                out.push_back({kIpProtoEsp, enc, auth, 0, esn, enc == kEncAesCbc192});
        for (uint32_t enc : {kEncDesCbc, kEnc3DesCbc, kEncAesCbc128, kEncAesCbc256})
            out.push_back({kIpProtoEsp, enc, kAuthNone, 0, esn, false});
        for (uint32_t auth :
             {kAuthMd5, kAuthSha1, kAuthSha256, kAuthAesGmac128, kAuthAesGmac192, kAuthAesGmac256})
            for (bool ipv6 : {false, true}) out.push_back({kIpProtoAh, kEncAbsent, auth, 0, esn, ipv6});
    }
    return out;
}

std::vector<Combo> integrity_combos() {
    std::vector<Combo> out;
    for (const Combo& c : all_combos())
        if (has_integrity(c)) out.push_back(c);
    return out;
}

class CryptoEngineCombo : public ::testing::TestWithParam<Combo> {
protected:
    void SetUp() override { ASSERT_TRUE(engine_.install(0, entry_of(GetParam()))); }
    CryptoEngine engine_{4};
};
using CryptoEngineIntegrity = CryptoEngineCombo;

TEST_P(CryptoEngineCombo, DecryptsAndReportsTheTrailer) {
    const Built b = build(GetParam());
    Bytes buf = b.pkt;
    const PortionResult r = process(engine_, buf);
    ASSERT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.next_header, b.next_header);
    EXPECT_EQ(r.seq64, GetParam().esn ? kSeq64 : kSeq64 & 0xFFFF'FFFF);
    const Bytes got(buf.begin() + r.payload_offset, buf.begin() + r.payload_offset + r.payload_length);
    EXPECT_EQ(to_hex(got), to_hex(b.payload));
    // Headers and ICV stay as received; AH changes nothing at all.
    EXPECT_EQ(to_hex(buf.data(), b.ipsec_offset + 8), to_hex(b.pkt.data(), b.ipsec_offset + 8));
    EXPECT_EQ(to_hex(buf.data() + b.icv_offset, b.icv_len), to_hex(b.pkt.data() + b.icv_offset, b.icv_len));
    if (GetParam().proto == kIpProtoAh) {
        EXPECT_EQ(to_hex(buf), to_hex(b.pkt));
        EXPECT_FALSE(r.header_info_set);
        EXPECT_EQ(r.payload_offset + r.payload_length, buf.size());
    } else {
        EXPECT_TRUE(r.header_info_set);
        const size_t pad = b.icv_offset - 2 - (r.payload_offset + r.payload_length);
        EXPECT_EQ(r.pad_length, pad);
    }
}

TEST_P(CryptoEngineIntegrity, EveryIcvBitFlipFails) {
    const Built b = build(GetParam());
    for (size_t bit = 0; bit < b.icv_len * 8; ++bit) {
        Bytes buf = b.pkt;
        buf[b.icv_offset + bit / 8] ^= uint8_t(0x80 >> (bit % 8));
        const Bytes sent = buf;
        const bool tunnel = bit % 2;
        const PortionResult r = process(engine_, buf, tunnel);
        ASSERT_EQ(r.status, auth_failed(GetParam(), tunnel)) << "bit " << bit;
        EXPECT_FALSE(r.header_info_set);
        ASSERT_EQ(buf, sent) << "a failed packet must not be modified, bit " << bit;
    }
    Bytes good = b.pkt;
    EXPECT_EQ(process(engine_, good).status, CryptoStatus::Success) << "the failures must not poison the SA";
}

// Bytes the ICV covers besides the ICV itself: SPI, sequence number, IV, first and last covered byte;
// AH also the immutable IP source address and the AH next header.
TEST_P(CryptoEngineIntegrity, CoveredByteFlipsFail) {
    const Built b = build(GetParam());
    std::vector<size_t> offsets = {b.ipsec_offset + (GetParam().proto == kIpProtoAh ? 4 : 0),
                                   b.ipsec_offset + (GetParam().proto == kIpProtoAh ? 11 : 7),
                                   b.ipsec_offset + (GetParam().proto == kIpProtoAh ? 12 : 8),
                                   b.icv_offset - 1};
    if (GetParam().proto == kIpProtoAh)
        offsets.insert(offsets.end(), {size_t(GetParam().ipv6 ? 8 : 12), b.ipsec_offset, b.pkt.size() - 1});
    for (size_t off : offsets) {
        Bytes buf = b.pkt;
        buf[off] ^= 0x01;
        const Bytes sent = buf;
        EXPECT_EQ(process(engine_, buf).status, auth_failed(GetParam(), false)) << "offset " << off;
        EXPECT_EQ(buf, sent);
    }
}

// Shortened datagrams are never a success; below the fixed overhead they are a syntax error.
TEST_P(CryptoEngineIntegrity, TruncationNeverSucceeds) {
    const Built b = build(GetParam());
    const ParseResult full = walk_ip(b.pkt);
    const CamEntry e = entry_of(GetParam());
    const CipherInfo ci = cipher_info(e.enc_alg, e.icv_len);
    const size_t iv = auth_info(e.auth_alg).gmac ? 8 : ci.iv_len;
    const size_t minimum =
        GetParam().proto == kIpProtoAh ? b.icv_offset + b.icv_len : b.ipsec_offset + 8 + iv + 2 + e.icv_len;
    for (size_t n = b.ipsec_offset; n < b.pkt.size(); ++n) {
        Bytes buf(b.pkt.begin(), b.pkt.begin() + long(n));
        ParseResult p = full;
        p.l3_length = uint32_t(n);
        const PortionResult r = engine_.process(0, buf.data(), buf.size(), p, false);
        ASSERT_NE(r.status, CryptoStatus::Success) << "length " << n;
        if (n < minimum) {
            ASSERT_EQ(r.status, CryptoStatus::InvalidPacketSyntax) << "length " << n;
        }
        // The IP header claims more than the buffer holds.
        ParseResult claims_full = full;
        ASSERT_EQ(engine_.process(0, buf.data(), buf.size(), claims_full, false).status,
                  CryptoStatus::InvalidPacketSyntax);
    }
}

// process() allocates nothing once the SA is installed and the first packet went through.
TEST_P(CryptoEngineCombo, NoAllocationPerPacket) {
    const Built b = build(GetParam());
    Bytes warm = b.pkt;
    ASSERT_EQ(process(engine_, warm).status, CryptoStatus::Success);
    std::vector<Bytes> copies(8, b.pkt);
    const ParseResult p = walk_ip(b.pkt);
    arm_allocation_counter();
    bool all_ok = true;
    for (Bytes& buf : copies)
        all_ok &= engine_.process(0, buf.data(), buf.size(), p, false).status == CryptoStatus::Success;
    const long allocations = disarm_allocation_counter();
    EXPECT_TRUE(all_ok);
    EXPECT_EQ(allocations, 0);
}

INSTANTIATE_TEST_SUITE_P(All, CryptoEngineCombo, ::testing::ValuesIn(all_combos()), combo_name);
INSTANTIATE_TEST_SUITE_P(All, CryptoEngineIntegrity, ::testing::ValuesIn(integrity_combos()), combo_name);

// GCM decrypts in place, Botan's update blocks in the buffer itself: a failed packet of any length has its
// blocks put back (encrypted again), and the SA still decrypts the good one afterwards.
TEST(CryptoEngineGcmInPlace, FailedPacketsOfEveryLengthStayAsReceived) {
    for (uint32_t gcm : {kEncAesGcm128, kEncAesGcm256}) {
        const CamEntry e = make_entry(kIpProtoEsp, gcm, kAuthNone, 16, false, kSeqHi);
        CryptoEngine engine(1);
        ASSERT_TRUE(engine.install(0, e));
        for (size_t n : {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 511, 1400, 1500, 9000}) {
            const Built b = build_esp(e, false, EspBuild(pattern(n, uint8_t(n)), 17, 1000 + n));
            for (size_t off : {b.icv_offset + b.icv_len - 1, b.ipsec_offset + 8 + 8, b.icv_offset - 1}) {
                Bytes buf = b.pkt;
                buf[off] ^= 0x04;
                const Bytes sent = buf;
                ASSERT_EQ(process(engine, buf).status, CryptoStatus::TransportEspAuthFailed) << n << " " << off;
                ASSERT_EQ(buf, sent) << "payload " << n << ", byte " << off << " flipped: not as received";
            }
            Bytes good = b.pkt;
            const PortionResult r = process(engine, good);
            ASSERT_EQ(r.status, CryptoStatus::Success) << n;
            EXPECT_EQ(Bytes(good.begin() + r.payload_offset, good.begin() + r.payload_offset + r.payload_length),
                      pattern(n, uint8_t(n)));
        }
    }
}

// ---- install ----------------------------------------------------------------------------------------------

TEST(CryptoEngineInstall, RefusesWhatItCannotRun) {
    struct Bad {
        const char* why;
        CamEntry e;
    };
    auto with = [](CamEntry e, auto change) {
        change(e);
        return e;
    };
    const CamEntry gcm = make_entry(kIpProtoEsp, kEncAesGcm128, kAuthNone);
    const CamEntry cbc = make_entry(kIpProtoEsp, kEncAesCbc128, kAuthSha256);
    const CamEntry ah = make_entry(kIpProtoAh, kEncAbsent, kAuthSha1);
    const std::vector<Bad> bad = {
        {"GCM with an auth algorithm", with(gcm,
                                            [](CamEntry& e) {
                                                e.auth_alg = kAuthSha1;
                                                e.auth_key_len = 20;
                                            })},
        {"GCM ICV 4", with(gcm, [](CamEntry& e) { e.icv_len = 4; })},
        {"GCM ICV 0", with(gcm, [](CamEntry& e) { e.icv_len = 0; })},
        {"GCM-128 with a 24-byte key", with(gcm, [](CamEntry& e) { e.enc_key_len = 24; })},
        {"AES-CBC-128 with a 32-byte key", with(cbc, [](CamEntry& e) { e.enc_key_len = 32; })},
        {"HMAC-SHA256 with a 20-byte key", with(cbc, [](CamEntry& e) { e.auth_key_len = 20; })},
        {"HMAC-SHA256 with ICV 12", with(cbc, [](CamEntry& e) { e.icv_len = 12; })},
        {"3DES with a 16-byte key", with(cbc,
                                         [](CamEntry& e) {
                                             e.enc_alg = kEnc3DesCbc;
                                             e.enc_key_len = 16;
                                         })},
        {"CBC with GMAC", with(cbc,
                               [](CamEntry& e) {
                                   e.auth_alg = kAuthAesGmac128;
                                   e.auth_key_len = 16;
                               })},
        {"NULL without integrity", make_entry(kIpProtoEsp, kEncNull, kAuthNone)},
        {"two encryption bits", with(cbc, [](CamEntry& e) { e.enc_alg = kEncAesCbc128 | kEncAesCbc256; })},
        {"unknown auth bit", with(cbc, [](CamEntry& e) { e.auth_alg = 0x40; })},
        {"AH without auth", with(ah, [](CamEntry& e) { e.auth_alg = kAuthNone; })},
        {"AH with encryption", with(ah,
                                    [](CamEntry& e) {
                                        e.enc_alg = kEncAesCbc128;
                                        e.enc_key_len = 16;
                                    })},
        {"GMAC ICV 12", make_entry(kIpProtoAh, kEncAbsent, kAuthAesGmac128, 12)},
        {"protocol 17", with(ah, [](CamEntry& e) { e.proto = 17; })},
    };
    CryptoEngine engine(2);
    for (const Bad& b : bad) EXPECT_FALSE(engine.install(0, b.e)) << b.why;
    EXPECT_FALSE(engine.install(2, cbc)) << "index out of range";
    Bytes buf = build_esp(cbc, false, EspBuild{pattern(20, 1)}).pkt;
    EXPECT_EQ(process(engine, buf).status, CryptoStatus::GenericError)
        << "a refused install leaves the slot empty";
}

TEST(CryptoEngineInstall, RemoveEmptiesTheSlotAndReinstallResetsIt) {
    const CamEntry e = make_entry(kIpProtoEsp, kEncAesGcm256, kAuthNone, 16);
    CryptoEngine engine(3);
    ASSERT_TRUE(engine.install(2, e));
    Bytes buf = build_esp(e, false, EspBuild{pattern(30, 2)}).pkt;
    Bytes copy = buf;
    EXPECT_EQ(process(engine, buf, false, 2).status, CryptoStatus::Success);
    engine.remove(2);
    EXPECT_EQ(process(engine, copy, false, 2).status, CryptoStatus::GenericError);
    EXPECT_EQ(process(engine, copy, false, 7).status, CryptoStatus::GenericError);
}

// ---- ESP framing and trailer ------------------------------------------------------------------------------

std::vector<CamEntry> trailer_entries() {
    return {make_entry(kIpProtoEsp, kEncAesCbc128, kAuthSha1),
            make_entry(kIpProtoEsp, kEncAesGcm128, kAuthNone, 16),
            make_entry(kIpProtoEsp, kEncNull, kAuthSha256),
            make_entry(kIpProtoEsp, kEncNull, kAuthAesGmac256),
            make_entry(kIpProtoEsp, kEnc3DesCbc, kAuthMd5),
            make_entry(kIpProtoEsp, kEncDesCbc, kAuthNone)};
}

PortionResult run_esp(const CamEntry& e, const EspBuild& eb) {
    CryptoEngine engine(1);
    EXPECT_TRUE(engine.install(0, e));
    Bytes buf = build_esp(e, false, eb).pkt;
    return process(engine, buf);
}

TEST(CryptoEngineTrailer, BadPaddingIsInvalidSyntax) {
    for (const CamEntry& e : trailer_entries()) {
        SCOPED_TRACE(entry_name(e));
        const size_t align = std::max<size_t>(cipher_info(e.enc_alg, e.icv_len).block_len, 4);
        EspBuild eb{pattern(align * 3 - 2 - 4, 9)};  // 4 bytes of padding
        eb.padding = Bytes{1, 2, 3, 4};
        EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::Success);
        eb.padding = Bytes{1, 2, 4, 4};
        EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::InvalidPacketSyntax);
        eb.padding = Bytes{0, 0, 0, 0};
        EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::InvalidPacketSyntax);
        eb.padding = Bytes{1, 2, 3, 4};
        eb.pad_length = 3;  // 3 is not the padding that is there: byte before is payload
        EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::InvalidPacketSyntax);
        eb.pad_length = uint8_t(eb.payload.size() + 4 + 1);  // one more than the payload holds
        EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::InvalidPacketSyntax);
    }
}

// The pad length reaches one byte in front of the payload, where the sequence number's last byte (1) looks
// like the first pad byte: still a syntax error, never a wrapped payload length.
TEST(CryptoEngineTrailer, PadLengthBeyondThePayloadEvenIfTheBytesLookRight) {
    const CamEntry e = make_entry(kIpProtoEsp, kEncNull, kAuthSha256);
    EspBuild eb(Bytes{}, 17, 1);
    eb.padding = Bytes{2, 3, 4, 5, 6, 7};
    eb.pad_length = 7;
    EXPECT_EQ(run_esp(e, eb).status, CryptoStatus::InvalidPacketSyntax);
}

TEST(CryptoEngineTrailer, PaddingOnlyPacketHasAnEmptyPayload) {
    for (const CamEntry& e : trailer_entries()) {
        SCOPED_TRACE(entry_name(e));
        const size_t align = std::max<size_t>(cipher_info(e.enc_alg, e.icv_len).block_len, 4);
        EspBuild eb{Bytes{}, 59};
        eb.padding = pattern(2 * align - 2, 1);
        for (size_t i = 0; i < eb.padding->size(); ++i) (*eb.padding)[i] = uint8_t(i + 1);
        const PortionResult r = run_esp(e, eb);
        EXPECT_EQ(r.status, CryptoStatus::Success);
        EXPECT_EQ(r.payload_length, 0u);
        EXPECT_EQ(r.pad_length, 2 * align - 2);
        EXPECT_EQ(r.next_header, 59);
    }
}

TEST(CryptoEngineTrailer, CbcCiphertextMustBeWholeBlocks) {
    const CamEntry e = make_entry(kIpProtoEsp, kEncAesCbc256, kAuthSha256);
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    Bytes esp = esp_encapsulate(e, EspBuild{pattern(40, 3)});
    esp.insert(esp.end() - 16, uint8_t(0));  // one byte more ciphertext than whole blocks
    Bytes buf = ipv4_packet(kIpProtoEsp, esp);
    EXPECT_EQ(process(engine, buf).status, CryptoStatus::InvalidPacketSyntax);
}

TEST(CryptoEngineFraming, EthernetPaddingAfterTheDatagramIsIgnored) {
    const CamEntry e = make_entry(kIpProtoEsp, kEncAesCbc128, kAuthSha256);
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    const Built b = build_esp(e, false, EspBuild{pattern(5, 3)});  // a runt: the frame gets padded
    Bytes buf = concat({Bytes(14, 0x11), b.pkt, Bytes(17, 0xEE)});
    const PortionResult r = engine.process(0, buf.data(), buf.size(), walk_ip(buf, 14), false);
    ASSERT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.payload_offset, 14 + 20 + 8 + 16);
    EXPECT_EQ(to_hex(buf.data() + r.payload_offset, r.payload_length), to_hex(b.payload));
    EXPECT_EQ(to_hex(buf.data() + buf.size() - 17, 17), std::string(34, 'e'));
}

TEST(CryptoEngineFraming, ProtocolMismatchIsInvalidProtocol) {
    const CamEntry e = make_entry(kIpProtoEsp, kEncAesGcm128, kAuthNone, 16);
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    Bytes buf = build_esp(e, false, EspBuild{pattern(30, 1)}).pkt;
    ParseResult p = walk_ip(buf);
    p.ipsec_proto = kIpProtoAh;
    EXPECT_EQ(engine.process(0, buf.data(), buf.size(), p, false).status, CryptoStatus::InvalidProtocol);
}

// ---- AH header and mutable fields -------------------------------------------------------------------------

TEST(CryptoEngineAh, PayloadLengthFieldMustFitTheIcv) {
    const CamEntry e = make_entry(kIpProtoAh, kEncAbsent, kAuthSha256);  // 12 + 16 = 28 bytes
    const Built b = build_ah(e, false, 7, pattern(64, 4), 17);
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    for (int delta : {-1, 2, 20, 200}) {
        Bytes buf = b.pkt;
        buf[b.ipsec_offset + 1] = uint8_t(buf[b.ipsec_offset + 1] + delta);
        EXPECT_EQ(process(engine, buf).status, CryptoStatus::InvalidPacketSyntax) << "delta " << delta;
    }
    Bytes padded = b.pkt;  // 32 bytes is the 8-aligned form, valid over IPv4: then the ICV decides
    padded[b.ipsec_offset + 1] += 1;
    EXPECT_EQ(process(engine, padded).status, CryptoStatus::TransportAhAuthFailed);
    Bytes buf = b.pkt;
    EXPECT_EQ(process(engine, buf).status, CryptoStatus::Success);
}

TEST(CryptoEngineAh, Ipv6NeedsEightByteAlignment) {
    const CamEntry e = make_entry(kIpProtoAh, kEncAbsent, kAuthAesGmac128);  // 12 + 8 + 16 = 36 bytes
    const Built b = build_ah(e, true, 7, pattern(64, 4), 17);
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    Bytes buf = b.pkt;
    ASSERT_EQ(buf[b.ipsec_offset + 1], 40 / 4 - 2);
    EXPECT_EQ(process(engine, buf).status, CryptoStatus::Success);
    buf[b.ipsec_offset + 1] -= 1;  // 36: fine for IPv4, not for IPv6
    EXPECT_EQ(process(engine, buf).status, CryptoStatus::InvalidPacketSyntax);
}

// IPv4 options: Router Alert and Security are immutable, Timestamp is mutable (zeroed), LSRR contributes its
// final destination. Routers change TOS/TTL/DF/checksum and the timestamp; the ICV must still verify.
TEST(CryptoEngineAh, Ipv4OptionsAndMutableFields) {
    for (uint32_t auth : {kAuthSha1, kAuthAesGmac128}) {
        const CamEntry e = make_entry(kIpProtoAh, kEncAbsent, auth, 0, true, 3);
        SCOPED_TRACE(entry_name(e));
        const uint64_t seq64 = (3ull << 32) | 77;
        const Bytes router_alert = {148, 4, 0, 0};
        const Bytes security = {130, 11, 0xF1, 0x35, 0, 0, 0, 0, 0, 0, 7};
        const Bytes timestamp_sent(12, 0);  // mutable: counts as zero
        const Bytes timestamp_wire = {68, 12, 13, 0x01, 10, 0, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD};
        const Bytes lsrr_view(11, 0);  // mutable; its final hop 198.51.100.7 is the ICV's destination
        const Bytes lsrr_wire = {131, 11, 12, 203, 0, 113, 9, 198, 51, 100, 7};
        const Bytes opts_view = concat({{1}, router_alert, security, timestamp_sent, lsrr_view, {0}});
        const Bytes opts_wire = concat({{1}, router_alert, security, timestamp_wire, lsrr_wire, {0}});
        ASSERT_EQ(opts_view.size(), 40u);

        const Bytes payload = pattern(33, 0x5C);
        const Bytes ah = ah_header(e, 17, seq64, 4);
        const Bytes view = ipv4_packet(kIpProtoAh, concat({ah, payload}), opts_view);
        Bytes wire = ipv4_packet(kIpProtoAh, concat({ah, payload}), opts_wire);
        const uint8_t hop[] = {203, 0, 113, 1};  // LSRR: the destination field holds the current hop
        std::copy(hop, hop + 4, wire.begin() + 16);
        sign_ah(e, view, 60, seq64, wire);
        transit_ipv4(wire);

        CryptoEngine engine(1);
        ASSERT_TRUE(engine.install(0, e));
        Bytes buf = wire;
        const PortionResult r = process(engine, buf);
        ASSERT_EQ(r.status, CryptoStatus::Success);
        EXPECT_EQ(r.seq64, seq64);
        EXPECT_EQ(buf, wire) << "AH must not modify the packet";
        EXPECT_EQ(r.payload_offset, 60 + ah.size());

        for (size_t off : {size_t(20 + 1 + 3), size_t(20 + 5 + 10), size_t(20 + 28 + 10), size_t(12)}) {
            Bytes tampered = wire;  // router alert value, security level, LSRR final hop, source address
            tampered[off] ^= 0x04;
            fix_ipv4_checksum(tampered);
            EXPECT_EQ(process(engine, tampered).status, CryptoStatus::TransportAhAuthFailed)
                << "offset " << off;
        }
        Bytes bad_option = wire;
        bad_option[20 + 5 + 1] = 60;  // security option length runs past the header
        EXPECT_EQ(process(engine, bad_option).status, CryptoStatus::InvalidPacketSyntax);
    }
}

// IPv6: traffic class, flow label, hop limit and options with the 0x20 "may change" bit are mutable; a
// routing header with segments left 0 and other options are authenticated as sent.
TEST(CryptoEngineAh, Ipv6ExtensionHeadersAndMutableFields) {
    for (uint32_t auth : {kAuthMd5, kAuthSha256, kAuthAesGmac256}) {
        const CamEntry e = make_entry(kIpProtoAh, kEncAbsent, auth);
        SCOPED_TRACE(entry_name(e));
        const Bytes hbh = {43, 0, 0x1E, 2, 0xAB, 0xCD, 0, 0};  // immutable option, two Pad1
        Bytes routing(24);                                     // type 2, segments left 0, one address
        routing[0] = 60;
        routing[1] = 2;
        routing[2] = 2;
        for (size_t i = 8; i < 24; ++i) routing[i] = uint8_t(0x20 + i);
        const Bytes dst_view = {51, 0, 0x3E, 4, 0, 0, 0, 0};  // mutable option: zero in the ICV
        const Bytes dst_wire = {51, 0, 0x3E, 4, 9, 8, 7, 6};
        const Bytes payload = pattern(50, 0x17);
        const Bytes ah = ah_header(e, 6, 5, 8);
        const Bytes view = ipv6_packet(0, concat({hbh, routing, dst_view, ah, payload}));
        Bytes wire = ipv6_packet(0, concat({hbh, routing, dst_wire, ah, payload}));
        const size_t ah_off = 40 + 8 + 24 + 8;
        sign_ah(e, view, ah_off, 5, wire);
        transit_ipv6(wire);

        CryptoEngine engine(1);
        ASSERT_TRUE(engine.install(0, e));
        Bytes buf = wire;
        const PortionResult r = process(engine, buf, true);
        ASSERT_EQ(r.status, CryptoStatus::Success);
        EXPECT_EQ(r.next_header, 6);
        EXPECT_EQ(r.payload_offset, ah_off + ah.size());
        EXPECT_EQ(buf, wire);

        for (size_t off : {size_t(40 + 4), size_t(40 + 8 + 20), size_t(40 + 32 + 2), size_t(24)}) {
            Bytes tampered = wire;  // HBH immutable data, routing address, option type, destination
            tampered[off] ^= 0x01;
            EXPECT_EQ(process(engine, tampered, true).status, CryptoStatus::TunnelAhAuthFailed)
                << "offset " << off;
        }
    }
}

// A type 0 routing header still in transit (segments left 2 or 1) is authenticated in the form it has at the
// final destination F (RFC 4302 3.3.3.1.2.2): destination F, segments left 0, the visited hops in order.
TEST(CryptoEngineAh, Ipv6RoutingHeaderInTransitUsesItsFinalForm) {
    const CamEntry e = make_entry(kIpProtoAh, kEncAbsent, kAuthSha256);
    auto addr = [](uint8_t last) {
        Bytes a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
        return a;
    };
    const Bytes h1 = addr(0x11), a2 = addr(0x22), f = addr(0xFF);
    auto routing = [](uint8_t segments_left, const Bytes& first, const Bytes& second) {
        return concat({{kIpProtoAh, 4, 0, segments_left, 0, 0, 0, 0}, first, second});
    };
    auto packet = [&](const Bytes& dst, const Bytes& rh) {
        Bytes pkt = ipv6_packet(43, concat({rh, ah_header(e, 59, 3, 8), pattern(16, 9)}));
        std::copy(dst.begin(), dst.end(), pkt.begin() + 24);
        return pkt;
    };
    const Bytes view = packet(f, routing(0, h1, a2));
    const size_t ah_off = 40 + 40;
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, e));
    for (const Bytes& sent : {packet(h1, routing(2, a2, f)), packet(a2, routing(1, h1, f)), view}) {
        Bytes wire = sent;
        sign_ah(e, view, ah_off, 3, wire);
        Bytes buf = wire;
        EXPECT_EQ(process(engine, buf).status, CryptoStatus::Success);
        EXPECT_EQ(buf, wire);
    }
}

// ---- AH + ESP bundle --------------------------------------------------------------------------------------

TEST(CryptoEngineBundle, AhThenEspOnTheSamePacket) {
    const CamEntry ah_sa = make_entry(kIpProtoAh, kEncAbsent, kAuthSha256);
    CamEntry esp_sa = make_entry(kIpProtoEsp, kEncAesCbc128, kAuthSha1);
    esp_sa.spi = 0x0BAD'F00D;
    EspBuild eb{ipv4_packet(6, pattern(60, 0x44)), 4, 9};
    const Bytes esp = esp_encapsulate(esp_sa, eb);
    const Built b = build_ah(ah_sa, false, 9, esp, kIpProtoEsp);

    CryptoEngine engine(2);
    ASSERT_TRUE(engine.install(0, ah_sa));
    ASSERT_TRUE(engine.install(1, esp_sa));
    Bytes buf = b.pkt;
    const ParseResult p = walk_ip(buf);
    const PortionResult outer = engine.process(0, buf.data(), buf.size(), p, true);
    ASSERT_EQ(outer.status, CryptoStatus::Success);
    EXPECT_EQ(outer.next_header, kIpProtoEsp);
    ParseResult inner = p;
    inner.ipsec_offset = uint16_t(outer.payload_offset);
    inner.ipsec_proto = kIpProtoEsp;
    const PortionResult r = engine.process(1, buf.data(), buf.size(), inner, true);
    ASSERT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.next_header, 4);
    EXPECT_EQ(to_hex(buf.data() + r.payload_offset, r.payload_length), to_hex(eb.payload));

    Bytes tampered = b.pkt;
    tampered[tampered.size() - 20] ^= 0x10;  // inside the ESP ciphertext: AH sees it first
    EXPECT_EQ(engine.process(0, tampered.data(), tampered.size(), p, true).status,
              CryptoStatus::TunnelAhAuthFailed);
    EXPECT_EQ(engine.process(1, tampered.data(), tampered.size(), inner, true).status,
              CryptoStatus::TunnelEspAuthFailed);
}

// ---- ESN --------------------------------------------------------------------------------------------------

class CryptoEngineEsn : public ::testing::TestWithParam<CamEntry> {
protected:
    // A packet of this SA sent with the full 64-bit sequence number seq64.
    Bytes packet(uint64_t seq64) {
        const CamEntry& e = GetParam();
        if (e.proto == kIpProtoAh) return build_ah(e, false, seq64, pattern(20, uint8_t(seq64)), 17).pkt;
        EspBuild eb{pattern(20, uint8_t(seq64)), 17, seq64};
        return build_esp(e, false, eb).pkt;
    }
    PortionResult send(CryptoEngine& engine, uint64_t seq64) {
        Bytes buf = packet(seq64);
        return process(engine, buf);
    }
    static uint64_t seq(uint32_t hi, uint32_t lo) { return (uint64_t(hi) << 32) | lo; }
};

std::vector<CamEntry> esn_entries() {
    return {make_entry(kIpProtoEsp, kEncAesGcm128, kAuthNone, 16, true, 7),
            make_entry(kIpProtoEsp, kEncAesCbc128, kAuthSha256, 0, true, 7),
            make_entry(kIpProtoEsp, kEncNull, kAuthAesGmac128, 0, true, 7),
            make_entry(kIpProtoAh, kEncAbsent, kAuthSha1, 0, true, 7),
            make_entry(kIpProtoAh, kEncAbsent, kAuthAesGmac192, 0, true, 7)};
}

TEST_P(CryptoEngineEsn, WrapInferenceAndLatePackets) {
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, GetParam()));
    // First packet: the host's seq_hi as is, even far from 0 in the low half.
    EXPECT_EQ(send(engine, seq(7, 0xFFFF'FFF0)).seq64, seq(7, 0xFFFF'FFF0));
    // Wrap: a small seq_low after T near 2^32 belongs to the next epoch.
    PortionResult r = send(engine, seq(8, 5));
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, seq(8, 5));
    // A late packet from before the wrap: far above T's low half, so the previous epoch.
    r = send(engine, seq(7, 0xFFFF'FFF5));
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, seq(7, 0xFFFF'FFF5));
    // Within half the space of T: the same epoch.
    r = send(engine, seq(8, 0x7000'0000));
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, seq(8, 0x7000'0000));
}

TEST_P(CryptoEngineEsn, FailedPacketsDoNotAdvanceT) {
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, GetParam()));
    ASSERT_EQ(send(engine, seq(7, 0xFFFF'FFF0)).status, CryptoStatus::Success);
    ASSERT_EQ(send(engine, seq(8, 5)).status, CryptoStatus::Success);  // T = 8:5
    Bytes forged = packet(seq(8, 0x7000'0000));
    forged[forged.size() - 1] ^= 1;
    ASSERT_NE(process(engine, forged).status, CryptoStatus::Success);
    // With T = 8:5, 0xE0000000 is more than 2^31 above: epoch 7. Had the forgery moved T to 8:0x70000000
    // it would be inferred as epoch 8 and fail.
    const PortionResult r = send(engine, seq(7, 0xE000'0000));
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, seq(7, 0xE000'0000));
}

TEST_P(CryptoEngineEsn, SetSeqHiReplacesTheHighHalf) {
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, GetParam()));
    ASSERT_EQ(send(engine, seq(7, 100)).status, CryptoStatus::Success);
    engine.set_seq_hi(0, 3);
    PortionResult r = send(engine, seq(3, 101));
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, seq(3, 101));
    EXPECT_NE(send(engine, seq(7, 102)).status, CryptoStatus::Success);
    engine.set_seq_hi(5, 1);  // no such slot: ignored
}

TEST_P(CryptoEngineEsn, WrongHighHalfFailsAndNonEsnSaIgnoresIt) {
    CryptoEngine engine(1);
    ASSERT_TRUE(engine.install(0, GetParam()));
    EXPECT_EQ(send(engine, seq(6, 1)).status,
              auth_failed(Combo{GetParam().proto, 0, 0, 0, true, false}, false));
    CamEntry plain = GetParam();
    plain.esn = false;
    plain.seq_hi = 0;
    ASSERT_TRUE(engine.install(0, plain));
    Bytes buf = packet(seq(0, 42));  // built for the ESN entry: seq_hi 0 authenticated, so it fails here
    EXPECT_NE(process(engine, buf).status, CryptoStatus::Success);
    CryptoEngine plain_engine(1);
    ASSERT_TRUE(plain_engine.install(0, plain));
    const Built b = GetParam().proto == kIpProtoAh
                        ? build_ah(plain, false, 42, pattern(20, 1), 17)
                        : build_esp(plain, false, EspBuild{pattern(20, 1), 17, 42});
    Bytes ok = b.pkt;
    const PortionResult r = process(plain_engine, ok);
    EXPECT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64, 42u);
}

INSTANTIATE_TEST_SUITE_P(All, CryptoEngineEsn, ::testing::ValuesIn(esn_entries()),
                         [](const ::testing::TestParamInfo<CamEntry>& info) {
                             return entry_name(info.param);
                         });

}  // namespace
}  // namespace ov2::test
