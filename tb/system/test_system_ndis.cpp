// End to end: the NDIS receive rules as oob.jsonl shows them (spec 1.1-1.4), offload disabled, capability
// switches, and SaDeleteReq followed by the transport's DELETE_SA of the SA and its outbound pair.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>

#include "system_util.h"

using namespace systest;

namespace {

struct DefaultRun {
    std::vector<json> oob;       // indexed by frame
    std::vector<json> expected;  // indexed by frame
    RunResult result;
};

DefaultRun run_default(const std::string& dir, const std::string& name, const std::vector<std::string>& extra = {}) {
    const std::string sc = default_scenario();
    DefaultRun d;
    d.result = run_sim(sc + "/frames.pcap", sc + "/sa.json", dir + "/" + name, extra);
    EXPECT_EQ(d.result.exit_code, 0) << d.result.err;
    d.oob = by_frame(read_jsonl(dir + "/" + name + "/oob.jsonl"), kDefaultScenarioFrames);
    d.expected = std::vector<json>(1);
    for (const json& e : read_jsonl(sc + "/expected.jsonl")) d.expected.push_back(e);
    EXPECT_EQ(d.expected.size(), kDefaultScenarioFrames + 1);
    return d;
}

// The frame of the default scenario whose expected.jsonl case contains `text` (exactly one).
size_t frame_of_case(const DefaultRun& d, const std::string& text) {
    size_t found = 0;
    for (size_t f = 1; f < d.expected.size(); ++f) {
        if (d.expected[f]["case"].get<std::string>().find(text) == std::string::npos) continue;
        EXPECT_EQ(found, 0u) << "two cases contain '" << text << "'";
        found = f;
    }
    EXPECT_NE(found, 0u) << "no case contains '" << text << "'";
    return found;
}

bool expected_ipsec(const json& e) {
    return e["crypto_done"].get<int>() == 1 || e["stack_verdict"].get<std::string>() == "software_ipsec";
}

std::string nbl_hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

void expect_unprocessed_oob(const json& l) {
    const std::string where = l.dump();
    EXPECT_EQ(l["crypto_done"], 0) << where;
    EXPECT_EQ(l["next_crypto_done"], 0) << where;
    EXPECT_EQ(l["crypto_status"], 0) << where;
    EXPECT_EQ(l["sa_delete_req"], 0) << where;
    EXPECT_EQ(l["nbl_info"], "0x00000000") << where;
    EXPECT_EQ(l["offload_handle"], 0) << where;
    EXPECT_EQ(l["inner_offload_handle"], 0) << where;
    EXPECT_EQ(l["header_info"]["header_info_set"], 0) << where;
    EXPECT_EQ(l["header_info"]["next_header"], 0) << where;
    EXPECT_EQ(l["header_info"]["pad_length"], 0) << where;
    EXPECT_NE(l["nic_reason"], "processed") << where;
}

// Every frame except `skip` has the same crypto fields in both runs.
void expect_others_unchanged(const DefaultRun& base, const DefaultRun& run, const std::set<size_t>& skip) {
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f)
        if (!skip.count(f)) EXPECT_EQ(crypto_fields(run.oob[f]), crypto_fields(base.oob[f])) << "frame " << f;
}

}  // namespace

// ---- NDIS rules -------------------------------------------------------------------------------------------

TEST(NdisRules, NoSaMeansCryptoDoneClearAndNoOob) {
    const DefaultRun d = run_default(scratch_dir(), "out");
    const size_t unknown_spi = frame_of_case(d, "unknown SPI"), other_dst = frame_of_case(d, "other destination");
    size_t no_sa = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        if (d.oob[f]["nic_reason"] != "no_sa") continue;
        ++no_sa;
        expect_unprocessed_oob(d.oob[f]);
        EXPECT_TRUE(d.oob[f]["indicated"].get<bool>()) << f;
        EXPECT_EQ(d.oob[f]["stack_verdict"], "software_ipsec") << f;
    }
    EXPECT_EQ(no_sa, 2u);
    EXPECT_EQ(d.oob[unknown_spi]["nic_reason"], "no_sa");
    EXPECT_EQ(d.oob[other_dst]["nic_reason"], "no_sa");
}

TEST(NdisRules, FailedFramesAreStillIndicatedWithTheirStatus) {
    const DefaultRun d = run_default(scratch_dir(), "out");
    size_t failures = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        const int status = d.expected[f]["crypto_status"].get<int>();
        if (status == 0) continue;
        ++failures;
        const json& l = d.oob[f];
        EXPECT_TRUE(l["indicated"].get<bool>()) << "frame " << f << " failed the ICV/syntax check and was dropped";
        EXPECT_EQ(l["crypto_done"], 1) << f;
        EXPECT_EQ(l["crypto_status"], status) << f;
        EXPECT_NE(l["offload_handle"], 0) << f;
        EXPECT_EQ(l["nbl_info"], nbl_hex(uint32_t(status) << 16 | 0x2)) << f;
        EXPECT_EQ(l["length"].get<size_t>() > 0, true) << f;
    }
    EXPECT_EQ(failures, 8u) << "the default scenario has 8 failing frames (README: statuses 2-5, 3 x 6, 7)";
    size_t indicated = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) indicated += d.oob[f]["indicated"].get<bool>();
    EXPECT_EQ(indicated, kDefaultScenarioFrames);
}

TEST(NdisRules, NextCryptoDoneOnlyOnTheTransportOverTunnelFrame) {
    const DefaultRun d = run_default(scratch_dir(), "out");
    const size_t tot = frame_of_case(d, "transport-over-tunnel");
    std::set<size_t> with_next;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f)
        if (d.oob[f]["next_crypto_done"] == 1) with_next.insert(f);
    EXPECT_EQ(with_next, std::set<size_t>{tot});
    const json& l = d.oob[tot];
    EXPECT_EQ(l["crypto_done"], 1);
    EXPECT_EQ(l["crypto_status"], 0);
    EXPECT_EQ(l["nbl_info"], "0x00000006") << "CryptoDone | NextCryptoDone, status success";
    EXPECT_NE(l["inner_offload_handle"], 0);
    EXPECT_NE(l["inner_offload_handle"], l["offload_handle"]) << "the transport portion has its own SA";
    EXPECT_EQ(l["stack_verdict"], "accepted");
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f)
        if (f != tot) EXPECT_EQ(d.oob[f]["inner_offload_handle"], 0) << f;
}

TEST(NdisRules, FlagsAreClearWhenTheNicDidNotProcess) {
    const DefaultRun d = run_default(scratch_dir(), "out");
    size_t unprocessed = 0, processed = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        const json& l = d.oob[f];
        if (l["crypto_done"] == 0) {
            ++unprocessed;
            expect_unprocessed_oob(l);
        } else {
            ++processed;
            EXPECT_EQ(l["nic_reason"], "processed") << f;
            const uint32_t nbl = uint32_t(std::stoul(l["nbl_info"].get<std::string>(), nullptr, 16));
            EXPECT_TRUE(nbl & 2) << f;
            EXPECT_EQ(nbl >> 16, l["crypto_status"].get<uint32_t>()) << f;
        }
        EXPECT_EQ(l["crypto_done"], d.expected[f]["crypto_done"]) << f;
    }
    EXPECT_EQ(unprocessed, 10u);
    EXPECT_EQ(processed, 34u);
}

// ---- offload disabled ----------------------------------------------------------------------------------

TEST(NoOffload, NothingProcessedAndIpsecLeftToSoftware) {
    const std::string dir = scratch_dir();
    const DefaultRun d = run_default(dir, "out", {"--no-offload"});
    size_t ipsec = 0;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        const json& l = d.oob[f];
        expect_unprocessed_oob(l);
        EXPECT_EQ(l["nbl_info"], "0x00000000") << f;
        EXPECT_EQ(l["nic_reason"], "offload_disabled") << f;
        EXPECT_TRUE(l["indicated"].get<bool>()) << f;
        if (expected_ipsec(d.expected[f])) {
            ++ipsec;
            EXPECT_EQ(l["stack_verdict"], "software_ipsec") << "frame " << f << ": " << d.expected[f]["case"];
        } else {
            EXPECT_EQ(l["stack_verdict"], "not_ipsec") << f;
        }
    }
    EXPECT_EQ(ipsec, 38u);
    const json stats = read_json(dir + "/out/stats.json");
    EXPECT_EQ(stats["driver"]["sa_offloaded"], 0);
    EXPECT_EQ(stats["crypto"]["crypto_done"], 0);
    EXPECT_EQ(stats["sa_cam"]["valid_entries"], 0);
}

// ---- capability switches ---------------------------------------------------------------------------------

TEST(Capabilities, Ipv4OptionsOffLeavesTheOptionsFrameUnprocessed) {
    const std::string dir = scratch_dir();
    const DefaultRun base = run_default(dir, "base");
    const DefaultRun run = run_default(dir, "off", {"--set", "caps.ipv4_options=false"});
    const size_t f = frame_of_case(base, "IPv4 option");
    ASSERT_EQ(base.oob[f]["crypto_done"], 1) << "with the capability on, the options frame is processed";
    expect_unprocessed_oob(run.oob[f]);
    EXPECT_EQ(run.oob[f]["nic_reason"], "ipv4_options");
    EXPECT_EQ(run.oob[f]["stack_verdict"], "software_ipsec");
    expect_others_unchanged(base, run, {f});
}

TEST(Capabilities, Ipv6ExtensionHeadersOffLeavesTheHopByHopFrameUnprocessed) {
    const std::string dir = scratch_dir();
    const DefaultRun base = run_default(dir, "base");
    const DefaultRun run = run_default(dir, "off", {"--set", "caps.ipv6_non_ipsec_extension_headers=false"});
    const size_t f = frame_of_case(base, "Hop-by-Hop");
    ASSERT_EQ(base.oob[f]["crypto_done"], 1);
    expect_unprocessed_oob(run.oob[f]);
    EXPECT_EQ(run.oob[f]["nic_reason"], "ipv6_extension_headers");
    EXPECT_EQ(run.oob[f]["stack_verdict"], "software_ipsec");
    expect_others_unchanged(base, run, {f});
}

TEST(Capabilities, TunnelOffMakesTheDriverRefuseTunnelSas) {
    const std::string dir = scratch_dir(), sa_path = default_scenario() + "/sa.json";
    const DefaultRun base = run_default(dir, "base");
    const DefaultRun run = run_default(dir, "off", {"--set", "caps.tunnel=false"});
    std::set<std::string> tunnel_sas;
    const json sa_doc = read_json(sa_path);
    for (const json& sa : sa_doc["sas"])
        for (const json& s : sa["sec_assoc"])
            if (s["mode"] == "tunnel") tunnel_sas.insert(sa["name"].get<std::string>());
    ASSERT_GE(tunnel_sas.size(), 5u);
    // one warning per tunnel SA, naming it
    const std::vector<std::string> lines = run.result.err_lines();
    EXPECT_EQ(lines.size(), tunnel_sas.size()) << run.result.err;
    for (const std::string& name : tunnel_sas) {
        const std::string want = "ov2sim: warning: " + sa_path + ": SA '" + name + "' not offloaded: tunnel mode is not supported";
        EXPECT_NE(run.result.err.find(want), std::string::npos) << "missing: " << want << "\nstderr:\n" << run.result.err;
    }
    for (const std::string& l : lines) EXPECT_EQ(l.rfind("ov2sim: warning: ", 0), 0u) << l;
    const json stats = read_json(dir + "/off/stats.json");
    EXPECT_EQ(stats["driver"]["sa_refused"].get<size_t>(), tunnel_sas.size());
    // frames of tunnel SAs are unprocessed; all others as before
    std::set<size_t> tunnel_frames;
    for (size_t f = 1; f <= kDefaultScenarioFrames; ++f) {
        const json& e = base.expected[f];
        if (!e.contains("sa") || !tunnel_sas.count(e["sa"].get<std::string>())) continue;
        tunnel_frames.insert(f);
        expect_unprocessed_oob(run.oob[f]);
        if (base.oob[f]["crypto_done"] == 1) EXPECT_EQ(run.oob[f]["nic_reason"], "no_sa") << f;
        EXPECT_EQ(run.oob[f]["stack_verdict"], "software_ipsec") << f;
    }
    EXPECT_GE(tunnel_frames.size(), 8u);
    expect_others_unchanged(base, run, tunnel_frames);
}

// ---- SaDeleteReq ------------------------------------------------------------------------------------------

namespace {

const GcmSa kInbound{0x00001001, from_hex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"), from_hex("a1b2c3d4")};
const GcmSa kOutbound{0x00002002, from_hex("00112233445566778899aabbccddeeff"), from_hex("01020304")};
const GcmSa kOther{0x00003003, from_hex("f0e1d2c3b4a5968778695a4b3c2d1e0f"), from_hex("d4c3b2a1")};

std::string gcm_sa_json(const std::string& name, const std::string& direction, const std::string& src,
                        const std::string& dst, const GcmSa& sa, const std::string& extra) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", sa.spi);
    return "{\"name\": \"" + name + "\", \"direction\": \"" + direction + "\", \"src\": \"" + src +
           "\", \"dst\": \"" + dst + "\"" + extra + ", \"sec_assoc\": [{\"operation\": \"esp\", \"spi\": \"" + spi +
           "\", \"mode\": \"transport\", \"encryption\": {\"algorithm\": \"aes-gcm-128\", \"key\": \"" + hex(sa.key) +
           "\", \"salt\": \"" + hex(sa.salt) + "\", \"icv_len\": 16}}]}";
}

Bytes esp_transport_frame(const GcmSa& sa, uint32_t seq) {
    Bytes iv = {0, 0, 0, 0, 0xC0, 0xFF, 0xEE, uint8_t(seq)};
    Bytes data(40 + seq, 0);
    for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 3 + seq);
    const Bytes esp = esp_gcm(sa, seq, iv, udp_datagram(40000, 5001, data), 17);
    return ethernet(ipv4_packet(ip4("192.0.2.20"), ip4("192.0.2.10"), 50, esp, uint16_t(0x100 + seq)));
}

struct DeleteRun {
    std::vector<json> oob;
    json stats;
};

// Frames 1-3, 5-7: the inbound SA (seq 1..6); frames 4, 8: another inbound SA. 20 us apart (capture pacing),
// so that each frame is indicated, and any DELETE_SA done, before the next one arrives.
DeleteRun run_delete_case(const std::string& dir, bool with_outbound) {
    std::string sas = "{\"sas\": [" + gcm_sa_json("in", "inbound", "192.0.2.20", "192.0.2.10", kInbound,
                                                  ", \"delete_policy\": {\"packet_lifetime\": 3}");
    if (with_outbound) sas += ",\n" + gcm_sa_json("out", "outbound", "192.0.2.10", "192.0.2.20", kOutbound, "");
    sas += ",\n" + gcm_sa_json("other", "inbound", "192.0.2.20", "192.0.2.10", kOther, "") + "]}\n";
    write_file(dir + "/sa.json", sas);
    const std::vector<Bytes> frames = {esp_transport_frame(kInbound, 1), esp_transport_frame(kInbound, 2),
                                       esp_transport_frame(kInbound, 3), esp_transport_frame(kOther, 1),
                                       esp_transport_frame(kInbound, 4), esp_transport_frame(kInbound, 5),
                                       esp_transport_frame(kInbound, 6), esp_transport_frame(kOther, 2)};
    write_pcap(dir + "/frames.pcap", frames, 20);
    const RunResult r = run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/out", {"--pacing", "capture"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    DeleteRun d;
    d.oob = by_frame(read_jsonl(dir + "/out/oob.jsonl"), frames.size());
    d.stats = read_json(dir + "/out/stats.json");
    return d;
}

}  // namespace

TEST(SaDeleteReq, PacketLifetimeDeletesTheSaAndItsOutboundPair) {
    const DeleteRun d = run_delete_case(scratch_dir(), true);
    for (size_t f : {1, 2, 3}) {
        EXPECT_EQ(d.oob[f]["crypto_done"], 1) << f;
        EXPECT_EQ(d.oob[f]["crypto_status"], 0) << "frame " << f << " (the test's GCM frames must verify)";
        EXPECT_EQ(d.oob[f]["stack_verdict"], "accepted") << f;
    }
    EXPECT_EQ(d.oob[1]["sa_delete_req"], 0);
    EXPECT_EQ(d.oob[2]["sa_delete_req"], 0);
    EXPECT_EQ(d.oob[3]["sa_delete_req"], 1) << "the packet that reaches packet_lifetime 3";
    EXPECT_EQ(d.oob[3]["nbl_info"], "0x00000003") << "SaDeleteReq | CryptoDone";
    for (size_t f : {5, 6, 7}) {
        EXPECT_EQ(d.oob[f]["crypto_done"], 0) << "frame " << f << " still processed with a deleted SA";
        EXPECT_EQ(d.oob[f]["nic_reason"], "no_sa") << f;
        EXPECT_EQ(d.oob[f]["sa_delete_req"], 0) << f;
        EXPECT_EQ(d.oob[f]["nbl_info"], "0x00000000") << f;
        EXPECT_EQ(d.oob[f]["stack_verdict"], "software_ipsec") << f;
    }
    for (size_t f : {4, 8}) {
        EXPECT_EQ(d.oob[f]["crypto_done"], 1) << "the unrelated SA was deleted too: frame " << f;
        EXPECT_EQ(d.oob[f]["stack_verdict"], "accepted") << f;
        EXPECT_EQ(d.oob[f]["sa_delete_req"], 0) << f;
    }
    EXPECT_EQ(d.stats["transport"]["sa_delete_requests"], 1);
    EXPECT_EQ(d.stats["transport"]["delete_sa_issued"], 2) << "the inbound SA and its outbound pair";
    EXPECT_EQ(d.stats["transport"]["delete_without_pair"], 0);
    EXPECT_EQ(d.stats["driver"]["oid_delete_sa"], 2);
    EXPECT_EQ(d.stats["driver"]["oid_failed"], 0);
    EXPECT_EQ(d.stats["driver"]["sa_delete_req_set"], 1);
    EXPECT_EQ(d.stats["driver"]["bundles_in_use"], 1) << "only 'other' is left";
    EXPECT_EQ(d.stats["sa_cam"]["valid_entries"], 1);
}

TEST(SaDeleteReq, WithoutAnOutboundPairOnlyTheInboundSaIsDeleted) {
    const DeleteRun d = run_delete_case(scratch_dir(), false);
    EXPECT_EQ(d.oob[3]["sa_delete_req"], 1);
    EXPECT_EQ(d.oob[5]["crypto_done"], 0);
    EXPECT_EQ(d.stats["transport"]["delete_sa_issued"], 1);
    EXPECT_EQ(d.stats["transport"]["delete_without_pair"], 1);
    EXPECT_EQ(d.stats["driver"]["oid_delete_sa"], 1);
    EXPECT_EQ(d.stats["driver"]["bundles_in_use"], 1);
}

// ---- DELETE_SA while frames of the SA are in flight ----------------------------------------------------

// One SA slot, one slow crypto lane: frames 1-8 of SA "a" queue in front of crypto, matched and held, when
// the OIDs before frame 9 delete "a" and add "b" into the only slot. The held frames are still checked with
// "a" (not CRYPTO_GENERIC_ERROR, not with b's key) and carry a's handle; "b" gets the slot once they are done,
// under a handle of its own, so no late frame of "a" can land in b's replay window.
namespace {

// The inputs of the DELETE_SA-under-load case below in `dir` (frames.pcap, sa.json, oids.json): frames
// 1-8 of SA "a", then the OIDs that delete "a" and add "b", then frames 9-10 of "b". Returns the frames.
std::vector<Bytes> write_delete_under_load(const std::string& dir) {
    write_file(dir + "/sa.json",
               "{\"sas\": [" + gcm_sa_json("a", "inbound", "192.0.2.20", "192.0.2.10", kInbound, "") + "]}\n");
    write_file(dir + "/oids.json",
               "{\"oids\": [{\"before_frame\": 9, \"oid\": \"delete_sa\", \"sa\": \"a\"},\n"
               "  {\"before_frame\": 9, \"oid\": \"add_sa\", \"sas\": [" +
                   gcm_sa_json("b", "inbound", "192.0.2.20", "192.0.2.10", kOther, "") + "]}]}\n");
    std::vector<Bytes> frames;
    for (uint32_t seq = 1; seq <= 8; ++seq) frames.push_back(esp_transport_frame(kInbound, seq));
    for (uint32_t seq = 1; seq <= 2; ++seq) frames.push_back(esp_transport_frame(kOther, seq));
    write_pcap(dir + "/frames.pcap", frames);
    return frames;
}

// One slow crypto lane, so frames of "a" are still in flight when it is deleted.
std::vector<std::string> delete_under_load_options(const std::string& dir, const std::string& bundles) {
    return {"--oids", dir + "/oids.json", "--set", "sa_cam_bundles=" + bundles, "--set", "caps.sa_offload_capacity=1",
            "--set", "crypto_lanes=1", "--set", "crypto_gcm_bytes_per_cycle=1"};
}

// a's frames are still in the device when a is deleted and b takes its slot (outputs in dir/out-MODE).
RunResult run_delete_in_flight(const std::string& dir, const std::string& mode) {
    std::vector<std::string> options = delete_under_load_options(dir, "1");
    options.insert(options.end(), {"--mode", mode});
    return run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/out-" + mode, options);
}

}  // namespace

TEST(DeleteSa, FramesInFlightAreCheckedWithTheirSaAndTheReusedSlotGetsANewHandle) {
    const std::string dir = scratch_dir();
    write_delete_under_load(dir);
    const RunResult r = run_delete_in_flight(dir, "cycle");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> oob = by_frame(read_jsonl(dir + "/out-cycle/oob.jsonl"), 10);
    const json stats = read_json(dir + "/out-cycle/stats.json");
    const uint32_t handle_a = stats["driver"]["sas"][0]["offload_handle"];
    const json& log = stats["driver"]["oid_log"];
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0]["status"], "0x00000000");
    const uint32_t handle_b = log[1]["added"][0]["offload_handle"];
    EXPECT_NE(handle_b, 0u);
    EXPECT_NE(handle_b, handle_a) << "a reused slot must not hand out the deleted SA's handle";

    size_t held = 0;
    for (size_t f = 1; f <= 8; ++f) {
        if (oob[f]["crypto_done"] == 0) {
            EXPECT_EQ(oob[f]["nic_reason"], "no_sa") << "frame " << f << " looked up after the delete";
            continue;
        }
        ++held;
        EXPECT_EQ(oob[f]["crypto_status"], 0) << "frame " << f << " matched a before the delete";
        EXPECT_EQ(oob[f]["offload_handle"], handle_a) << f;
    }
    EXPECT_GE(stats["sa_cam"]["deferred_invalidates"].get<int>(), 1) << "the delete must find frames in flight";
    EXPECT_GE(stats["driver"]["sa_busy_retries"].get<int>(), 1) << "b's write must wait for a's frames";
    EXPECT_GE(held, 2u);
    for (size_t f : {9, 10}) {
        EXPECT_EQ(oob[f]["crypto_done"], 1) << f;
        EXPECT_EQ(oob[f]["crypto_status"], 0) << f;
        EXPECT_EQ(oob[f]["offload_handle"], handle_b) << f;
        EXPECT_EQ(oob[f]["stack_verdict"], "accepted") << f;
    }
    EXPECT_EQ(stats["transport"]["generic_error"], 0);
}

// The same in fast mode (docs/timing.md, "Fast mode"): the OIDs run from the same moment while the frames
// in flight are looked up, held and released at their own times; every line and counter the same.
TEST(DeleteSa, FramesInFlightGiveTheSameResultsInFastMode) {
    const std::string dir = scratch_dir();
    write_delete_under_load(dir);
    ASSERT_EQ(run_delete_in_flight(dir, "cycle").exit_code, 0);
    const RunResult r = run_delete_in_flight(dir, "fast");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json> cycle = by_frame(read_jsonl(dir + "/out-cycle/oob.jsonl"), 10);
    const std::vector<json> fast = by_frame(read_jsonl(dir + "/out-fast/oob.jsonl"), 10);
    for (size_t f = 1; f <= 10; ++f) EXPECT_EQ(fast[f], cycle[f]) << "frame " << f;
    const json a = read_json(dir + "/out-cycle/stats.json"), b = read_json(dir + "/out-fast/stats.json");
    for (const char* group : {"mac", "parser", "sa_cam", "crypto", "desc_wb", "bus", "driver", "transport"})
        EXPECT_EQ(b[group], a[group]) << group;
    EXPECT_GE(b["driver"]["sa_busy_retries"].get<int>(), 1);
}

// The same case with the RTL CAM (--rtl cam; its table has the default 1024 bundles, the driver still gets
// one SA slot from caps.sa_offload_capacity=1): the delete is deferred and b's write refused busy through
// the RTL's hold port, and everything comes out as in the SystemC run. A changed setting would show up.
TEST(DeleteSa, FramesInFlightSameWithRtlCam) {
    const std::string dir = scratch_dir();
    write_delete_under_load(dir);
    const std::vector<std::string> options = delete_under_load_options(dir, "1024");
    std::vector<std::string> with_rtl = options;
    with_rtl.insert(with_rtl.end(), {"--rtl", "cam"});
    ASSERT_EQ(run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/sc", options).exit_code, 0);
    const RunResult r = run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/rtl", with_rtl);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json stats = read_json(dir + "/rtl/stats.json");
    EXPECT_GE(stats["sa_cam"]["deferred_invalidates"].get<int>(), 1);
    EXPECT_GE(stats["driver"]["sa_busy_retries"].get<int>(), 1);
    EXPECT_EQ(stats["rtl"]["cam"]["mismatches"], 0) << stats["rtl"]["cam"]["first_mismatch"];
    EXPECT_EQ(read_file(dir + "/sc/oob.jsonl"), read_file(dir + "/rtl/oob.jsonl"));
    for (const char* block : {"sa_cam", "driver", "transport", "crypto", "desc_wb", "mac"})
        EXPECT_EQ(read_json(dir + "/sc/stats.json")[block], stats[block]) << block;
    std::vector<std::string> slower = with_rtl;
    slower.insert(slower.end(), {"--set", "crypto_gcm_bytes_per_cycle=2"});
    ASSERT_EQ(run_sim(dir + "/frames.pcap", dir + "/sa.json", dir + "/other", slower).exit_code, 0);
    EXPECT_NE(read_file(dir + "/sc/oob.jsonl"), read_file(dir + "/other/oob.jsonl"));
}
