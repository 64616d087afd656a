// End to end: the MAC's FCS checks, bad inputs (exit 2 and one "ov2sim: error:" line), key material never
// leaking into outputs, and the iproute2 SA format giving the same results as the JSON one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "system_util.h"

using namespace systest;

// ---- FCS ------------------------------------------------------------------------------------------------

TEST(Fcs, GoodFcsProcessedBadFcsRuntAndOversizeDropped) {
    const std::string dir = scratch_dir();
    const std::vector<Bytes> def = read_pcap(default_scenario() + "/frames.pcap");
    ASSERT_EQ(def.size(), 44u);
    const Bytes plain = def[1];   // frame 2: plain UDP v4
    const Bytes esp = def[13];    // frame 14: ESP gcm-128 transport v4, seq 1
    Bytes bad = with_fcs(plain);
    bad.back() ^= 0x01;
    Bytes jumbo_ok(9216, 0x5A), jumbo_big(9217, 0x5A);
    jumbo_ok[12] = jumbo_big[12] = 0x88, jumbo_ok[13] = jumbo_big[13] = 0xB5;  // local experimental EtherType
    const std::vector<Bytes> frames = {
        with_fcs(plain),               // 1: passes
        with_fcs(esp),                 // 2: passes, decrypted
        bad,                           // 3: FCS error
        with_fcs(Bytes(36, 0x11)),     // 4: 40 bytes with FCS: runt
        with_fcs(Bytes(59, 0x22)),     // 5: 63 bytes: runt
        with_fcs(Bytes(60, 0x33)),     // 6: 64 bytes: the minimum, passes
        with_fcs(jumbo_ok),            // 7: 9216 + FCS: the maximum, passes
        with_fcs(jumbo_big),           // 8: oversize
    };
    write_pcap(dir + "/fcs.pcap", frames);
    const RunResult r = run_sim(dir + "/fcs.pcap", default_scenario() + "/sa.json", dir + "/out", {"--fcs"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> oob = by_frame(read_jsonl(dir + "/out/oob.jsonl"), frames.size());

    for (size_t f : {1, 2, 6, 7}) {
        EXPECT_TRUE(oob[f]["indicated"].get<bool>()) << f;
        EXPECT_EQ(oob[f]["length"].get<size_t>(), frames[f - 1].size() - 4) << "frame " << f << ": FCS not stripped";
    }
    EXPECT_EQ(oob[1]["stack_verdict"], "not_ipsec");
    EXPECT_EQ(oob[2]["crypto_done"], 1);
    EXPECT_EQ(oob[2]["crypto_status"], 0);
    EXPECT_EQ(oob[2]["stack_verdict"], "accepted");
    const std::map<size_t, std::string> drops = {{3, "rx_fcs_error"}, {4, "rx_runt"}, {5, "rx_runt"}, {8, "rx_oversize"}};
    for (const auto& [f, reason] : drops) {
        EXPECT_FALSE(oob[f]["indicated"].get<bool>()) << f;
        EXPECT_EQ(oob[f]["drop_reason"], reason) << f;
        EXPECT_EQ(oob[f]["crypto_done"], 0) << f;
        EXPECT_EQ(oob[f]["nbl_info"], "0x00000000") << f;
        EXPECT_TRUE(oob[f]["completion_ps"].is_null()) << f;
    }
    const json mac = read_json(dir + "/out/stats.json")["mac"];
    EXPECT_EQ(mac["rx_frames"], 8);
    EXPECT_EQ(mac["rx_fcs_errors"], 1);
    EXPECT_EQ(mac["rx_runt"], 2);
    EXPECT_EQ(mac["rx_oversize"], 1);
    EXPECT_EQ(mac["rx_passed"], 4);
    // indicated.pcap holds the frames as indicated: without their FCS
    const std::vector<Bytes> ind = read_pcap(dir + "/out/indicated.pcap");
    ASSERT_EQ(ind.size(), 4u);
    EXPECT_NE(std::find(ind.begin(), ind.end(), plain), ind.end()) << "the plain frame, FCS stripped";
}

TEST(Fcs, SameFramesWithoutFcsFlagAreIndicatedWhole) {
    // Control: the FCS bytes are only checked and stripped with --fcs.
    const std::string dir = scratch_dir();
    const std::vector<Bytes> def = read_pcap(default_scenario() + "/frames.pcap");
    Bytes bad = with_fcs(def[1]);
    bad.back() ^= 0x01;
    write_pcap(dir + "/fcs.pcap", {bad});
    const RunResult r = run_sim(dir + "/fcs.pcap", default_scenario() + "/sa.json", dir + "/out");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> oob = by_frame(read_jsonl(dir + "/out/oob.jsonl"), 1);
    EXPECT_TRUE(oob[1]["indicated"].get<bool>());
    EXPECT_EQ(oob[1]["length"].get<size_t>(), bad.size());
}

// ---- bad input -----------------------------------------------------------------------------------------

namespace {

// Exit 2 and exactly one stderr line: "ov2sim: error: ..." containing each of `parts` and "expected".
void expect_input_error(const RunResult& r, const std::vector<std::string>& parts) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const std::vector<std::string> lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
    EXPECT_EQ(lines[0].rfind("ov2sim: error: ", 0), 0u) << lines[0];
    for (const std::string& p : parts) EXPECT_NE(lines[0].find(p), std::string::npos) << "'" << p << "' not in: " << lines[0];
    EXPECT_NE(lines[0].find("expected"), std::string::npos) << "does not say what was expected: " << lines[0];
}

const std::string kGoodSa =
    "{\"sas\": [{\"name\": \"a\", \"src\": \"192.0.2.20\", \"dst\": \"192.0.2.10\", \"sec_assoc\": [{\"operation\": "
    "\"esp\", \"spi\": \"0x00001001\", \"mode\": \"transport\", \"encryption\": {\"algorithm\": \"aes-gcm-128\", "
    "\"key\": \"00112233445566778899aabbccddeeff\", \"salt\": \"01020304\"}}]}]}\n";

std::string sa_with_encryption(const std::string& encryption) {
    return "{\"sas\": [\n {\"name\": \"a\", \"src\": \"192.0.2.20\", \"dst\": \"192.0.2.10\",\n  \"sec_assoc\": "
           "[{\"operation\": \"esp\", \"spi\": \"0x00001001\", \"mode\": \"transport\",\n    \"encryption\": " +
           encryption + "}]}\n]}\n";
}

std::string pcap_of_default_frames(const std::string& dir, size_t n) {
    const std::vector<Bytes> def = read_pcap(default_scenario() + "/frames.pcap");
    write_pcap(dir + "/in.pcap", std::vector<Bytes>(def.begin(), def.begin() + long(n)));
    return dir + "/in.pcap";
}

}  // namespace

TEST(BadInput, MissingPcap) {
    const std::string dir = scratch_dir(), pcap = dir + "/no_such.pcap";
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out");
    expect_input_error(r, {pcap, "no such file"});
    EXPECT_FALSE(file_exists(dir + "/out/oob.jsonl"));
}

TEST(BadInput, NotAPcap) {
    const std::string dir = scratch_dir(), pcap = dir + "/notes.pcap";
    std::string text;
    for (int i = 0; i < 20; ++i) text += "this is a text file, not a capture\n";
    write_file(pcap, text);
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out");
    expect_input_error(r, {pcap, "not a pcap"});
    EXPECT_FALSE(file_exists(dir + "/out/oob.jsonl"));
}

TEST(BadInput, TruncatedRecordInTheMiddleKeepsTheEarlierFrames) {
    const std::string dir = scratch_dir();
    const std::string pcap = pcap_of_default_frames(dir, 6);
    // Cut the file in the middle of record 4's data.
    const std::vector<Bytes> frames = read_pcap(pcap);
    size_t cut = 24;
    for (size_t i = 0; i < 3; ++i) cut += 16 + frames[i].size();
    cut += 16 + frames[3].size() / 2;
    std::filesystem::resize_file(pcap, cut);
    const RunResult r = run_sim(pcap, default_scenario() + "/sa.json", dir + "/out");
    expect_input_error(r, {pcap, "record 4", "3 frames"});
    // the three frames before it were simulated and their outputs written
    const std::vector<json> oob = read_jsonl(dir + "/out/oob.jsonl");
    EXPECT_EQ(oob.size(), 3u);
    by_frame(oob, 3);
    EXPECT_EQ(pcap_records(dir + "/out/indicated.pcap"), 3u);
    EXPECT_EQ(read_json(dir + "/out/stats.json")["run"]["frames_in"], 3);
}

TEST(BadInput, MalformedSaJson) {
    const std::string dir = scratch_dir(), sa = dir + "/broken.json";
    write_file(sa, "{\"sas\": [\n  {\"name\": \"a\",\n   \"direction\": \"inbound\" \"src\": \"192.0.2.1\"}\n]}\n");
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), sa, dir + "/out");
    expect_input_error(r, {sa + ":3", "JSON"});
    EXPECT_FALSE(file_exists(dir + "/out/oob.jsonl"));
}

TEST(BadInput, UnknownAlgorithmName) {
    const std::string dir = scratch_dir(), sa = dir + "/sa.json";
    write_file(sa, sa_with_encryption("{\"algorithm\": \"aes-gcm-512\", \"key\": \"00112233445566778899aabbccddeeff\", "
                                      "\"salt\": \"01020304\"}"));
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), sa, dir + "/out");
    expect_input_error(r, {sa + ":4", "/sas/0/sec_assoc/0/encryption/algorithm", "unknown algorithm", "aes-gcm-512"});
    EXPECT_EQ(r.err.find("00112233445566778899aabbccddeeff"), std::string::npos) << "key in the message";
}

TEST(BadInput, WrongKeyLength) {
    const std::string dir = scratch_dir(), sa = dir + "/sa.json";
    const std::string key15 = "8e8058401353c937abfeed875c2e45";
    write_file(sa, sa_with_encryption("{\"algorithm\": \"aes-gcm-128\", \"key\": \"" + key15 +
                                      "\", \"salt\": \"968c712b\"}"));
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), sa, dir + "/out");
    expect_input_error(r, {sa + ":4", "/sas/0/sec_assoc/0/encryption/key", "15 bytes", "16"});
    EXPECT_EQ(r.err.find(key15), std::string::npos) << "key in the message";
}

TEST(BadInput, UnknownSetParameter) {
    const std::string dir = scratch_dir();
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), default_scenario() + "/sa.json", dir + "/out",
                                {"--set", "no_such_parameter=3"});
    expect_input_error(r, {"--set", "no_such_parameter", "core_clock_mhz"});
    EXPECT_FALSE(file_exists(dir + "/out/oob.jsonl"));
}

TEST(BadInput, UnknownCapabilitySwitch) {
    const std::string dir = scratch_dir();
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), default_scenario() + "/sa.json", dir + "/out",
                                {"--set", "caps.ipv5=false"});
    expect_input_error(r, {"--set", "caps.ipv5", "ipv4_options"});
}

TEST(BadInput, ImpossibleTimingValue) {
    const std::string dir = scratch_dir();
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), default_scenario() + "/sa.json", dir + "/out",
                                {"--set", "core_clock_mhz=0"});
    expect_input_error(r, {"core_clock_mhz", "above 0"});
    EXPECT_FALSE(file_exists(dir + "/out/oob.jsonl"));
}

TEST(BadInput, UnwritableOutputDirectory) {
    const std::string dir = scratch_dir();
    write_file(dir + "/a_file", "a regular file where the output directory's parent should be\n");
    const std::string out = dir + "/a_file/out";
    const RunResult r = run_sim(pcap_of_default_frames(dir, 2), default_scenario() + "/sa.json", out);
    expect_input_error(r, {out, "cannot create"});
}

// ---- no key material anywhere ----------------------------------------------------------------------------

namespace {

// Every key and salt of an SA file, as hex.
std::vector<std::string> key_hex_strings(const json& doc) {
    std::vector<std::string> keys;
    for (const json& sa : doc["sas"])
        for (const json& s : sa["sec_assoc"])
            for (const char* alg : {"encryption", "authentication"})
                if (s.contains(alg))
                    for (const char* k : {"key", "salt"})
                        if (s[alg].contains(k) && !s[alg][k].get<std::string>().empty())
                            keys.push_back(s[alg][k].get<std::string>());
    return keys;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

void expect_no_keys(const std::string& what, const std::string& content, const std::vector<std::string>& keys) {
    const std::string text = lower(content);
    for (const std::string& k : keys) {
        EXPECT_EQ(text.find(lower(k)), std::string::npos) << what << " contains key material " << k;
        const Bytes raw = from_hex(k);
        if (raw.size() >= 8)
            EXPECT_EQ(content.find(std::string(raw.begin(), raw.end())), std::string::npos)
                << what << " contains the raw bytes of key " << k;
    }
}

}  // namespace

TEST(NoKeyMaterial, DefaultRunOutputsAndMessages) {
    const std::string dir = scratch_dir(), sa = default_scenario() + "/sa.json";
    const std::vector<std::string> keys = key_hex_strings(read_json(sa));
    ASSERT_GE(keys.size(), 40u);
    for (const char* variant : {"on", "off", "tunnel_off"}) {
        std::vector<std::string> extra;
        if (std::string(variant) == "off") extra = {"--no-offload"};
        if (std::string(variant) == "tunnel_off") extra = {"--set", "caps.tunnel=false"};
        const std::string out = dir + "/" + variant;
        // not --quiet: the summary on stdout is checked too
        std::vector<std::string> args = {"run", "--pcap", default_scenario() + "/frames.pcap", "--sa", sa, "--out", out};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_ov2sim(args, dir);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        expect_no_keys(std::string(variant) + " stdout", r.out, keys);
        expect_no_keys(std::string(variant) + " stderr", r.err, keys);
        for (const char* f : {"oob.jsonl", "stats.json", "indicated.pcap"})
            expect_no_keys(out + "/" + f, read_file(out + "/" + f), keys);
    }
}

TEST(NoKeyMaterial, ErrorMessagesNeverQuoteKeys) {
    const std::string dir = scratch_dir(), pcap = pcap_of_default_frames(dir, 1);
    const std::string key = "c2ef5e5ef7f75a95ee54b924db5e0881", key_odd = "c2ef5e5ef7f75a95ee54b924db5e088";
    struct Case {
        const char* name;
        std::string text;
    };
    const std::vector<Case> cases = {
        {"key in the spi field",
         "{\"sas\": [{\"name\": \"a\", \"dst\": \"192.0.2.10\", \"sec_assoc\": [{\"operation\": \"esp\", \"spi\": \"" + key +
             "\", \"mode\": \"transport\", \"encryption\": {\"algorithm\": \"aes-gcm-128\", \"key\": \"" + key +
             "\", \"salt\": \"01020304\"}}]}]}"},
        {"key in the algorithm field", sa_with_encryption("{\"algorithm\": \"" + key + "\", \"key\": \"" + key + "\"}")},
        {"odd number of digits", sa_with_encryption("{\"algorithm\": \"aes-gcm-128\", \"key\": \"" + key_odd +
                                                    "\", \"salt\": \"01020304\"}")},
        {"syntax error right after the key",
         sa_with_encryption("{\"algorithm\": \"aes-gcm-128\", \"key\": \"" + key + "\" \"salt\": \"01020304\"}")},
        {"key in the name", "{\"sas\": [{\"name\": \"" + key + "\", \"dst\": \"192.0.2.10\", \"bogus\": 1}]}"},
        {"iproute2: short aead key",
         "ip xfrm state add src 192.0.2.20 dst 192.0.2.10 proto esp spi 0x1001 mode transport aead "
         "'rfc4106(gcm(aes))' 0x" + key + " 128\n"},
        {"iproute2: unknown enc with key",
         "ip xfrm state add src 192.0.2.20 dst 192.0.2.10 proto esp spi 0x1001 mode transport enc 'cbc(" + key +
             ")' 0x" + key + "\n"},
    };
    int i = 0;
    for (const Case& c : cases) {
        const std::string sa = dir + "/sa" + std::to_string(i++) + ".txt";
        write_file(sa, c.text);
        const RunResult r = run_sim(pcap, sa, dir + "/out");
        EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
        EXPECT_EQ(r.err.rfind("ov2sim: error: " + sa, 0), 0u) << c.name << ": " << r.err;
        expect_no_keys(c.name, r.err + r.out, {key, key_odd.substr(0, 30)});
    }
}

// ---- iproute2 text == JSON -------------------------------------------------------------------------------

namespace {

const GcmSa kGcm128{0x00001001, from_hex("3b2a19087f6e5d4c3b2a19087f6e5d4c"), from_hex("5a6b7c8d")};
const CbcSha1Sa kCbc{0x00002002, from_hex("aa55aa55aa55aa5500ff00ff00ff00ff"),
                     from_hex("0123456789abcdef0123456789abcdef01234567")};
const GcmSa kGcm256{0x00003003, from_hex("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"),
                    from_hex("cafef00d"), 12};

Bytes transport_frame(uint32_t spi_override, uint32_t seq, bool flip_icv = false) {
    GcmSa sa = kGcm128;
    if (spi_override) sa.spi = spi_override;
    Bytes esp = esp_gcm(sa, seq, {1, 2, 3, 4, 5, 6, 7, uint8_t(seq)}, udp_datagram(1234, 53, Bytes(30 + seq, 0x61)), 17);
    if (flip_icv) esp.back() ^= 0x80;
    return ethernet(ipv4_packet(ip4("192.0.2.20"), ip4("192.0.2.10"), 50, esp, uint16_t(seq)));
}

Bytes inner_packet(uint32_t seq) {
    return ipv4_packet(ip4("203.0.113.20"), ip4("203.0.113.10"), 17, udp_datagram(5000, 6000, Bytes(20 + seq, 0x42)),
                       uint16_t(0x200 + seq));
}

Bytes cbc_tunnel_frame(uint32_t seq, bool flip_ct = false) {
    Bytes iv(16);
    for (size_t i = 0; i < 16; ++i) iv[i] = uint8_t(i * 17 + seq);
    Bytes esp = esp_cbc_sha1(kCbc, seq, iv, inner_packet(seq), 4);
    if (flip_ct) esp[8 + 16 + 3] ^= 0x01;
    return ethernet(ipv4_packet(ip4("198.51.100.1"), ip4("198.51.100.2"), 50, esp, uint16_t(0x300 + seq)));
}

Bytes gcm_tunnel_frame(uint32_t seq) {
    const Bytes esp = esp_gcm(kGcm256, seq, {9, 9, 9, 9, 9, 9, 9, uint8_t(seq)}, inner_packet(seq), 4);
    return ethernet(ipv4_packet(ip4("198.51.100.1"), ip4("198.51.100.2"), 50, esp, uint16_t(0x400 + seq)));
}

}  // namespace

TEST(IpXfrmText, SameSasAsJsonGiveIdenticalResults) {
    const std::string dir = scratch_dir();
    const std::vector<Bytes> frames = {
        transport_frame(0, 1),         // 1 GCM-128 transport
        cbc_tunnel_frame(1),           // 2 CBC-128/SHA1-96 tunnel
        gcm_tunnel_frame(1),           // 3 GCM-256 (ICV 12) tunnel
        transport_frame(0, 2, true),   // 4 GCM ICV corrupted
        cbc_tunnel_frame(2),           // 5
        cbc_tunnel_frame(3, true),     // 6 CBC ciphertext corrupted: HMAC fails
        ethernet(ipv4_packet(ip4("192.0.2.20"), ip4("192.0.2.10"), 17, udp_datagram(1, 2, Bytes(20, 1)))),  // 7
        transport_frame(0x9999, 3),    // 8 unknown SPI
        gcm_tunnel_frame(2),           // 9
    };
    write_pcap(dir + "/frames.pcap", frames);
    const std::string json_sas =
        "{\"sas\": [\n"
        " {\"name\": \"gcm128\", \"src\": \"192.0.2.20\", \"dst\": \"192.0.2.10\", \"replay_window\": 64, \"sec_assoc\": "
        "[{\"operation\": \"esp\", \"spi\": \"0x00001001\", \"mode\": \"transport\", \"encryption\": {\"algorithm\": "
        "\"aes-gcm-128\", \"key\": \"" + hex(kGcm128.key) + "\", \"salt\": \"" + hex(kGcm128.salt) + "\", \"icv_len\": 16}}]},\n"
        " {\"name\": \"cbc\", \"src\": \"198.51.100.1\", \"dst\": \"198.51.100.2\", \"replay_window\": 64, \"sec_assoc\": "
        "[{\"operation\": \"esp\", \"spi\": \"0x00002002\", \"mode\": \"tunnel\", \"encryption\": {\"algorithm\": "
        "\"aes-cbc-128\", \"key\": \"" + hex(kCbc.enc_key) + "\"}, \"authentication\": {\"algorithm\": \"hmac-sha1-96\", "
        "\"key\": \"" + hex(kCbc.auth_key) + "\"}}]},\n"
        " {\"name\": \"gcm256\", \"src\": \"198.51.100.1\", \"dst\": \"198.51.100.2\", \"replay_window\": 64, \"sec_assoc\": "
        "[{\"operation\": \"esp\", \"spi\": \"0x00003003\", \"mode\": \"tunnel\", \"encryption\": {\"algorithm\": "
        "\"aes-gcm-256\", \"key\": \"" + hex(kGcm256.key) + "\", \"salt\": \"" + hex(kGcm256.salt) + "\", \"icv_len\": 12}}]}\n"
        "]}\n";
    const std::string xfrm_sas =
        "# the same three SAs as iproute2 commands\n"
        "ip xfrm state add src 192.0.2.20 dst 192.0.2.10 proto esp spi 0x00001001 reqid 1 mode transport "
        "replay-window 64 aead 'rfc4106(gcm(aes))' 0x" + hex(kGcm128.key) + hex(kGcm128.salt) + " 128\n"
        "ip xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0x00002002 reqid 2 mode tunnel \\\n"
        "    replay-window 64 enc 'cbc(aes)' 0x" + hex(kCbc.enc_key) + " auth-trunc 'hmac(sha1)' 0x" +
        hex(kCbc.auth_key) + " 96\n"
        "ip xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0x00003003 reqid 3 mode tunnel "
        "replay-window 64 aead 'rfc4106(gcm(aes))' 0x" + hex(kGcm256.key) + hex(kGcm256.salt) + " 96\n";
    write_file(dir + "/sa.json", json_sas);
    write_file(dir + "/sa.xfrm", xfrm_sas);
    const RunResult rj = run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/json");
    const RunResult rx = run_sim(dir + "/frames.pcap", dir + "/sa.xfrm", dir + "/xfrm");
    ASSERT_EQ(rj.exit_code, 0) << rj.err;
    ASSERT_EQ(rx.exit_code, 0) << rx.err;
    EXPECT_EQ(rj.err, "");
    EXPECT_EQ(rx.err, "");
    const std::vector<json> j = by_frame(read_jsonl(dir + "/json/oob.jsonl"), frames.size());
    const std::vector<json> x = by_frame(read_jsonl(dir + "/xfrm/oob.jsonl"), frames.size());
    for (size_t f = 1; f <= frames.size(); ++f) {
        json a = crypto_fields(j[f]), b = crypto_fields(x[f]);
        a["offload_handle"] = j[f]["offload_handle"];
        b["offload_handle"] = x[f]["offload_handle"];
        EXPECT_EQ(a, b) << "frame " << f;
    }
    EXPECT_TRUE(read_file(dir + "/json/indicated.pcap") == read_file(dir + "/xfrm/indicated.pcap"))
        << "the decrypted frames differ";

    // and the comparison is not vacuous: the SAs really processed the frames
    for (size_t f : {1, 2, 3, 5, 9}) {
        EXPECT_EQ(j[f]["crypto_done"], 1) << f;
        EXPECT_EQ(j[f]["crypto_status"], 0) << f;
        EXPECT_EQ(j[f]["stack_verdict"], "accepted") << f;
    }
    EXPECT_EQ(j[1]["header_info"]["next_header"], 17);
    EXPECT_EQ(j[2]["header_info"]["next_header"], 4);
    EXPECT_EQ(j[3]["header_info"]["next_header"], 4);
    EXPECT_EQ(j[4]["crypto_status"], 3) << "transport ESP auth failed";
    EXPECT_EQ(j[6]["crypto_status"], 5) << "tunnel ESP auth failed";
    EXPECT_EQ(j[7]["nic_reason"], "not_ipsec");
    EXPECT_EQ(j[8]["nic_reason"], "no_sa");
    // the decrypted inner packet is where the ESP payload was
    const std::vector<Bytes> ind = read_pcap(dir + "/json/indicated.pcap");
    const Bytes inner = inner_packet(1);
    bool found = false;
    for (const Bytes& b : ind)
        if (b.size() >= 14 + 20 + 8 + 16 + inner.size() &&
            std::equal(inner.begin(), inner.end(), b.begin() + 14 + 20 + 8 + 16))
            found = true;
    EXPECT_TRUE(found) << "CBC tunnel frame 2 not decrypted in place";
}
