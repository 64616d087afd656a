// fuzz_mmio_oid: one input = a sequence of operations on a SaCamTable (64 bundles) with its CryptoEngine
// following it, starting each time from the same reference SAs (every kind of SA, each with a valid frame
// made by the independent sender in fuzz_util.cpp):
//   raw register write (any offset 0..0xFFF, any value), SA_DATA word write, SA_CMD (any index, any op),
//   register read, lookup, crypto of the reference frame of SA k, and the miniport's OIDs as DriverShim
//   issues them: ADD (a fuzzed AddSa, programmed when offload_refusal() == ""), DELETE, UPDATE seq_hi.
// Invariants (abort on violation):
//   - no crash or sanitizer report;
//   - a lookup returns only a valid inbound entry of that SPI, IP version and destination (or wildcard),
//     an exact destination before a wildcard, the lowest wildcard index, nothing when no entry matches
//     (checked against a brute-force scan of every entry);
//   - valid_entries() counts the valid entries; SA_CMD write/invalidate/seq_hi change exactly what they say
//     and a refused command changes nothing; a read-back never returns key material;
//   - an entry the miniport made (make_cam_entry of an SA offload_refusal() accepts) is always accepted;
//   - a reference SA whose entries no write/invalidate/seq_hi command touched still verifies its reference
//     frame (crypto engine state of other SAs not corrupted), and so does the whole receive path while the
//     control registers are as programmed and the lookup finds it;
//   - after its entry is invalidated, a reference frame no longer matches that entry and the engine has no
//     key schedule left for it.
#include <algorithm>
#include <deque>
#include <map>

#include "driver_shim.h"
#include "fuzz_util.h"
#include "rx_packet.h"
#include "rx_parser.h"
#include "rx_pipeline.h"

using namespace ov2;
using namespace ov2::fuzz;

namespace {

constexpr uint32_t kBundles = 64;
constexpr uint32_t kEntries = kBundles * 2;

// ---- reference SAs ---------------------------------------------------------------------------------------

IpAddr addr(const char* text) { return *IpAddr::parse(text); }

CamEntry entry(uint32_t spi, const char* dst, uint8_t proto, uint32_t enc, uint32_t auth, uint8_t icv, SaMode mode,
               bool esn = false, uint32_t seq_hi = 0) {
    CamEntry e;
    e.valid = true;
    e.dst = addr(dst);
    e.ip_version = e.dst.version;
    e.spi = spi;
    e.proto = proto;
    e.mode = mode;
    e.esn = esn;
    e.seq_hi = seq_hi;
    e.enc_alg = enc;
    e.auth_alg = auth;
    e.icv_len = icv;
    e.enc_key_len = uint8_t(aes_key_bytes_for(enc));
    switch (auth) {
    case ndis::kAuthMd5: e.auth_key_len = 16; break;
    case ndis::kAuthSha1: e.auth_key_len = 20; break;
    case ndis::kAuthSha256: e.auth_key_len = 32; break;
    case ndis::kAuthAesGmac128: e.auth_key_len = 16; break;
    case ndis::kAuthAesGmac192: e.auth_key_len = 24; break;
    case ndis::kAuthAesGmac256: e.auth_key_len = 32; break;
    default: break;
    }
    for (size_t i = 0; i < 32; ++i) {
        e.enc_key[i] = uint8_t(spi * 13 + i * 7);
        e.auth_key[i] = uint8_t(spi * 5 + i * 11 + 1);
    }
    e.salt = {uint8_t(spi), 0x5a, 0xa5, uint8_t(spi >> 8)};
    return e;
}

struct Reference {
    uint32_t handle;
    CamEntry slot0;                 // ESP (or the single SA)
    std::optional<CamEntry> slot1;  // the AH of an AH+ESP bundle
    bool udp = false;
    Bytes frame;
    ParseResult parse;
    uint32_t outer_index() const { return slot1 ? (handle - 1) * 2 + 1 : (handle - 1) * 2; }
    const CamEntry& outer() const { return slot1 ? *slot1 : slot0; }
};

std::vector<Reference> make_references() {
    using namespace ndis;
    const SaMode T = SaMode::Transport, U = SaMode::Tunnel;
    std::vector<Reference> refs;
    auto add = [&](CamEntry e, bool udp = false) {
        Reference r;
        r.handle = uint32_t(refs.size() + 1);
        e.handle = r.handle;
        r.slot0 = e;
        r.udp = udp;
        if (udp) r.slot0.udp_esp_encapsulation = e.mode == U ? kUdpEspTunnel : kUdpEspTransport;
        refs.push_back(r);
    };
    add(entry(0x1001, "192.0.2.10", kIpProtoEsp, kEncAesGcm128, 0, 16, T));
    add(entry(0x1002, "2001:db8::10", kIpProtoEsp, kEncAesCbc256, kAuthSha256, 0, U));
    add(entry(0x1003, "192.0.2.10", kIpProtoAh, 0, kAuthSha1, 0, T));
    add(entry(0x1004, "192.0.2.11", kIpProtoEsp, kEncNull, kAuthAesGmac128, 0, T, true, 5));
    add(entry(0x1005, "2001:db8::10", kIpProtoAh, 0, kAuthAesGmac256, 0, U));
    add(entry(0x1006, "0.0.0.0", kIpProtoEsp, kEnc3DesCbc, kAuthMd5, 0, U));
    add(entry(0x1007, "192.0.2.12", kIpProtoEsp, kEncAesGcm256, 0, 8, T), true);
    add(entry(0x1009, "2001:db8::11", kIpProtoEsp, kEncDesCbc, kAuthSha1, 0, T, true, 0xFFFFFFFFu));
    add(entry(0x100a, "192.0.2.13", kIpProtoEsp, kEncAesGcm192, 0, 12, U, true, 0));
    {  // AH + ESP bundle: ESP in slot 0, AH (bundle_has_inner) in slot 1
        Reference r;
        r.handle = uint32_t(refs.size() + 1);
        r.slot0 = entry(0x100b, "192.0.2.14", kIpProtoEsp, kEncAesCbc128, kAuthSha1, 0, T);
        r.slot0.handle = r.handle;
        CamEntry ah = entry(0x100c, "192.0.2.14", kIpProtoAh, 0, kAuthSha256, 0, T);
        ah.handle = r.handle;
        ah.bundle_slot = 1;
        ah.bundle_has_inner = true;
        r.slot1 = ah;
        refs.push_back(r);
    }
    for (Reference& r : refs) {
        BuildOptions o;
        o.seq = 0x10 + r.handle;
        o.seed = uint8_t(r.handle);
        o.udp_encap = r.udp;
        r.frame = r.slot1 ? build_bundle_frame(*r.slot1, r.slot0, o) : build_frame(r.slot0, o);
        FUZZ_CHECK(!r.frame.empty(), "reference frame for handle " + std::to_string(r.handle));
        r.parse = parse_frame(r.frame.data(), r.frame.size());
    }
    return refs;
}

const std::vector<Reference>& references() {
    static const std::vector<Reference>* refs = new std::vector<Reference>(make_references());
    return *refs;
}

// ---- the device and the miniport's bookkeeping, fresh for every input -------------------------------------

struct Bundle {
    uint32_t num = 1;
    std::array<uint32_t, 2> spi{};
};

struct State {
    SaCamTable cam{kBundles};
    CryptoEngine crypto{kEntries};
    std::array<bool, kEntries> touched{};      // a write/invalidate/seq_hi command named this index
    std::array<bool, kEntries> invalidated{};  // the last such command was a successful invalidate
    bool regs_dirty = false;                   // SA_CTRL/CAPS/masks no longer as programmed
    std::map<uint32_t, Bundle> in_use;         // handle -> bundle
    std::deque<uint32_t> free_handles;
    State() {
        follow_cam(cam, crypto);
        enable_everything(cam);
        for (const Reference& r : references()) {
            FUZZ_CHECK(program_entry(cam, (r.handle - 1) * 2, r.slot0), "reference entry refused");
            if (r.slot1) FUZZ_CHECK(program_entry(cam, (r.handle - 1) * 2 + 1, *r.slot1), "reference AH refused");
            Bundle b;
            b.num = r.slot1 ? 2 : 1;
            b.spi = {r.slot0.spi, r.slot1 ? r.slot1->spi : 0};
            in_use[r.handle] = b;
        }
        for (uint32_t h = uint32_t(references().size()) + 1; h <= kBundles; ++h) free_handles.push_back(h);
    }
};

// ---- input decoding -------------------------------------------------------------------------------------

class Input {
public:
    Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
    bool empty() const { return n_ == 0; }
    uint8_t u8() {
        if (!n_) return 0;
        --n_;
        return *p_++;
    }
    uint16_t u16() { return uint16_t(u8() | u8() << 8); }
    uint32_t u32() { return uint32_t(u16()) | uint32_t(u16()) << 16; }

private:
    const uint8_t* p_;
    size_t n_;
};

// ---- checks ---------------------------------------------------------------------------------------------

std::string key_text(uint32_t spi, const IpAddr& dst) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "spi 0x%08x dst ", spi);
    return buf + dst.str();
}

bool matches(const CamEntry& e, uint32_t spi, const IpAddr& dst) {
    return e.valid && e.inbound && e.spi == spi && e.ip_version == dst.version;
}

std::optional<uint32_t> checked_lookup(State& s, uint32_t spi, const IpAddr& dst) {
    const std::optional<uint32_t> got = s.cam.lookup(spi, dst);
    std::vector<uint32_t> exact;
    std::optional<uint32_t> wildcard;
    for (uint32_t i = 0; i < s.cam.entries(); ++i) {
        const CamEntry& e = s.cam.entry(i);
        if (!matches(e, spi, dst)) continue;
        if (e.dst == dst) exact.push_back(i);
        else if (e.dst.is_zero() && !wildcard) wildcard = i;
    }
    const std::string what = key_text(spi, dst) + " -> " + (got ? std::to_string(*got) : std::string("miss"));
    if (got) {
        FUZZ_CHECK(*got < s.cam.entries(), "lookup index out of range: " + what);
        FUZZ_CHECK(matches(s.cam.entry(*got), spi, dst), "lookup returned an invalid or non-matching entry: " + what);
    }
    if (!exact.empty())
        FUZZ_CHECK(got && std::find(exact.begin(), exact.end(), *got) != exact.end(),
                   "lookup missed an exact entry: " + what);
    else if (wildcard)
        FUZZ_CHECK(got == wildcard, "lookup did not return the lowest wildcard entry " + std::to_string(*wildcard) +
                                        ": " + what);
    else
        FUZZ_CHECK(!got, "lookup hit with no matching entry: " + what);
    return got;
}

void check_count(const State& s) {
    uint32_t valid = 0;
    for (uint32_t i = 0; i < s.cam.entries(); ++i) valid += s.cam.entry(i).valid;
    FUZZ_CHECK(valid == s.cam.valid_entries(), "valid_entries() " + std::to_string(s.cam.valid_entries()) +
                                                  " but " + std::to_string(valid) + " entries are valid");
}

std::array<uint32_t, reg::kSaDataWords> staging(const State& s) {
    std::array<uint32_t, reg::kSaDataWords> w{};
    for (uint32_t i = 0; i < w.size(); ++i) w[i] = s.cam.read_register(reg::kSaData0 + 4 * i);
    return w;
}

// SA_CMD with a model of what it must do.
void command(State& s, uint32_t value) {
    const uint32_t index = value & 0xFFF;
    const uint32_t op = value >> 28;
    const bool in_range = index < s.cam.entries();
    const auto before_words = staging(s);
    const CamEntry before = in_range ? s.cam.entry(index) : CamEntry{};
    s.cam.write_register(reg::kSaCmd, value);
    const bool failed = s.cam.read_register(reg::kSaStatus) & 1;
    const std::string what = "SA_CMD 0x" + hex(reinterpret_cast<const uint8_t*>(&value), 4);
    check_count(s);
    if (!in_range) {
        FUZZ_CHECK(failed, "command on an index out of range accepted: " + what);
        return;
    }
    const CamEntry& after = s.cam.entry(index);
    if (op == reg::kSaCmdWrite || op == reg::kSaCmdInvalidate || op == reg::kSaCmdSetSeqHi) s.touched[index] = true;
    switch (op) {
    case reg::kSaCmdWrite: {
        const CamEntry want = unpack_cam_entry(before_words);
        if (failed) {
            FUZZ_CHECK(pack_cam_entry(after) == pack_cam_entry(before), "refused write changed the entry: " + what);
        } else {
            FUZZ_CHECK(pack_cam_entry(after) == pack_cam_entry(want), "written entry differs from SA_DATA: " + what);
            s.invalidated[index] = false;
        }
        break;
    }
    case reg::kSaCmdInvalidate:
        FUZZ_CHECK(!failed && !after.valid && pack_cam_entry(after) == pack_cam_entry(CamEntry{}),
                   "invalidate left something: " + what);
        s.invalidated[index] = true;
        break;
    case reg::kSaCmdSetSeqHi: {
        CamEntry want = before;
        want.seq_hi = before_words[0];
        FUZZ_CHECK(!failed && pack_cam_entry(after) == pack_cam_entry(want), "seq_hi update changed more: " + what);
        break;
    }
    case reg::kSaCmdRead: {
        FUZZ_CHECK(!failed && pack_cam_entry(after) == pack_cam_entry(before), "read-back changed the entry: " + what);
        const auto w = staging(s);
        for (uint32_t i = 12; i <= 28; ++i)  // enc_key, salt, auth_key
            FUZZ_CHECK(w[i] == 0, "read-back returned key material (word " + std::to_string(i) + "): " + what);
        CamEntry keyless = before;
        keyless.enc_key.fill(0);
        keyless.auth_key.fill(0);
        keyless.salt.fill(0);
        FUZZ_CHECK(w == pack_cam_entry(keyless), "read-back is not the entry: " + what);
        break;
    }
    default:
        FUZZ_CHECK(failed && pack_cam_entry(after) == pack_cam_entry(before), "unknown op accepted: " + what);
        break;
    }
}

void register_write(State& s, uint32_t offset, uint32_t value) {
    offset &= 0xFFF;
    if (offset == reg::kSaCmd) return command(s, value);
    if (offset >= reg::kSaCtrl && offset <= reg::kSaUdpEspMask) s.regs_dirty = true;
    s.cam.write_register(offset, value);
    check_count(s);
}

// The reference frame of SA k through the engine (and the whole receive path when nothing interferes).
void check_reference(State& s, const Reference& r) {
    const uint32_t index = r.outer_index();
    const uint32_t first = (r.handle - 1) * 2;
    const bool untouched = !s.touched[first] && !s.touched[first + 1];
    Bytes buf = r.frame;
    const std::string what = "reference handle " + std::to_string(r.handle);
    const PortionResult pr = s.crypto.process(index, buf.data(), buf.size(), r.parse, r.outer().mode == SaMode::Tunnel);
    const std::optional<uint32_t> hit = checked_lookup(s, r.parse.spi, r.parse.dst);
    if (untouched) {
        FUZZ_CHECK(pr.status == CryptoStatus::Success,
                   what + ": untouched SA no longer verifies (status " + std::to_string(int(pr.status)) + ")");
        FUZZ_CHECK(pack_cam_entry(s.cam.entry(index)) ==
                       pack_cam_entry(r.slot1 ? *r.slot1 : r.slot0),
                   what + ": untouched entry changed");
    }
    if (s.invalidated[index]) {
        FUZZ_CHECK(!hit || *hit != index, what + ": invalidated entry still matched");
        FUZZ_CHECK(pr.status == CryptoStatus::GenericError, what + ": key schedule left after invalidate");
    }
    // The receive path: decide_outer + process_ipsec, as the pipeline runs them.
    RxPacket pkt;
    pkt.reset(1);
    pkt.data = r.frame;
    pkt.parse = r.parse;
    RxPathStats stats;
    if (decide_outer(pkt, s.cam, stats)) process_ipsec(pkt, s.cam, s.crypto, stats);
    const Completion& c = pkt.cpl;
    FUZZ_CHECK(!(c.ipsec_flags & kCplNextCryptoDone) || (c.ipsec_flags & kCplCryptoDone), what + ": NextCryptoDone alone");
    FUZZ_CHECK(c.crypto_status <= 7, what + ": status above 7");
    if (pkt.cam_index >= 0) FUZZ_CHECK(s.cam.entry(uint32_t(pkt.cam_index)).valid, what + ": path used an invalid entry");
    if (untouched && !s.touched[first ^ 1] && !s.regs_dirty && hit && *hit == index)
        FUZZ_CHECK((c.ipsec_flags & kCplCryptoDone) && c.crypto_status == 0 && c.handle == r.handle,
                   what + ": receive path does not verify an untouched SA (flags " + std::to_string(c.ipsec_flags) +
                       " status " + std::to_string(c.crypto_status) + " reason " +
                       std::to_string(c.unprocessed_reason) + ")");
}

// ---- the miniport's OIDs ---------------------------------------------------------------------------------

IpAddr pick_addr(Input& in, bool v6) {
    static const char* v4s[] = {"192.0.2.10", "192.0.2.11", "192.0.2.12", "0.0.0.0", "203.0.113.5"};
    static const char* v6s[] = {"2001:db8::10", "2001:db8::11", "::", "2001:db8::99"};
    const uint8_t sel = in.u8();
    if (sel < 0xF0) return v6 ? addr(v6s[sel % 4]) : addr(v4s[sel % 5]);
    IpAddr a;
    a.version = v6 ? 6 : 4;
    for (size_t i = 0; i < (v6 ? 16u : 4u); ++i) a.bytes[i] = in.u8();
    return a;
}

uint32_t pick(Input& in, std::initializer_list<uint32_t> choices) {
    const uint8_t sel = in.u8();
    if (sel >= 0xF0) return in.u32();
    return *(choices.begin() + sel % choices.size());
}

AddSa fuzzed_add_sa(Input& in) {
    using namespace ndis;
    AddSa sa;
    const uint8_t f = in.u8();
    sa.flags = ((f & 7) ? kAddSaInbound : 0) | ((f & 8) ? kAddSaIpv6 : 0);
    const bool v6 = f & 8;
    sa.src = pick_addr(in, v6);
    sa.dst = pick_addr(in, v6);
    sa.udp_esp_encapsulation = pick(in, {0, 0, 0, kUdpEspTransport, kUdpEspTunnel, kTransportOverUdpEspTunnel,
                                         kUdpEspTransportOverTunnel});
    sa.num_ext_hdrs = pick(in, {1, 1, 1, 2, 0, 3});
    const auto& refs = references();
    for (size_t slot = 0; slot < 2; ++slot) {
        SecurityAssociation& s = sa.sec_assoc[slot];
        const uint8_t b = in.u8();
        s.operation = (b & 1) ? IpsecOperation::Ah : IpsecOperation::Esp;
        s.mode = (b & 2) ? SaMode::Tunnel : SaMode::Transport;
        s.flags = (b & 4) ? kSaFlagEsn : 0;
        s.spi = (b & 8) ? refs[in.u8() % refs.size()].slot0.spi : in.u32();
        s.sequence_number_high_order = (b & 16) ? in.u32() : 0;
        s.encryption.identifier = pick(in, {kEncNull, kEncDesCbc, kEnc3DesCbc, kEncAesGcm128, kEncAesGcm192,
                                            kEncAesGcm256, kEncAesCbc128, kEncAesCbc192, kEncAesCbc256, 0});
        s.authentication.identifier = pick(in, {kAuthNone, kAuthMd5, kAuthSha1, kAuthSha256, kAuthAesGmac128,
                                                kAuthAesGmac192, kAuthAesGmac256});
        s.encryption.additional_info = pick(in, {16, 8, 12, 0});
        s.authentication.additional_info = pick(in, {0, 16, 12});
        const size_t enc_len = in.u8() % 41, auth_len = in.u8() % 41;
        for (size_t i = 0; i < enc_len; ++i) s.encryption.key.push_back(uint8_t(i * 3 + b));
        for (size_t i = 0; i < auth_len; ++i) s.authentication.key.push_back(uint8_t(i * 5 + b));
    }
    sa.name = "fuzzed";
    return sa;
}

void oid_add(State& s, Input& in) {
    const AddSa sa = fuzzed_add_sa(in);
    if (!offload_refusal(sa, Capabilities{}).empty() || s.free_handles.empty()) return;
    const uint32_t handle = s.free_handles.front();
    s.free_handles.pop_front();
    Bundle b;
    b.num = sa.num_ext_hdrs;
    for (size_t slot = 0; slot < sa.num_ext_hdrs; ++slot) {
        const CamEntry e = make_cam_entry(sa, slot, handle);
        const uint32_t index = (handle - 1) * 2 + uint32_t(slot);
        const auto words = pack_cam_entry(e);
        for (uint32_t i = 0; i < words.size(); ++i) register_write(s, reg::kSaData0 + 4 * i, words[i]);
        command(s, index | uint32_t(reg::kSaCmdWrite) << 28);
        FUZZ_CHECK(!(s.cam.read_register(reg::kSaStatus) & 1), "the CAM refused an entry the miniport made");
        b.spi[slot] = e.spi;
        if (e.inbound) checked_lookup(s, e.spi, e.dst.is_zero() ? sa.dst : e.dst);
    }
    s.in_use[handle] = b;
}

uint32_t pick_handle(State& s, Input& in) {
    const uint8_t sel = in.u8();
    if (s.in_use.empty() || sel >= 0xF0) return in.u8();  // maybe no such bundle: the OID fails
    auto it = s.in_use.begin();
    std::advance(it, sel % s.in_use.size());
    return it->first;
}

void oid_delete(State& s, Input& in) {
    const uint32_t handle = pick_handle(s, in);
    if (!s.in_use.count(handle)) return;  // DriverShim answers NDIS_STATUS_INVALID_PARAMETER, no MMIO
    for (uint32_t slot = 0; slot < 2; ++slot) command(s, ((handle - 1) * 2 + slot) | uint32_t(reg::kSaCmdInvalidate) << 28);
    s.in_use.erase(handle);
    s.free_handles.push_back(handle);
}

void oid_update(State& s, Input& in) {
    const uint32_t handle = pick_handle(s, in);
    const uint32_t seq_hi = in.u32();
    const uint8_t slot = in.u8();
    auto it = s.in_use.find(handle);
    if (it == s.in_use.end()) return;
    const uint32_t index = (handle - 1) * 2 + slot % it->second.num;
    register_write(s, reg::kSaData0, seq_hi);
    command(s, index | uint32_t(reg::kSaCmdSetSeqHi) << 28);
}

// ---- one input ------------------------------------------------------------------------------------------

void run(const uint8_t* data, size_t size) {
    State s;
    Input in(data, size);
    const auto& refs = references();
    for (size_t ops = 0; !in.empty() && ops < 256; ++ops) {
        switch (in.u8() % 10) {
        case 0: {
            const uint32_t off = in.u16();
            register_write(s, off, in.u32());
            break;
        }
        case 1: {
            const uint32_t word = in.u8() % reg::kSaDataWords;
            register_write(s, reg::kSaData0 + 4 * word, in.u32());
            break;
        }
        case 2: {
            const uint8_t sel = in.u8();
            uint32_t index = in.u16() & 0xFFF;
            if (sel & 0x80) index %= kEntries;  // mostly an existing entry
            command(s, index | uint32_t(sel & 0xF) << 28);
            break;
        }
        case 3: (void)s.cam.read_register(in.u16() & 0xFFF); break;
        case 4: {
            const uint8_t sel = in.u8();
            if (sel < 0xC0) {
                const Reference& r = refs[sel % refs.size()];
                checked_lookup(s, r.parse.spi, r.parse.dst);
            } else {
                checked_lookup(s, in.u32(), pick_addr(in, sel & 1));
            }
            break;
        }
        case 5:
        case 6: check_reference(s, refs[in.u8() % refs.size()]); break;
        case 7: oid_add(s, in); break;
        case 8: oid_delete(s, in); break;
        default: oid_update(s, in); break;
        }
    }
    for (const Reference& r : refs) check_reference(s, r);  // every reference SA at the end
}

}  // namespace

namespace ov2::fuzz {

// Op sequences: every reference SA checked, lookups, the three OIDs, raw register traffic.
std::vector<Bytes> builtin_seeds() {
    const uint8_t n = uint8_t(references().size());
    std::vector<Bytes> seeds;
    Bytes all;
    for (uint8_t k = 0; k < n; ++k) all.insert(all.end(), {5, k, 4, k});
    seeds.push_back(all);
    // ADD of a GCM transport SA on a reference key, then delete the first reference, then check everything.
    seeds.push_back({7, 0x01, 0, 0, 3, 0, 0x08, 0, 3, 0, 1, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 5, 0, 4, 0});
    seeds.push_back({8, 0, 5, 0, 4, 0, 8, 3, 5, 3, 6, 9});
    seeds.push_back({9, 3, 7, 0, 0, 0, 0, 0, 5, 3, 9, 8, 1, 0, 0, 0, 0, 5, 8});
    // raw traffic: staging words, a write to entry 0, read-back, invalidate, caps off
    seeds.push_back({1, 0, 0x03, 0x04, 0x32, 0x00, 2, 0x80 | 1, 0, 0, 2, 0x80 | 4, 1, 0, 3, 0x24, 0x01,
                     2, 0x82, 2, 0, 0, 0x04, 0x01, 0, 0, 0, 0, 5, 1});
    seeds.push_back({2, 0x83, 6, 0, 5, 5, 2, 0x82, 7, 0, 5, 6, 4, 0xC1, 1, 0, 0, 0, 0});
    return seeds;
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)references();
    maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    run(data, size);
    return 0;
}
