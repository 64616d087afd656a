// The published receive vectors (shared/vectors/published) through the crypto engine: every case whose
// algorithms IPsecOV2 can name. no_sa cases are the CAM's business and only counted.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include "crypto_test_util.h"

namespace ov2::test {
namespace {

using json = nlohmann::json;
using namespace ndis;

const json& all_cases() {
    static const json cases = [] {
        std::ifstream in(std::string(OV2_SHARED_DIR) + "/vectors/published/published_vectors.json");
        if (!in) throw std::runtime_error("published_vectors.json not found under OV2_SHARED_DIR");
        return json::parse(in).at("cases");
    }();
    return cases;
}

std::string str(const json& c, const char* key) {
    return c.contains(key) && c[key].is_string() ? c[key].get<std::string>() : std::string();
}

uint32_t by_key_len(size_t len, uint32_t a128, uint32_t a192, uint32_t a256) {
    return len == 16 ? a128 : len == 24 ? a192 : len == 32 ? a256 : 0;
}

// The vector's enc name -> IPsecOV2 encryption id (0: not nameable). null-aes-gmac is ENCRYPTION_NONE
// plus an AES-GMAC authentication algorithm.
uint32_t encryption_id(const std::string& enc, size_t key_len) {
    if (enc == "null" || enc == "null-aes-gmac") return kEncNull;
    if (enc == "aes-cbc") return by_key_len(key_len, kEncAesCbc128, kEncAesCbc192, kEncAesCbc256);
    if (enc == "aes-gcm") return by_key_len(key_len, kEncAesGcm128, kEncAesGcm192, kEncAesGcm256);
    if (enc == "3des-cbc") return kEnc3DesCbc;
    if (enc == "des-cbc") return kEncDesCbc;
    return 0;
}

// kAuthNone is a valid answer, so "not nameable" is reported separately.
std::optional<uint32_t> authentication_id(const std::string& auth, const std::string& enc,
                                          size_t gmac_key_len) {
    if (enc == "null-aes-gmac" || auth == "aes-gmac")
        return by_key_len(gmac_key_len, kAuthAesGmac128, kAuthAesGmac192, kAuthAesGmac256);
    if (auth == "aead" || auth == "null") return kAuthNone;
    if (auth == "hmac-md5-96") return kAuthMd5;
    if (auth == "hmac-sha1-96") return kAuthSha1;
    if (auth == "hmac-sha256-128") return kAuthSha256;
    return std::nullopt;
}

void copy_key(const Bytes& key, std::array<uint8_t, 32>& dst, uint8_t& len) {
    std::copy(key.begin(), key.end(), dst.begin());
    len = uint8_t(key.size());
}

// Vector case -> CAM entry; nullopt when IPsecOV2 cannot name its algorithms.
std::optional<CamEntry> entry_for(const json& c) {
    const std::string enc = str(c, "enc"), auth = str(c, "auth");
    const Bytes enc_key = from_hex(str(c, "enc_key")), auth_key = from_hex(str(c, "auth_key"));
    const bool gmac_esp = enc == "null-aes-gmac";
    CamEntry e;
    e.valid = true;
    e.proto = str(c, "protocol") == "ah" ? kIpProtoAh : kIpProtoEsp;
    e.mode = str(c, "mode") == "tunnel" ? SaMode::Tunnel : SaMode::Transport;
    e.spi = c.at("spi").get<uint32_t>();
    e.esn = c.value("esn", false);
    e.seq_hi = c.contains("seq_hi") && c["seq_hi"].is_number() ? c["seq_hi"].get<uint32_t>() : 0;
    e.icv_len = c.at("icv_len").get<uint8_t>();
    e.enc_alg = e.proto == kIpProtoAh ? kEncAbsent : encryption_id(enc, enc_key.size());
    const auto auth_id = authentication_id(auth, enc, gmac_esp ? enc_key.size() : auth_key.size());
    if ((e.proto == kIpProtoEsp && e.enc_alg == 0) || !auth_id ||
        (auth_id == 0u && (gmac_esp || auth == "aes-gmac")))
        return std::nullopt;
    e.auth_alg = *auth_id;
    // The RFC 4543 GMAC key is the authentication algorithm's key; the vectors list it as enc_key.
    copy_key(gmac_esp ? enc_key : auth_key, e.auth_key, e.auth_key_len);
    if (!gmac_esp) copy_key(enc_key, e.enc_key, e.enc_key_len);
    const Bytes salt = from_hex(str(c, "salt"));
    if (salt.size() == 4) std::copy(salt.begin(), salt.end(), e.salt.begin());
    return e;
}

bool is_no_sa(const json& c) { return str(c, "expected_status") == "no_sa"; }

// The packet as the engine sees it, from its IP header; draft-mcgrew's bare ESP gets an IPv4 header.
Bytes packet_for(const json& c) {
    const Bytes raw = from_hex(str(c, "packet"));
    return str(c, "packet_starts_at") == "esp" ? ipv4_packet(kIpProtoEsp, raw) : raw;
}

// expected_inner of the case, or for a replay (which has none) of the earlier case in its sequence group
// that carried the same packet.
Bytes expected_inner(const json& c) {
    if (c.contains("expected_inner")) return from_hex(str(c, "expected_inner"));
    for (const auto& other : all_cases())
        if (other.contains("expected_inner") && str(other, "sequence_group") == str(c, "sequence_group") &&
            str(other, "packet") == str(c, "packet"))
            return from_hex(str(other, "expected_inner"));
    throw std::runtime_error("no expected_inner for " + str(c, "name"));
}

// The bytes the engine's payload must equal: tunnel and draft-mcgrew, the whole expected_inner;
// transport, what follows the rebuilt IP header.
Bytes expected_payload(const json& c) {
    const Bytes inner = expected_inner(c);
    if (str(c, "packet_starts_at") == "esp" || str(c, "mode") == "tunnel") return inner;
    return Bytes(inner.begin() + long(ip_header_length(inner)), inner.end());
}

uint8_t expected_next_header(const json& c) {
    if (c.contains("next_header") && c["next_header"].is_number()) return c["next_header"].get<uint8_t>();
    if (str(c, "expected_status") == "dummy_packet") return 59;
    const Bytes inner = expected_inner(c);
    if (str(c, "mode") == "tunnel") return (inner[0] >> 4) == 4 ? 4 : 41;
    if ((inner[0] >> 4) == 4) return inner[9];
    // IPv6: the last next-header field before the payload
    uint8_t nh = inner[6];
    size_t off = 40;
    while (nh == 0 || nh == 43 || nh == 60) {
        const uint8_t next = inner[off];
        off += (size_t(inner[off + 1]) + 1) * 8;
        nh = next;
    }
    return nh;
}

CryptoStatus expected_auth_failure(const json& c) {
    const bool tunnel = str(c, "mode") == "tunnel";
    if (str(c, "expected_status") == "ah_auth_failed")
        return tunnel ? CryptoStatus::TunnelAhAuthFailed : CryptoStatus::TransportAhAuthFailed;
    return tunnel ? CryptoStatus::TunnelEspAuthFailed : CryptoStatus::TransportEspAuthFailed;
}

bool expects_success(const json& c) {
    const std::string s = str(c, "expected_status");
    return s == "ok" || s == "dummy_packet" || s == "replay";
}

std::vector<size_t> runnable_case_indices() {
    std::vector<size_t> out;
    const json& cases = all_cases();
    for (size_t i = 0; i < cases.size(); ++i)
        if (!is_no_sa(cases[i]) && entry_for(cases[i])) out.push_back(i);
    return out;
}

// Frames the datagram like the NIC sees it: `lead` bytes before the IP header (Ethernet) and `tail` bytes of
// Ethernet padding after it, which the engine must ignore.
struct Framed {
    Bytes buf;
    ParseResult p;
};
Framed frame(const Bytes& pkt, size_t lead, size_t tail) {
    Framed f;
    f.buf.assign(lead, 0xEE);
    f.buf.insert(f.buf.end(), pkt.begin(), pkt.end());
    f.buf.insert(f.buf.end(), tail, 0xEE);
    f.p = walk_ip(f.buf, lead);
    return f;
}

void check_case(CryptoEngine& engine, const json& c, size_t lead, size_t tail) {
    const Bytes pkt = packet_for(c);
    Framed f = frame(pkt, lead, tail);
    const Bytes before = f.buf;
    ASSERT_TRUE(f.p.kind == L4Kind::Esp || f.p.kind == L4Kind::Ah || f.p.kind == L4Kind::UdpEsp);
    const bool tunnel = str(c, "mode") == "tunnel";
    const PortionResult r = engine.process(0, f.buf.data(), f.buf.size(), f.p, tunnel);
    if (!expects_success(c)) {
        EXPECT_EQ(r.status, expected_auth_failure(c));
        EXPECT_FALSE(r.header_info_set);
        EXPECT_EQ(to_hex(f.buf), to_hex(before)) << "a failed packet must be left as received";
        return;
    }
    ASSERT_EQ(r.status, CryptoStatus::Success);
    EXPECT_EQ(r.seq64 & 0xFFFF'FFFFu, f.p.seq);
    EXPECT_EQ(r.next_header, expected_next_header(c));
    EXPECT_EQ(r.header_info_set, f.p.ipsec_proto == kIpProtoEsp);
    ASSERT_LE(size_t(r.payload_offset) + r.payload_length, f.buf.size() - tail);
    const Bytes got(f.buf.begin() + r.payload_offset, f.buf.begin() + r.payload_offset + r.payload_length);
    if (str(c, "expected_status") == "dummy_packet") {
        EXPECT_EQ(r.payload_length, 0u);
        return;
    }
    EXPECT_EQ(to_hex(got), to_hex(expected_payload(c)));
    EXPECT_EQ(to_hex(f.buf.data() + f.buf.size() - tail, tail), std::string(2 * tail, 'e'));
}

class CryptoEnginePublished : public ::testing::TestWithParam<size_t> {};

TEST_P(CryptoEnginePublished, MatchesExpectation) {
    const json& c = all_cases()[GetParam()];
    const CamEntry e = *entry_for(c);
    for (const auto& [lead, tail] : {std::pair<size_t, size_t>{0, 0}, {14, 6}}) {
        CryptoEngine engine(2);
        ASSERT_TRUE(engine.install(0, e)) << entry_name(e);
        SCOPED_TRACE("lead " + std::to_string(lead) + " tail " + std::to_string(tail));
        check_case(engine, c, lead, tail);
    }
}

INSTANTIATE_TEST_SUITE_P(Vectors, CryptoEnginePublished, ::testing::ValuesIn(runnable_case_indices()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                             return str(all_cases()[info.param], "name");
                         });

// Sequence groups fed in order to one SA: replays and repeats decrypt like any other packet.
TEST(CryptoEnginePublishedSequences, GroupsOnOneSa) {
    std::map<std::string, std::vector<size_t>> groups;
    const json& cases = all_cases();
    for (size_t i : runnable_case_indices())
        if (cases[i].contains("sequence_group")) groups[str(cases[i], "sequence_group")].push_back(i);
    ASSERT_EQ(groups.size(), 4u);
    for (auto& [name, members] : groups) {
        SCOPED_TRACE(name);
        std::sort(members.begin(), members.end(), [&](size_t a, size_t b) {
            return cases[a]["sequence_index"].get<int>() < cases[b]["sequence_index"].get<int>();
        });
        CryptoEngine engine(1);
        ASSERT_TRUE(engine.install(0, *entry_for(cases[members.front()])));
        for (size_t i : members) check_case(engine, cases[i], 0, 0);
    }
}

// Every case is accounted for: run, no_sa (skipped: the CAM's job) or outside IPsecOV2's algorithms.
TEST(CryptoEnginePublishedCoverage, EveryCaseAccountedFor) {
    const json& cases = all_cases();
    size_t no_sa = 0, not_nameable = 0;
    for (const auto& c : cases) {
        if (is_no_sa(c))
            ++no_sa;
        else if (!entry_for(c))
            ++not_nameable;
    }
    const size_t run = runnable_case_indices().size();
    std::cout << "published vectors: " << cases.size() << " total, " << run << " run, " << no_sa
              << " no_sa skipped, " << not_nameable << " outside IPsecOV2 algorithms\n";
    EXPECT_EQ(cases.size(), 97u);
    EXPECT_EQ(no_sa, 2u);
    EXPECT_EQ(run + no_sa + not_nameable, cases.size());
    EXPECT_EQ(not_nameable, 16u);
}

// The three ICV-error vectors are among the cases run (the auth-failed paths are exercised).
TEST(CryptoEnginePublishedCoverage, NegativeCasesPresent) {
    size_t failures = 0;
    for (size_t i : runnable_case_indices()) failures += !expects_success(all_cases()[i]);
    EXPECT_EQ(failures, 3u);
}

}  // namespace
}  // namespace ov2::test
