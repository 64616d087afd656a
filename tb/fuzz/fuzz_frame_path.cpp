// fuzz_frame_path: one input = one received Ethernet frame, through the functional cores of the receive
// path without the SystemC kernel: parse_frame -> decide_outer (SA CAM lookup, capabilities) ->
// process_ipsec (CryptoEngine) -> Completion encode/decode.
//
// The CAM is programmed once, through its registers, with every offloadable SA of the scenario SA files
// (tb/scenarios/scapy_full, default and published/g*: every algorithm, GCM ICV 8/12/16, GMAC ESP and AH,
// CBC/3DES/DES/NULL with each HMAC, tunnel and transport, IPv4 and IPv6, wildcard destination, AH+ESP
// bundles, UDP encapsulation, ESN), so the scenario frames are valid seeds. OV2_FUZZ_SA_FILES (paths
// separated by ':') replaces the list.
//
// Invariants (abort on violation): no crash or sanitizer report; the parser's offsets lie inside the frame
// and its key is the bytes at those offsets; completion fields consistent; the completion survives an
// encode/decode round trip; bytes outside the IPsec payload unchanged, and the whole frame unchanged when
// nothing was decrypted; every ESP verdict and every AH verdict of a plain IP header re-derived with an
// independent Botan implementation (tb/fuzz/fuzz_util.cpp) on the ORIGINAL bytes: Success only when the
// ICV/tag really verifies and the padding is valid, an auth failure only when it does not, the plaintext
// written in place equal to the reference decryption.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "driver_shim.h"
#include "fuzz_util.h"
#include "input_error.h"
#include "rx_packet.h"
#include "rx_parser.h"
#include "rx_pipeline.h"
#include "sa_file.h"

using namespace ov2;
using namespace ov2::fuzz;

namespace {

constexpr uint32_t kBundles = 1024;

struct World {
    SaCamTable cam{kBundles};
    CryptoEngine crypto{size_t(kBundles) * 2};
    std::vector<uint32_t> handles;  // bundles programmed (1-based)
    World() { follow_cam(cam, crypto); }
};

World& world() {
    static World* w = new World;  // never destroyed: libFuzzer may exit from any thread
    return *w;
}

std::vector<std::string> sa_files() {
    std::vector<std::string> files;
    if (const char* env = std::getenv("OV2_FUZZ_SA_FILES")) {
        std::string list = env;
        size_t start = 0;
        while (start <= list.size()) {
            const size_t colon = list.find(':', start);
            const std::string f = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
            if (!f.empty()) files.push_back(f);
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        return files;
    }
    const std::string scenarios = std::string(OV2_SOURCE_DIR) + "/tb/scenarios";
    files.push_back(scenarios + "/scapy_full/sa.json");
    files.push_back(scenarios + "/default/sa.json");
    std::vector<std::string> published;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(scenarios + "/published", ec))
        if (std::filesystem::exists(d.path() / "sa.json")) published.push_back((d.path() / "sa.json").string());
    std::sort(published.begin(), published.end());
    files.insert(files.end(), published.begin(), published.end());
    return files;
}

// Programs every offloadable SA whose inbound (SPI, destination, protocol) keys are still free, as the
// driver would: entries 2(h-1) and 2(h-1)+1 of bundle h, through SA_DATA/SA_CMD.
void program_world(World& w) {
    enable_everything(w.cam);
    using Key = std::tuple<uint32_t, uint8_t, std::array<uint8_t, 16>>;  // what the CAM looks up
    std::set<Key> keys;
    size_t loaded = 0, refused = 0, collided = 0, files = 0;
    for (const std::string& path : sa_files()) {
        std::vector<AddSa> sas;
        try {
            sas = load_sa_file(path);
            ++files;
        } catch (const InputError& e) {
            std::fprintf(stderr, "fuzz_frame_path: skipping %s: %s\n", path.c_str(), e.what());
            continue;
        }
        loaded += sas.size();
        for (const AddSa& sa : sas) {
            if (!offload_refusal(sa, Capabilities{}).empty()) {
                ++refused;
                continue;
            }
            const uint32_t handle = uint32_t(w.handles.size() + 1);
            if (handle > kBundles) break;
            std::vector<Key> mine;
            for (size_t slot = 0; slot < sa.num_ext_hdrs; ++slot) {
                const CamEntry e = make_cam_entry(sa, slot, handle);
                if (e.inbound) mine.emplace_back(e.spi, e.ip_version, e.dst.bytes);
            }
            if (std::any_of(mine.begin(), mine.end(), [&](const Key& k) { return keys.count(k) != 0; })) {
                ++collided;
                continue;
            }
            for (size_t slot = 0; slot < sa.num_ext_hdrs; ++slot)
                FUZZ_CHECK(program_entry(w.cam, (handle - 1) * 2 + uint32_t(slot), make_cam_entry(sa, slot, handle)),
                           "the CAM refused an entry made by make_cam_entry for " + sa.name);
            keys.insert(mine.begin(), mine.end());
            w.handles.push_back(handle);
        }
    }
    std::fprintf(stderr,
                 "fuzz_frame_path: %zu SA files, %zu SAs, %zu bundles programmed (%zu refused by offload_refusal, "
                 "%zu skipped: key already taken), %u CAM entries valid\n",
                 files, loaded, w.handles.size(), refused, collided, w.cam.valid_entries());
    FUZZ_CHECK(!w.handles.empty(), "no SA could be programmed: set OV2_FUZZ_SA_FILES");
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

bool expects_udp(const CamEntry& e) {
    const uint32_t t = e.udp_esp_encapsulation;
    if (e.mode == SaMode::Tunnel) return t & (ndis::kUdpEspTunnel | ndis::kTransportOverUdpEspTunnel);
    return t & (ndis::kUdpEspTransport | ndis::kUdpEspTransportOverTunnel);
}

bool same(const Bytes& a, const Bytes& b, size_t from, size_t to) {
    to = std::min({to, a.size(), b.size()});
    return from >= to || std::equal(a.begin() + long(from), a.begin() + long(to), b.begin() + long(from));
}

std::string describe(const Completion& c, const ParseResult& p, int cam_index) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "flags=0x%x status=%u reason=%u handle=%u inner=%u nh=%u pad=%u kind=%s cam=%d ipsec_off=%u "
                  "l3=%u+%u",
                  c.ipsec_flags, c.crypto_status, c.unprocessed_reason, c.handle, c.inner_handle, c.next_header,
                  c.pad_length, l4_kind_name(p.kind), cam_index, p.ipsec_offset, p.l3_offset, p.l3_length);
    return buf;
}

void check_parse(const ParseResult& p, const uint8_t* data, size_t size) {
    if (p.kind == L4Kind::NotIp || p.kind == L4Kind::Malformed) return;
    const size_t end = size_t(p.l3_offset) + p.l3_length;
    FUZZ_CHECK(end <= size, "datagram beyond the frame");
    FUZZ_CHECK(p.ip_version == 4 || p.ip_version == 6, "IP version");
    const size_t dst_at = p.l3_offset + (p.ip_version == 4 ? 16 : 24);
    FUZZ_CHECK(std::equal(p.dst.bytes.begin(), p.dst.bytes.begin() + (p.ip_version == 4 ? 4 : 16), data + dst_at),
               "dst is not the destination address of the IP header");
    if (p.kind == L4Kind::Esp || p.kind == L4Kind::UdpEsp) {
        FUZZ_CHECK(p.ipsec_offset >= p.l3_offset && size_t(p.ipsec_offset) + 4 <= end, "ESP SPI outside the datagram");
        FUZZ_CHECK(p.spi == be32(data + p.ipsec_offset), "ESP SPI is not the header's");
        if (!p.syntax_error) FUZZ_CHECK(size_t(p.ipsec_offset) + 8 <= end, "ESP header outside the datagram");
        FUZZ_CHECK(p.ipsec_proto == kIpProtoEsp, "ESP ipsec_proto");
    } else if (p.kind == L4Kind::Ah) {
        FUZZ_CHECK(p.ipsec_offset >= p.l3_offset && size_t(p.ipsec_offset) + 8 <= end, "AH SPI outside the datagram");
        FUZZ_CHECK(p.spi == be32(data + p.ipsec_offset + 4), "AH SPI is not the header's");
        if (!p.syntax_error && !p.fragment) {
            const size_t ah_len = (size_t(data[p.ipsec_offset + 1]) + 2) * 4;
            FUZZ_CHECK(ah_len >= 12 && p.ipsec_offset + ah_len <= end, "AH without syntax_error does not fit");
        }
        FUZZ_CHECK(p.ipsec_proto == kIpProtoAh, "AH ipsec_proto");
    }
}

bool trailer_ok(const Bytes& plain, uint8_t& pad, uint8_t& nh) {
    if (plain.size() < 2) return false;
    pad = plain[plain.size() - 2];
    nh = plain.back();
    if (size_t(pad) + 2 > plain.size()) return false;
    const size_t at = plain.size() - 2 - pad;
    for (size_t i = 0; i < pad; ++i)
        if (plain[at + i] != uint8_t(i + 1)) return false;
    return true;
}

CryptoStatus auth_failed(bool ah, bool tunnel) {
    if (ah) return tunnel ? CryptoStatus::TunnelAhAuthFailed : CryptoStatus::TransportAhAuthFailed;
    return tunnel ? CryptoStatus::TunnelEspAuthFailed : CryptoStatus::TransportEspAuthFailed;
}

// The verdicts of the outer portion, re-derived on the original bytes.
void check_outer_crypto(const RxPacket& pkt, const Bytes& orig, const CamEntry& outer, SaCamTable& cam) {
    const Completion& c = pkt.cpl;
    const ParseResult& p = pkt.parse;
    const auto status = CryptoStatus(c.crypto_status);
    const bool nd = c.ipsec_flags & kCplNextCryptoDone;
    const bool tunnel = outer.mode == SaMode::Tunnel;
    const size_t end = size_t(p.l3_offset) + p.l3_length;
    const std::string what = describe(c, p, pkt.cam_index);
    if (status == CryptoStatus::InvalidProtocol || p.syntax_error) return;  // decided before any crypto

    if (outer.proto == kIpProtoEsp) {
        const EspCheck chk = verify_esp(outer, orig.data(), p.ipsec_offset, end);
        switch (chk.verdict) {
        case Verdict::Unsupported:
            FUZZ_CHECK(status == CryptoStatus::GenericError, "engine ran an SA the reference cannot: " + what);
            return;
        case Verdict::BadLength:
            FUZZ_CHECK(status == CryptoStatus::InvalidPacketSyntax && !nd, "bad ESP length not reported: " + what);
            return;
        case Verdict::Bad:
            FUZZ_CHECK(status == auth_failed(false, tunnel) && !nd, "ESP ICV does not verify: " + what);
            return;
        case Verdict::Ok: break;
        }
        FUZZ_CHECK(status != CryptoStatus::GenericError || nd, "engine refused an SA the reference runs: " + what);
        FUZZ_CHECK(nd || status != auth_failed(false, tunnel), "ESP ICV verifies but auth failed: " + what);
        FUZZ_CHECK(same(orig, pkt.data, 0, chk.data_off) && same(orig, pkt.data, chk.data_off + chk.data_len, orig.size()),
                   "bytes outside the ESP ciphertext changed: " + what);
        if (nd) return;  // the inner portion may have decrypted part of the plaintext again
        uint8_t pad = 0, nh = 0;
        const bool trailer = trailer_ok(chk.plaintext, pad, nh);
        FUZZ_CHECK(trailer == (status == CryptoStatus::Success), "trailer verdict differs: " + what);
        FUZZ_CHECK(std::equal(chk.plaintext.begin(), chk.plaintext.end(), pkt.data.begin() + long(chk.data_off)),
                   "plaintext in place differs from the reference decryption: " + what);
        if (trailer) {
            FUZZ_CHECK((c.ipsec_flags & kCplHeaderInfoSet) && c.next_header == nh && c.pad_length == pad,
                       "header info differs from the trailer: " + what);
        }
        return;
    }

    size_t ah_len = 0;
    if (!wire_algo(outer)) {
        FUZZ_CHECK(status == CryptoStatus::GenericError, "engine ran an AH SA the reference cannot: " + what);
        return;
    }
    const Verdict v = verify_ah_simple(outer, orig.data(), p.l3_offset, p.ipsec_offset, end, &ah_len);
    if (v == Verdict::Unsupported) return;  // options / extension headers: not re-derived here
    if (v == Verdict::BadLength) {
        FUZZ_CHECK(status == CryptoStatus::InvalidPacketSyntax && !nd, "bad AH length not reported: " + what);
        return;
    }
    if (v == Verdict::Bad) {
        FUZZ_CHECK(status == auth_failed(true, tunnel) && !nd, "AH ICV does not verify: " + what);
        return;
    }
    FUZZ_CHECK(status != auth_failed(true, tunnel) || outer.bundle_has_inner || nd,
               "AH ICV verifies but the engine says auth failed: " + what);
    FUZZ_CHECK(status != CryptoStatus::GenericError || outer.bundle_has_inner || nd,
               "engine refused an AH SA the reference runs: " + what);
    FUZZ_CHECK(same(orig, pkt.data, 0, p.ipsec_offset + ah_len) && same(orig, pkt.data, end, orig.size()),
               "bytes up to the end of AH changed: " + what);
    if (!outer.bundle_has_inner) {
        if (!nd) FUZZ_CHECK(orig == pkt.data, "an AH-only frame changed: " + what);
        return;
    }
    // AH+ESP bundle: the ESP of the bundle follows the AH.
    const CamEntry& esp = cam.entry(uint32_t(pkt.cam_index) ^ 1u);
    const size_t esp_off = p.ipsec_offset + ah_len;
    if (status != CryptoStatus::Success || nd || orig[p.ipsec_offset] != kIpProtoEsp || !esp.valid) return;
    const EspCheck chk = verify_esp(esp, orig.data(), esp_off, end);
    uint8_t pad = 0, nh = 0;
    FUZZ_CHECK(chk.verdict == Verdict::Ok && trailer_ok(chk.plaintext, pad, nh),
               "bundle ESP reported Success but does not verify: " + what);
    FUZZ_CHECK(std::equal(chk.plaintext.begin(), chk.plaintext.end(), pkt.data.begin() + long(chk.data_off)),
               "bundle plaintext differs from the reference decryption: " + what);
}

void check_completion(const RxPacket& pkt, const Bytes& orig, SaCamTable& cam) {
    const Completion& c = pkt.cpl;
    const std::string what = describe(c, pkt.parse, pkt.cam_index);
    const bool cd = c.ipsec_flags & kCplCryptoDone;
    const bool nd = c.ipsec_flags & kCplNextCryptoDone;

    // encode/decode round trip (the timestamp holds 56 bits)
    Completion full = c;
    full.timestamp_ps &= (uint64_t(1) << 56) - 1;
    full.done = true;
    const auto bytes = full.encode();
    const Completion back = Completion::decode(bytes.data());
    FUZZ_CHECK(back.frame_tag == full.frame_tag && back.length == full.length &&
                   back.ipsec_flags == full.ipsec_flags && back.handle == full.handle &&
                   back.inner_handle == full.inner_handle && back.crypto_status == full.crypto_status &&
                   back.next_header == full.next_header && back.pad_length == full.pad_length &&
                   back.unprocessed_reason == full.unprocessed_reason && back.seq_low == full.seq_low &&
                   back.timestamp_ps == full.timestamp_ps && back.done,
               "Completion encode/decode round trip: " + what);
    FUZZ_CHECK(bytes == back.encode(), "Completion re-encode differs: " + what);

    FUZZ_CHECK(!nd || cd, "NextCryptoDone without CryptoDone: " + what);
    FUZZ_CHECK(c.crypto_status <= 7, "CryptoStatus above 7: " + what);
    FUZZ_CHECK(c.unprocessed_reason <= uint8_t(NicReason::Malformed), "unknown NicReason: " + what);
    FUZZ_CHECK(cd == (c.unprocessed_reason == 0), "CryptoDone and unprocessed_reason disagree: " + what);
    FUZZ_CHECK((c.ipsec_flags & ~uint16_t(0x1F)) == 0, "unknown completion flag: " + what);
    FUZZ_CHECK(nd == (c.inner_handle != 0), "inner handle without NextCryptoDone (or the reverse): " + what);
    if (!cd) {
        FUZZ_CHECK(c.crypto_status == 0 && !(c.ipsec_flags & kCplHeaderInfoSet) && c.next_header == 0 &&
                       c.pad_length == 0,
                   "status or header info on a frame not processed: " + what);
        FUZZ_CHECK(orig == pkt.data, "a frame the NIC did not process changed: " + what);
        return;
    }
    FUZZ_CHECK(pkt.cam_index >= 0 && uint32_t(pkt.cam_index) < cam.entries(), "CryptoDone without a CAM hit: " + what);
    const CamEntry& outer = cam.entry(uint32_t(pkt.cam_index));
    FUZZ_CHECK(outer.valid && outer.inbound && c.handle == outer.handle && c.handle != 0,
               "CryptoDone for an entry that is not a valid inbound SA: " + what);
    const bool ah = pkt.parse.kind == L4Kind::Ah;
    FUZZ_CHECK((c.ipsec_flags & (kCplEsp | kCplAh)) == (ah ? kCplAh : kCplEsp), "outer protocol flags: " + what);
    FUZZ_CHECK(pkt.parse.spi == outer.spi && (outer.dst.is_zero() || outer.dst == pkt.parse.dst),
               "CAM hit for another key: " + what);
    FUZZ_CHECK(c.seq_low == pkt.parse.seq, "seq_low is not the header's: " + what);
    if (nd) FUZZ_CHECK(outer.mode == SaMode::Tunnel, "NextCryptoDone under a transport SA: " + what);
    const auto status = CryptoStatus(c.crypto_status);
    const bool untouched = status == CryptoStatus::GenericError || status == CryptoStatus::InvalidProtocol ||
                           status == CryptoStatus::TransportAhAuthFailed ||
                           status == CryptoStatus::TransportEspAuthFailed ||
                           status == CryptoStatus::TunnelAhAuthFailed || status == CryptoStatus::TunnelEspAuthFailed;
    if (untouched && !nd) FUZZ_CHECK(orig == pkt.data, "a frame that failed its check changed: " + what);
    const size_t end = size_t(pkt.parse.l3_offset) + pkt.parse.l3_length;
    FUZZ_CHECK(same(orig, pkt.data, 0, pkt.parse.ipsec_offset + 8) && same(orig, pkt.data, end, orig.size()),
               "bytes outside the IPsec payload changed: " + what);
    check_outer_crypto(pkt, orig, outer, cam);
}

// Runs one frame; returns the completion. ESN slots it touched are re-installed afterwards so that every
// input starts from the same state (the engine is anchored at the host's seq_hi again).
Completion run_frame(const uint8_t* data, size_t size, Bytes* out = nullptr) {
    World& w = world();
    static RxPacket pkt;
    pkt.reset(1);
    pkt.data.assign(data, data + size);
    const Bytes orig(data, data + size);
    pkt.parse = parse_frame(pkt.data.data(), pkt.data.size());
    check_parse(pkt.parse, data, size);
    RxPathStats stats;
    if (decide_outer(pkt, w.cam, stats)) process_ipsec(pkt, w.cam, w.crypto, stats);
    check_completion(pkt, orig, w.cam);
    for (uint32_t h : {pkt.cpl.handle, pkt.cpl.inner_handle}) {
        if (h == 0 || h > kBundles) continue;
        for (uint32_t slot = 0; slot < 2; ++slot) {
            const uint32_t index = (h - 1) * 2 + slot;
            const CamEntry& e = w.cam.entry(index);
            if (e.valid && e.inbound && e.esn) w.crypto.install(index, e);
        }
    }
    if (out) *out = pkt.data;
    return pkt.cpl;
}

}  // namespace

namespace ov2::fuzz {

// A valid frame for every programmed SA (its bundle for AH+ESP), plus transport-in-tunnel frames: each
// must come back CryptoDone + Success (the independent sender and the engine agree), else abort.
std::vector<Bytes> builtin_seeds() {
    World& w = world();
    std::vector<Bytes> seeds;
    std::vector<uint32_t> tunnels, transports;
    std::string failures;
    auto expect_success = [&](const Bytes& f, const std::string& name, bool nested) {
        const Completion c = run_frame(f.data(), f.size());
        const bool ok = (c.ipsec_flags & kCplCryptoDone) && c.crypto_status == 0 &&
                        bool(c.ipsec_flags & kCplNextCryptoDone) == nested;
        if (!ok) failures += "  " + name + ": " + describe(c, parse_frame(f.data(), f.size()), -1) + "\n";
        seeds.push_back(f);
    };
    for (uint32_t h : w.handles) {
        const CamEntry& e0 = w.cam.entry((h - 1) * 2);
        const CamEntry& e1 = w.cam.entry((h - 1) * 2 + 1);
        if (!e0.inbound) continue;
        BuildOptions o;
        o.seed = uint8_t(h);
        o.seq = 1000 + h;
        o.payload_bytes = 16 + h % 61;
        if (e1.valid && e1.bundle_has_inner) {
            const Bytes f = build_bundle_frame(e1, e0, o);
            if (!f.empty()) expect_success(f, "bundle " + std::to_string(h), false);
            continue;
        }
        o.udp_encap = expects_udp(e0);
        const Bytes f = build_frame(e0, o);
        if (f.empty()) continue;
        expect_success(f, "handle " + std::to_string(h), false);
        if (e0.udp_esp_encapsulation) continue;
        (e0.mode == SaMode::Tunnel ? tunnels : transports).push_back(h);
    }
    // Transport inside tunnel: a transport SA's datagram as the inner packet of a tunnel SA of its version.
    size_t nested = 0;
    for (uint32_t t : tunnels) {
        const CamEntry& outer = w.cam.entry((t - 1) * 2);
        for (uint32_t i : transports) {
            const CamEntry& inner = w.cam.entry((i - 1) * 2);
            if (inner.ip_version != outer.ip_version || inner.dst.is_zero() || nested >= 24) continue;
            if ((t + i) % 7 != 0) continue;  // a spread of pairs, not all of them
            BuildOptions io;
            io.seed = uint8_t(i);
            io.seq = 77;
            const Bytes inner_frame = build_frame(inner, io);
            const Bytes datagram(inner_frame.begin() + 14, inner_frame.end());
            BuildOptions oo;
            oo.seed = uint8_t(t);
            oo.seq = 78;
            oo.payload = &datagram;
            oo.payload_next_header = outer.ip_version == 4 ? 4 : 41;
            const Bytes f = build_frame(outer, oo);
            if (f.empty()) continue;
            expect_success(f, "tunnel " + std::to_string(t) + " / transport " + std::to_string(i), true);
            ++nested;
        }
    }
    FUZZ_CHECK(failures.empty(), "built-in frames the engine does not accept:\n" + failures);
    return seeds;
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    program_world(world());
    maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    run_frame(data, size);
    return 0;
}
