// The JSON SA format: every accepted field, every error class with its exact message.
#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sa_test_util.h"

namespace ov2::test {
namespace {

using nlohmann::json;

json gcm_sa() {
    return json{{"name", "esp-gcm-tun-v4"},
                {"src", "192.0.2.1"},
                {"dst", "192.0.2.2"},
                {"sec_assoc",
                 {{{"operation", "esp"},
                   {"spi", 4660},
                   {"mode", "tunnel"},
                   {"encryption", {{"algorithm", "aes-gcm-128"}, {"key", kKey16}, {"salt", kSalt}}}}}}};
}

json cbc_sa(const std::string& auth_alg = "hmac-sha1-96", const std::string& auth_key = kKey20) {
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "aes-cbc-128"}, {"key", kKey16}};
    sa["sec_assoc"][0]["authentication"] = {{"algorithm", auth_alg}, {"key", auth_key}};
    return sa;
}

std::string doc(const json& sa) { return json{{"sas", json::array({sa})}}.dump(); }
std::string doc2(const json& a, const json& b) { return json{{"sas", json::array({a, b})}}.dump(); }

AddSa load_one(const json& sa) {
    const std::vector<AddSa> sas = load_sa_text(doc(sa), "sa.json");
    EXPECT_EQ(sas.size(), 1u);
    return sas.at(0);
}

std::string json_error(const json& sa) { return error_of(doc(sa), "sa.json"); }

// ---- accepted input -------------------------------------------------------------------------------------

TEST(SaFileJson, GcmTunnelSaHasEveryNdisField) {
    const AddSa sa = load_one(gcm_sa());
    EXPECT_EQ(sa.name, "esp-gcm-tun-v4");
    EXPECT_EQ(sa.flags, ndis::kAddSaInbound);
    EXPECT_TRUE(sa.inbound());
    EXPECT_EQ(sa.src, *IpAddr::parse("192.0.2.1"));
    EXPECT_EQ(sa.dst, *IpAddr::parse("192.0.2.2"));
    EXPECT_EQ(sa.udp_esp_encapsulation, ndis::kUdpEspNone);
    EXPECT_EQ(sa.num_ext_hdrs, 1u);
    const SecurityAssociation& s = sa.sec_assoc[0];
    EXPECT_EQ(s.operation, IpsecOperation::Esp);
    EXPECT_EQ(s.spi, 4660u);
    EXPECT_EQ(s.mode, SaMode::Tunnel);
    EXPECT_EQ(s.flags, 0u);
    EXPECT_EQ(s.encryption.identifier, ndis::kEncAesGcm128);
    EXPECT_EQ(s.encryption.key, bytes(kKey16 + kSalt));  // AES key || salt
    EXPECT_EQ(s.encryption.additional_info, 16u);        // default ICV length
    EXPECT_EQ(s.authentication.identifier, ndis::kAuthNone);
    EXPECT_TRUE(s.authentication.key.empty());
    EXPECT_EQ(sa.replay_window, 64u);
    EXPECT_EQ(sa.replay_seq, 0u);
    EXPECT_EQ(sa.delete_policy.packet_lifetime, 0u);
    EXPECT_EQ(sa.delete_policy.seq_wrap_margin, 256u);
    EXPECT_TRUE(sa.pair.empty());
    EXPECT_TRUE(sa.not_offloadable.empty());
}

TEST(SaFileJson, EveryEncryptionName) {
    struct Case {
        std::string name, key;
        uint32_t id;
        bool gcm;
    };
    const Case cases[] = {
        {"des-cbc", kKey8, ndis::kEncDesCbc, false},         {"3des-cbc", kKey24, ndis::kEnc3DesCbc, false},
        {"aes-cbc-128", kKey16, ndis::kEncAesCbc128, false}, {"aes-cbc-192", kKey24, ndis::kEncAesCbc192, false},
        {"aes-cbc-256", kKey32, ndis::kEncAesCbc256, false}, {"aes-cbc", kKey16, ndis::kEncAesCbc128, false},
        {"aes-cbc", kKey24, ndis::kEncAesCbc192, false},     {"aes-cbc", kKey32, ndis::kEncAesCbc256, false},
        {"aes-gcm-128", kKey16, ndis::kEncAesGcm128, true},  {"aes-gcm-192", kKey24, ndis::kEncAesGcm192, true},
        {"aes-gcm-256", kKey32, ndis::kEncAesGcm256, true},  {"aes-gcm", kKey16, ndis::kEncAesGcm128, true},
        {"aes-gcm", kKey24, ndis::kEncAesGcm192, true},      {"aes-gcm", kKey32, ndis::kEncAesGcm256, true},
    };
    for (const Case& c : cases) {
        json sa = c.gcm ? gcm_sa() : cbc_sa();
        sa["sec_assoc"][0]["encryption"]["algorithm"] = c.name;
        sa["sec_assoc"][0]["encryption"]["key"] = c.key;
        const AddSa got = load_one(sa);
        EXPECT_EQ(got.sec_assoc[0].encryption.identifier, c.id) << c.name;
        EXPECT_EQ(got.sec_assoc[0].encryption.key, bytes(c.gcm ? c.key + kSalt : c.key)) << c.name;
    }
}

TEST(SaFileJson, NullEncryptionWithHmacIsIntegrityOnlyEsp) {
    json sa = cbc_sa();
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "null"}};
    const AddSa got = load_one(sa);
    EXPECT_EQ(got.sec_assoc[0].encryption.identifier, ndis::kEncNull);
    EXPECT_TRUE(got.sec_assoc[0].encryption.key.empty());
    sa["sec_assoc"][0]["encryption"]["key"] = "";
    EXPECT_EQ(load_one(sa).sec_assoc[0].encryption.identifier, ndis::kEncNull);
}

TEST(SaFileJson, EveryHmacName) {
    struct Case {
        std::string name, key;
        uint32_t id;
    };
    const Case cases[] = {{"hmac-md5-96", kKey16, ndis::kAuthMd5},
                          {"hmac-sha1-96", kKey20, ndis::kAuthSha1},
                          {"hmac-sha256-128", kKey32, ndis::kAuthSha256}};
    for (const Case& c : cases) {
        const AddSa got = load_one(cbc_sa(c.name, c.key));
        EXPECT_EQ(got.sec_assoc[0].authentication.identifier, c.id) << c.name;
        EXPECT_EQ(got.sec_assoc[0].authentication.key, bytes(c.key)) << c.name;
        EXPECT_EQ(got.sec_assoc[0].authentication.additional_info, 0u) << c.name;
    }
}

TEST(SaFileJson, GmacInEspWithNullEncryptionAndInAh) {
    struct Case {
        std::string name, key;
        uint32_t id;
    };
    const Case cases[] = {{"aes-gmac-128", kKey16, ndis::kAuthAesGmac128}, {"aes-gmac-192", kKey24, ndis::kAuthAesGmac192},
                          {"aes-gmac-256", kKey32, ndis::kAuthAesGmac256}, {"aes-gmac", kKey24, ndis::kAuthAesGmac192}};
    for (const Case& c : cases) {
        json esp = gcm_sa();
        esp["sec_assoc"][0]["encryption"] = {{"algorithm", "null"}};
        esp["sec_assoc"][0]["authentication"] = {{"algorithm", c.name}, {"key", c.key}, {"salt", kSalt}, {"icv_len", 16}};
        const AddSa got = load_one(esp);
        EXPECT_EQ(got.sec_assoc[0].encryption.identifier, ndis::kEncNull);
        EXPECT_EQ(got.sec_assoc[0].authentication.identifier, c.id) << c.name;
        EXPECT_EQ(got.sec_assoc[0].authentication.key, bytes(c.key + kSalt)) << c.name;
        EXPECT_EQ(got.sec_assoc[0].authentication.additional_info, 16u) << c.name;

        json ah = gcm_sa();
        ah["sec_assoc"][0] = {{"operation", "ah"}, {"spi", 7}, {"mode", "transport"},
                              {"authentication", {{"algorithm", c.name}, {"key", c.key}, {"salt", kSalt}}}};
        const AddSa got_ah = load_one(ah);
        EXPECT_EQ(got_ah.sec_assoc[0].operation, IpsecOperation::Ah);
        EXPECT_EQ(got_ah.sec_assoc[0].mode, SaMode::Transport);
        EXPECT_EQ(got_ah.sec_assoc[0].authentication.identifier, c.id) << c.name;
        EXPECT_EQ(got_ah.sec_assoc[0].encryption.identifier, ndis::kEncAbsent);
    }
}

TEST(SaFileJson, GcmIcvLengths) {
    for (uint32_t icv : {8u, 12u, 16u}) {
        json sa = gcm_sa();
        sa["sec_assoc"][0]["encryption"]["icv_len"] = icv;
        EXPECT_EQ(load_one(sa).sec_assoc[0].encryption.additional_info, icv);
    }
}

TEST(SaFileJson, NotOffloadableNamesLoadMarked) {
    const std::pair<std::string, bool> names[] = {{"aes-ccm", true},        {"aes-ctr", true},
                                                  {"chacha20-poly1305", true}, {"aes-ccm-256", true},
                                                  {"hmac-sha384-192", false}, {"hmac-sha512-256", false},
                                                  {"aes-xcbc-mac-96", false}};
    for (const auto& [name, is_enc] : names) {
        json sa = is_enc ? gcm_sa() : cbc_sa();
        if (is_enc) sa["sec_assoc"][0]["encryption"] = {{"algorithm", name}, {"key", kKey16}, {"salt", kSalt}};
        else sa["sec_assoc"][0]["authentication"] = {{"algorithm", name}, {"key", kKey32}};
        const AddSa got = load_one(sa);
        const std::string family = name == "aes-ccm-256" ? "aes-ccm" : name;
        EXPECT_EQ(got.not_offloadable, family);
        if (is_enc) EXPECT_EQ(got.sec_assoc[0].encryption.identifier, 0u) << name;
        else EXPECT_EQ(got.sec_assoc[0].authentication.identifier, 0u) << name;
    }
    json both = cbc_sa("hmac-sha512-256", kKey32);
    both["sec_assoc"][0]["encryption"] = {{"algorithm", "aes-ctr"}, {"key", kKey16}, {"salt", kSalt}};
    EXPECT_EQ(load_one(both).not_offloadable, "aes-ctr, hmac-sha512-256");
}

TEST(SaFileJson, DirectionAddressesAndVersions) {
    json sa = gcm_sa();
    sa["direction"] = "outbound";
    sa["src"] = "2001:db8::1";
    sa["dst"] = "2001:db8::2";
    AddSa got = load_one(sa);
    EXPECT_EQ(got.flags, ndis::kAddSaIpv6);
    EXPECT_FALSE(got.inbound());
    EXPECT_EQ(got.dst, *IpAddr::parse("2001:db8::2"));

    sa = gcm_sa();
    sa.erase("src");
    sa.erase("dst");
    sa["ip_version"] = 6;
    got = load_one(sa);
    EXPECT_EQ(got.flags, ndis::kAddSaInbound | ndis::kAddSaIpv6);
    EXPECT_TRUE(got.src.is_zero());
    EXPECT_TRUE(got.dst.is_zero());
    EXPECT_EQ(got.dst.version, 6);

    sa = gcm_sa();
    sa.erase("src");
    sa["dst"] = "0.0.0.0";  // explicit wildcard
    sa["ip_version"] = 4;
    got = load_one(sa);
    EXPECT_TRUE(got.dst.is_zero());
    EXPECT_EQ(got.src.version, 4);
    EXPECT_EQ(got.flags, ndis::kAddSaInbound);

    sa = gcm_sa();
    sa["src"] = "::";
    sa["dst"] = "2001:db8::2";
    EXPECT_TRUE(load_one(sa).src.is_zero());

    // Wildcards take the SA's version: from the specific address, else ip_version.
    sa = gcm_sa();
    sa["src"] = "0.0.0.0";
    sa["dst"] = "2001:db8::2";
    got = load_one(sa);
    EXPECT_EQ(got.flags, ndis::kAddSaInbound | ndis::kAddSaIpv6);
    EXPECT_EQ(got.src.version, 6);
    EXPECT_TRUE(got.src.is_zero());
    sa["dst"] = "0.0.0.0";
    sa["ip_version"] = 6;
    got = load_one(sa);
    EXPECT_EQ(got.flags, ndis::kAddSaInbound | ndis::kAddSaIpv6);
    EXPECT_EQ(got.dst.version, 6);
    EXPECT_TRUE(got.dst.is_zero());
}

TEST(SaFileJson, UdpEspEncapsulationNamesAndNumbers) {
    const std::pair<json, uint32_t> cases[] = {
        {"none", ndis::kUdpEspNone},
        {"transport", ndis::kUdpEspTransport},
        {"tunnel", ndis::kUdpEspTunnel},
        {"transport_over_udp_esp_tunnel", ndis::kTransportOverUdpEspTunnel},
        {"udp_esp_transport_over_tunnel", ndis::kUdpEspTransportOverTunnel},
        {0, 0},
        {2, ndis::kUdpEspTunnel},
        {8, ndis::kUdpEspTransportOverTunnel}};
    for (const auto& [value, expected] : cases) {
        json sa = gcm_sa();
        sa["udp_esp_encapsulation"] = value;
        EXPECT_EQ(load_one(sa).udp_esp_encapsulation, expected) << value.dump();
    }
}

TEST(SaFileJson, EsnReplayStateAndDeletePolicy) {
    json sa = gcm_sa();
    sa["sec_assoc"][0]["esn"] = true;
    sa["sec_assoc"][0]["seq_hi"] = 3;
    sa["replay_window"] = 128;
    sa["replay_seq"] = (uint64_t(3) << 32) | 17;
    sa["delete_policy"] = {{"packet_lifetime", 1000}, {"byte_lifetime", 5000000}, {"seq_wrap_margin", 0}};
    const AddSa got = load_one(sa);
    EXPECT_EQ(got.sec_assoc[0].flags, ndis::kSaFlagEsn);
    EXPECT_EQ(got.sec_assoc[0].sequence_number_high_order, 3u);
    EXPECT_EQ(got.replay_window, 128u);
    EXPECT_EQ(got.replay_seq, (uint64_t(3) << 32) | 17);
    EXPECT_EQ(got.delete_policy.packet_lifetime, 1000u);
    EXPECT_EQ(got.delete_policy.byte_lifetime, 5000000u);
    EXPECT_EQ(got.delete_policy.seq_wrap_margin, 0u);
}

TEST(SaFileJson, SpiAsNumberHexStringOrDecimalString) {
    for (const json& spi : {json(4660), json("0x00001234"), json("0X1234"), json("4660")}) {
        json sa = gcm_sa();
        sa["sec_assoc"][0]["spi"] = spi;
        EXPECT_EQ(load_one(sa).sec_assoc[0].spi, 0x1234u) << spi.dump();
    }
    json sa = gcm_sa();
    sa["sec_assoc"][0]["spi"] = "0xffffffff";
    EXPECT_EQ(load_one(sa).sec_assoc[0].spi, 0xffffffffu);
}

TEST(SaFileJson, EspAhBundleAndPairs) {
    json bundle = cbc_sa();
    bundle["name"] = "in";
    bundle["pair"] = "out";
    bundle["sec_assoc"].push_back(
        {{"operation", "ah"}, {"spi", "0x2000"}, {"mode", "tunnel"},
         {"authentication", {{"algorithm", "hmac-sha256-128"}, {"key", kKey32}}}});
    json out = gcm_sa();
    out["name"] = "out";
    out["direction"] = "outbound";
    out["pair"] = "in";
    const std::vector<AddSa> sas = load_sa_text(doc2(bundle, out), "sa.json");
    ASSERT_EQ(sas.size(), 2u);
    EXPECT_EQ(sas[0].num_ext_hdrs, 2u);
    EXPECT_EQ(sas[0].sec_assoc[0].operation, IpsecOperation::Esp);
    EXPECT_EQ(sas[0].sec_assoc[1].operation, IpsecOperation::Ah);
    EXPECT_EQ(sas[0].sec_assoc[1].spi, 0x2000u);
    EXPECT_EQ(sas[0].sec_assoc[1].authentication.identifier, ndis::kAuthSha256);
    EXPECT_EQ(sas[0].pair, "out");
    EXPECT_EQ(sas[1].pair, "in");
}

TEST(SaFileJson, BareArrayAndDefaultNames) {
    json a = gcm_sa(), b = gcm_sa();
    a.erase("name");
    b.erase("name");
    b["sec_assoc"][0]["spi"] = 5;
    const std::vector<AddSa> sas = load_sa_text(json::array({a, b}).dump(), "x/sa.json");
    ASSERT_EQ(sas.size(), 2u);
    EXPECT_EQ(sas[0].name, "x/sa.json#/0");
    EXPECT_EQ(sas[1].name, "x/sa.json#/1");
    EXPECT_EQ(load_sa_text(doc(a), "sa.json").at(0).name, "sa.json#/sas/0");
}

TEST(SaFileJson, EmptyListAndDescription) {
    EXPECT_TRUE(load_sa_text(R"({"description": "none yet", "sas": []})", "sa.json").empty());
    EXPECT_TRUE(load_sa_text(" [ ] ", "sa.json").empty());
}

TEST(SaFileJson, SameSpiInboundAndOutboundIsFine) {
    json out = gcm_sa();
    out["name"] = "out";
    out["direction"] = "outbound";
    EXPECT_EQ(load_sa_text(doc2(gcm_sa(), out), "sa.json").size(), 2u);
    json other_dst = gcm_sa();
    other_dst["name"] = "b";
    other_dst["dst"] = "192.0.2.3";
    EXPECT_EQ(load_sa_text(doc2(gcm_sa(), other_dst), "sa.json").size(), 2u);
}

TEST(SaFileJson, FormatDetection) {
    EXPECT_EQ(detect_sa_format("  \n\t{"), SaFileFormat::Json);
    EXPECT_EQ(detect_sa_format("\xEF\xBB\xBF["), SaFileFormat::Json);
    EXPECT_EQ(detect_sa_format("# comment\n{"), SaFileFormat::Iproute2);
    EXPECT_EQ(detect_sa_format("ip xfrm state add"), SaFileFormat::Iproute2);
    EXPECT_EQ(detect_sa_format(""), SaFileFormat::Iproute2);
}

// ---- errors -----------------------------------------------------------------------------------------------

TEST(SaFileJsonErrors, SyntaxErrorReportsLineAndColumn) {
    const std::string text = "{\n  \"sas\": [\n    {\"name\": \"x\",}\n  ]\n}\n";
    EXPECT_EQ(error_of(text, "sa.json"),
              "sa.json:3:18: JSON: syntax error while parsing object key - unexpected '}'; expected string literal");
}

TEST(SaFileJsonErrors, SyntaxErrorNeverQuotesTheInput) {
    // A raw newline inside a key string: nlohmann would quote what it read (the key) in its message.
    const std::string text = "{\"sas\": [{\"sec_assoc\": [{\"encryption\": {\"key\": \"" + kKey32 + "\n\"}}]}]}";
    const std::string message = error_of(text, "sa.json");
    EXPECT_EQ(message.find(kKey16.substr(0, 10)), std::string::npos) << message;
    EXPECT_EQ(message.rfind("sa.json:1:", 0), 0u) << message;
    EXPECT_EQ(error_of("[1, 2", "sa.json"),
              "sa.json:1:6: JSON: syntax error while parsing array - unexpected end of input; expected ']'");
}

TEST(SaFileJsonErrors, DeepNestingIsRefused) {
    const std::string text = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_EQ(error_of(text, "sa.json"),
              "sa.json:1: JSON: nested deeper than 64 levels; expected the SA file structure (6 levels)");
}

TEST(SaFileJsonErrors, DuplicateKey) {
    const std::string text = "{\"sas\": [\n {\"name\": \"a\",\n  \"name\": \"b\"}]}";
    EXPECT_EQ(error_of(text, "sa.json"), "sa.json:3: /sas/0: key 'name' appears twice; expected each key once per object");
}

TEST(SaFileJsonErrors, ErrorsCarryTheLineOfTheField) {
    const std::string text = R"({
  "sas": [
    {
      "src": "192.0.2.1", "dst": "192.0.2.2",
      "sec_assoc": [
        { "operation": "esp", "spi": 1, "mode": "tunnel",
          "encryption": {
            "algorithm": "aes-gcm",
            "key": "c0ffee0102030405060708090a0b0c",
            "salt": "a0a1a2a3" } } ] } ] })";
    EXPECT_EQ(error_of(text, "sa.json"),
              "sa.json:9: /sas/0/sec_assoc/0/encryption/key: 15 bytes; expected 16, 24 or 32 for aes-gcm");
}

TEST(SaFileJsonErrors, DocumentShape) {
    EXPECT_EQ(error_of(R"({"SAs": []})", "sa.json"),
              "sa.json:1: /SAs: unknown key; expected one of sas or description");
    EXPECT_EQ(error_of(R"({})", "sa.json"),
              "sa.json:1: /: no \"sas\" list; expected {\"sas\": [ ... ]} or a top-level array of SA objects");
    EXPECT_EQ(error_of(R"({"sas": {}})", "sa.json"), "sa.json:1: /sas: an object; expected an array of SA objects");
    EXPECT_EQ(error_of(R"([1])", "sa.json"), "sa.json:1: /0: a number; expected an SA object");
}

TEST(SaFileJsonErrors, UnknownKeysCatchTypos) {
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryptoin"] = sa["sec_assoc"][0]["encryption"];
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/encryptoin: unknown key; expected one of operation, spi, mode, esn, "
              "seq_hi, encryption or authentication");
    sa = gcm_sa();
    sa["replay_windw"] = 3;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/replay_windw: unknown key; expected one of name, direction, src, dst, ip_version, "
              "udp_esp_encapsulation, replay_window, replay_seq, pair, delete_policy or sec_assoc");
    sa = gcm_sa();
    sa[kKey32] = 1;  // a key pasted as a key name is not echoed
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0: unknown key a 64-character value (not shown: it looks like key material); expected "
              "one of name, direction, src, dst, ip_version, udp_esp_encapsulation, replay_window, replay_seq, pair, "
              "delete_policy or sec_assoc");
}

TEST(SaFileJsonErrors, SaFields) {
    json sa = gcm_sa();
    sa["direction"] = "in";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/direction: 'in'; expected inbound or outbound");
    sa = gcm_sa();
    sa["name"] = "";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/name: empty; expected a name, or no \"name\" key");
    sa = gcm_sa();
    sa["name"] = 5;
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/name: a number; expected a string");
    sa = gcm_sa();
    sa["replay_window"] = -1;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/replay_window: negative; expected a window size in packets (0 = no check)");
    sa = gcm_sa();
    sa["replay_window"] = 1.5;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/replay_window: not an integer; expected a window size in packets (0 = no check)");
    sa = gcm_sa();
    sa["replay_seq"] = uint64_t(1) << 32;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/replay_seq: 4294967296 needs more than 32 bits without ESN; expected a value below "
              "2^32, or \"esn\": true");
    sa = gcm_sa();
    sa["delete_policy"] = {{"packets", 1}};
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/delete_policy/packets: unknown key; expected one of packet_lifetime, byte_lifetime "
              "or seq_wrap_margin");
}

TEST(SaFileJsonErrors, Addresses) {
    json sa = gcm_sa();
    sa["dst"] = "192.0.2.300";
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/dst: '192.0.2.300' is not an address; expected an IPv4 or IPv6 address such as "
              "192.0.2.1 or 2001:db8::1");
    sa = gcm_sa();
    sa["dst"] = "2001:db8::2";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/dst: IPv6 but src is IPv4; expected src and dst of the same IP version");
    sa = gcm_sa();
    sa.erase("src");
    sa.erase("dst");
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/ip_version: missing and both src and dst are absent; expected ip_version 4 or 6 "
              "when no address is given");
    sa = gcm_sa();
    sa["ip_version"] = 6;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/ip_version: 6 but the addresses are IPv4; expected the version of src and dst (or "
              "no ip_version)");
    sa["ip_version"] = 5;
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/ip_version: 5; expected 4 or 6");
    sa = gcm_sa();
    sa["src"] = "0.0.0.0";
    sa["dst"] = "::";
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/ip_version: missing and the wildcards src and dst differ in IP version; expected "
              "ip_version 4 or 6");
}

TEST(SaFileJsonErrors, UdpEspEncapsulation) {
    json sa = gcm_sa();
    sa["udp_esp_encapsulation"] = 3;
    const std::string expected =
        "expected none, transport, tunnel, transport_over_udp_esp_tunnel, udp_esp_transport_over_tunnel or 0, 1, 2, 4, 8";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/udp_esp_encapsulation: 3; " + expected);
    sa["udp_esp_encapsulation"] = "nat-t";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/udp_esp_encapsulation: 'nat-t'; " + expected);
    sa = gcm_sa();
    sa["sec_assoc"][0] = {{"operation", "ah"}, {"spi", 7}, {"mode", "tunnel"},
                          {"authentication", {{"algorithm", "hmac-sha1-96"}, {"key", kKey20}}}};
    sa["udp_esp_encapsulation"] = "tunnel";
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/udp_esp_encapsulation: UDP encapsulation of an AH-only SA; expected none (UDP "
              "encapsulation carries ESP only)");
}

TEST(SaFileJsonErrors, SecAssocList) {
    json sa = gcm_sa();
    sa["sec_assoc"] = json::array();
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc: 0 entries; expected 1 (ESP or AH) or 2 (an [esp, ah] bundle)");
    sa.erase("sec_assoc");
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc: missing; expected a sec_assoc list: [esp], [ah] or [esp, ah]");
    json ah = {{"operation", "ah"}, {"spi", 7}, {"mode", "tunnel"},
               {"authentication", {{"algorithm", "hmac-sha1-96"}, {"key", kKey20}}}};
    sa = gcm_sa();
    sa["sec_assoc"] = json::array({ah, gcm_sa()["sec_assoc"][0]});
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/operation: [ah, esp] bundle; expected [esp, ah]: NDIS applies ESP first, "
              "then AH");
    sa["sec_assoc"] = json::array({ah, ah});
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/operation: [ah, ah] bundle; expected [esp, ah]: NDIS applies ESP first, "
              "then AH");
}

TEST(SaFileJsonErrors, OperationSpiModeEsn) {
    json sa = gcm_sa();
    sa["sec_assoc"][0]["operation"] = "ipcomp";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/operation: 'ipcomp'; expected esp or ah");
    sa["sec_assoc"][0].erase("operation");
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/operation: missing; expected esp or ah");
    const std::string spi_expected = "expected a non-zero 32-bit SPI (a number or a string such as \"0x00001234\")";
    sa = gcm_sa();
    sa["sec_assoc"][0]["spi"] = 0;
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/spi: 0 (reserved: RFC 4303 section 2.1); " + spi_expected);
    sa["sec_assoc"][0]["spi"] = "0x100000000";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/spi: '0x100000000'; " + spi_expected);
    sa["sec_assoc"][0]["spi"] = 4294967296ULL;
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/spi: 4294967296 is too large; " + spi_expected);
    sa["sec_assoc"][0]["spi"] = "12ab";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/spi: '12ab'; " + spi_expected);
    sa["sec_assoc"][0].erase("spi");
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/spi: missing; " + spi_expected);
    sa = gcm_sa();
    sa["sec_assoc"][0]["mode"] = "beet";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/mode: 'beet'; expected transport or tunnel");
    sa["sec_assoc"][0].erase("mode");
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/mode: missing; expected transport or tunnel");
    sa = gcm_sa();
    sa["sec_assoc"][0]["seq_hi"] = 1;
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/seq_hi: set without ESN; expected \"esn\": true, or no seq_hi");
    sa["sec_assoc"][0]["esn"] = "yes";
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/esn: a string; expected true or false");
}

TEST(SaFileJsonErrors, AlgorithmsPerOperation) {
    json ah = gcm_sa();
    ah["sec_assoc"][0]["operation"] = "ah";
    EXPECT_EQ(json_error(ah),
              "sa.json:1: /sas/0/sec_assoc/0/encryption: present in an AH SA; expected no encryption: AH only "
              "authenticates (an [esp, ah] bundle encrypts in its ESP entry)");
    ah["sec_assoc"][0].erase("encryption");
    EXPECT_EQ(json_error(ah),
              "sa.json:1: /sas/0/sec_assoc/0/authentication: missing in an AH SA; expected an \"authentication\" object");
    ah["sec_assoc"][0]["authentication"] = {{"algorithm", "none"}};
    EXPECT_EQ(json_error(ah),
              "sa.json:1: /sas/0/sec_assoc/0/authentication/algorithm: none in an AH SA; expected an authentication "
              "algorithm");
    json esp = cbc_sa();
    esp["sec_assoc"][0].erase("encryption");
    EXPECT_EQ(json_error(esp),
              "sa.json:1: /sas/0/sec_assoc/0/encryption: missing in an ESP SA; expected an \"encryption\" object "
              "(\"algorithm\": \"null\" for integrity-only ESP)");
    json gcm_auth = gcm_sa();
    gcm_auth["sec_assoc"][0]["authentication"] = {{"algorithm", "hmac-sha1-96"}, {"key", kKey20}};
    EXPECT_EQ(json_error(gcm_auth),
              "sa.json:1: /sas/0/sec_assoc/0/authentication: aes-gcm-128 is a combined mode and takes no "
              "authentication; expected no \"authentication\" (or \"none\") with aes-gcm-128");
    gcm_auth["sec_assoc"][0]["authentication"] = {{"algorithm", "none"}};
    EXPECT_EQ(load_one(gcm_auth).sec_assoc[0].authentication.identifier, ndis::kAuthNone);
    json gmac_cbc = cbc_sa();
    gmac_cbc["sec_assoc"][0]["authentication"] = {{"algorithm", "aes-gmac-128"}, {"key", kKey16}, {"salt", kSalt}};
    EXPECT_EQ(json_error(gmac_cbc),
              "sa.json:1: /sas/0/sec_assoc/0/authentication/algorithm: aes-gmac-128 with aes-cbc-128 encryption; "
              "expected encryption null with aes-gmac-128 (RFC 4543 ENCR_NULL_AUTH_AES_GMAC)");
    json null_none = gcm_sa();
    null_none["sec_assoc"][0]["encryption"] = {{"algorithm", "null"}};
    EXPECT_EQ(json_error(null_none),
              "sa.json:1: /sas/0/sec_assoc/0/authentication: null encryption without authentication; expected an "
              "authentication algorithm (RFC 4303 section 3.2 forbids NULL/NULL)");
}

TEST(SaFileJsonErrors, UnknownAlgorithmNamesListTheAccepted) {
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["algorithm"] = "aes-gcm-512";
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/encryption/algorithm: unknown algorithm 'aes-gcm-512'; expected one of "
              "null, des-cbc, 3des-cbc, aes-cbc, aes-cbc-128, aes-cbc-192, aes-cbc-256, aes-gcm, aes-gcm-128, "
              "aes-gcm-192, aes-gcm-256, or (not offloadable) aes-ccm, aes-ctr, chacha20-poly1305");
    sa = cbc_sa("hmac-sha256", kKey32);
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/authentication/algorithm: unknown algorithm 'hmac-sha256'; expected one "
              "of none, hmac-md5-96, hmac-sha1-96, hmac-sha256-128, aes-gmac, aes-gmac-128, aes-gmac-192, "
              "aes-gmac-256, or (not offloadable) hmac-sha384-192, hmac-sha512-256, aes-xcbc-mac-96");
    sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["algorithm"] = 7;
    EXPECT_EQ(json_error(sa).rfind("sa.json:1: /sas/0/sec_assoc/0/encryption/algorithm: a number; expected one of null,", 0),
              0u);
}

TEST(SaFileJsonErrors, KeyLengths) {
    const std::string ptr = "sa.json:1: /sas/0/sec_assoc/0/encryption/key: ";
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["key"] = kKey16.substr(0, 30);
    EXPECT_EQ(json_error(sa), ptr + "15 bytes; expected 16 for aes-gcm-128");
    sa["sec_assoc"][0]["encryption"]["algorithm"] = "aes-gcm";
    EXPECT_EQ(json_error(sa), ptr + "15 bytes; expected 16, 24 or 32 for aes-gcm");
    sa["sec_assoc"][0]["encryption"].erase("key");
    EXPECT_EQ(json_error(sa), ptr + "missing; expected 16, 24 or 32 bytes of hex for aes-gcm");
    sa = cbc_sa();
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "3des-cbc"}, {"key", kKey16}};
    EXPECT_EQ(json_error(sa), ptr + "16 bytes; expected 24 for 3des-cbc");
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "des-cbc"}};
    EXPECT_EQ(json_error(sa), ptr + "missing; expected 8 bytes of hex for des-cbc");
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "null"}, {"key", kKey8}};
    EXPECT_EQ(json_error(sa), ptr + "8 bytes for null; expected no key (or \"\")");
    sa = cbc_sa("hmac-sha1-96", kKey16);
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/authentication/key: 16 bytes; expected 20 for hmac-sha1-96");
}

TEST(SaFileJsonErrors, KeyTextIsNotHex) {
    const std::string ptr = "sa.json:1: /sas/0/sec_assoc/0/encryption/key: ";
    const std::string expected = "; expected hex digits, 2 per byte, optionally after 0x";
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["key"] = kKey16.substr(0, 31);
    EXPECT_EQ(json_error(sa), ptr + "odd number of hex digits (31)" + expected);
    sa["sec_assoc"][0]["encryption"]["key"] = kKey16.substr(0, 20) + "zz" + kKey16.substr(22);
    EXPECT_EQ(json_error(sa), ptr + "not hexadecimal (character 21 of 32)" + expected);
    sa["sec_assoc"][0]["encryption"]["key"] = "0x" + kKey16;
    EXPECT_EQ(load_one(sa).sec_assoc[0].encryption.key, bytes(kKey16 + kSalt));
    sa["sec_assoc"][0]["encryption"]["key"] = 12345;
    EXPECT_EQ(json_error(sa), ptr + "a number; expected a hex string");
}

TEST(SaFileJsonErrors, SaltAndIcv) {
    const std::string enc = "sa.json:1: /sas/0/sec_assoc/0/encryption/";
    json sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"].erase("salt");
    EXPECT_EQ(json_error(sa), enc + "salt: missing; expected 4 bytes of hex (the RFC 4106/4543 salt) for aes-gcm-128");
    sa["sec_assoc"][0]["encryption"]["salt"] = "a0a1a2";
    EXPECT_EQ(json_error(sa), enc + "salt: 3 bytes; expected 4 for aes-gcm-128");
    sa["sec_assoc"][0]["encryption"]["salt"] = kSalt;
    sa["sec_assoc"][0]["encryption"]["icv_len"] = 10;
    EXPECT_EQ(json_error(sa), enc + "icv_len: 10; expected 8, 12 or 16 (bytes) for aes-gcm-128");
    sa = cbc_sa();
    sa["sec_assoc"][0]["encryption"]["salt"] = kSalt;
    EXPECT_EQ(json_error(sa), enc + "salt: not used by aes-cbc-128; expected no salt (only GCM and GMAC take one)");
    sa = cbc_sa();
    sa["sec_assoc"][0]["authentication"]["icv_len"] = 12;
    EXPECT_EQ(json_error(sa),
              "sa.json:1: /sas/0/sec_assoc/0/authentication/icv_len: not used by hmac-sha1-96; expected no icv_len (the "
              "algorithm name fixes it)");
    sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"] = {{"algorithm", "null"}};
    sa["sec_assoc"][0]["authentication"] = {{"algorithm", "aes-gmac-128"}, {"key", kKey16}, {"salt", kSalt}, {"icv_len", 12}};
    EXPECT_EQ(json_error(sa), "sa.json:1: /sas/0/sec_assoc/0/authentication/icv_len: 12; expected 16 (bytes) for aes-gmac-128");
}

TEST(SaFileJsonErrors, DuplicateInboundSpiNamesBoth) {
    const std::string text = "{\"sas\": [\n" + json(gcm_sa()).dump() + ",\n" + [] {
        json b = gcm_sa();
        b["name"] = "copy";
        b["src"] = "198.51.100.7";
        return b.dump();
    }() + "\n]}";
    EXPECT_EQ(error_of(text, "sa.json"),
              "sa.json:3: /sas/1/sec_assoc/0/spi: inbound esp SPI 0x00001234 to 192.0.2.2 of 'copy' is also used by "
              "'esp-gcm-tun-v4' (sa.json:2); expected a unique (spi, dst, operation) among inbound SAs");
}

TEST(SaFileJsonErrors, NamesAndPairs) {
    json b = gcm_sa();
    b["sec_assoc"][0]["spi"] = 99;
    EXPECT_EQ(error_of(doc2(gcm_sa(), b), "sa.json"),
              "sa.json:1: /sas/1/name: 'esp-gcm-tun-v4' is also the name of the SA at sa.json:1; expected a unique "
              "name per SA");
    json a = gcm_sa();
    a["pair"] = "nobody";
    EXPECT_EQ(json_error(a), "sa.json:1: /sas/0/pair: no SA is named 'nobody'; expected the name of an SA in this file");
    b["name"] = "b";
    b["pair"] = "esp-gcm-tun-v4";
    EXPECT_EQ(error_of(doc2(gcm_sa(), b), "sa.json"),
              "sa.json:1: /sas/1/pair: 'esp-gcm-tun-v4' is inbound too; expected an SA of the other direction");
}

TEST(SaFileJsonErrors, KeyMaterialNeverInAnyMessage) {
    // Every mutation below puts key bytes somewhere they do not belong; error_of() checks each message.
    std::vector<json> bad;
    json sa = gcm_sa();
    sa["name"] = kKey32;
    sa["pair"] = "x";
    bad.push_back(sa);
    sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["algorithm"] = kKey16;
    bad.push_back(sa);
    sa = gcm_sa();
    sa["dst"] = kKey16;
    bad.push_back(sa);
    sa = gcm_sa();
    sa["sec_assoc"][0]["spi"] = kKey16;
    bad.push_back(sa);
    sa = gcm_sa();
    sa["sec_assoc"][0]["mode"] = "0x" + kKey20;
    bad.push_back(sa);
    sa = gcm_sa();
    sa["sec_assoc"][0]["encryption"]["salt"] = kKey16;
    bad.push_back(sa);
    for (const json& j : bad) {
        const std::string message = json_error(j);
        EXPECT_FALSE(message.empty());
        EXPECT_EQ(message.find("c0ffee"), std::string::npos) << message;
    }
}

TEST(SaFileLoad, ReadsFilesAndReportsMissingOnes) {
    EXPECT_THROW(load_sa_file("/nonexistent/sa.json"), InputError);
    try {
        load_sa_file("/nonexistent/sa.json");
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/sa.json: cannot open: no such file; expected an existing SA file");
    }
    try {
        load_sa_file("/tmp");
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(), "/tmp: cannot open: it is a directory; expected an SA file");
    }
    const std::string path = testing::TempDir() + "ov2_sa_load_" + std::to_string(::getpid()) + ".json";
    {
        FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        const std::string text = doc(gcm_sa());
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    const std::vector<AddSa> sas = load_sa_file(path);
    ASSERT_EQ(sas.size(), 1u);
    EXPECT_EQ(sas[0].name, "esp-gcm-tun-v4");
    std::remove(path.c_str());
}

}  // namespace
}  // namespace ov2::test
