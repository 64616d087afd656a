#include "fuzz_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/exceptn.h>
#include <botan/mac.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ov2::fuzz {

using namespace ndis;

// ---- checks ---------------------------------------------------------------------------------------------

void violation(const char* file, int line, const char* cond, const std::string& detail) {
    std::fprintf(stderr, "\n*** ov2 fuzz invariant violated at %s:%d\n***   %s\n***   %s\n", file, line, cond,
                 detail.c_str());
    std::fflush(stderr);
    std::abort();
}

std::string hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    s.reserve(2 * n);
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

void maybe_write_seeds() {
    const char* dir = std::getenv("OV2_FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return;
    std::filesystem::create_directories(dir);
    const std::vector<Bytes> seeds = builtin_seeds();
    for (size_t i = 0; i < seeds.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/seed-%04zu", i);
        std::ofstream out(std::string(dir) + name, std::ios::binary);
        out.write(reinterpret_cast<const char*>(seeds[i].data()), std::streamsize(seeds[i].size()));
    }
    std::fprintf(stderr, "ov2 fuzz: wrote %zu built-in seeds to %s\n", seeds.size(), dir);
    std::exit(0);
}

bool is_one_line(std::string_view message) {
    for (char c : message)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

static bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::optional<std::string> echoed_hex_run(std::string_view message, std::string_view input) {
    constexpr size_t kKeyLike = 12;
    size_t i = 0;
    while (i < message.size()) {
        if (!is_hex_digit(message[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < message.size() && is_hex_digit(message[j])) ++j;
        // Any 12-digit window of the run that the input also holds is key material echoed back.
        for (size_t k = i; j - i >= kKeyLike && k + kKeyLike <= j; ++k) {
            const std::string_view window = message.substr(k, kKeyLike);
            if (input.find(window) != std::string_view::npos) return std::string(message.substr(i, j - i));
        }
        i = j;
    }
    return std::nullopt;
}

void check_error_message(const std::string& message, std::string_view input) {
    FUZZ_CHECK(!message.empty(), "empty InputError message");
    FUZZ_CHECK(is_one_line(message), "InputError message is not one line: " + message);
    const auto run = echoed_hex_run(message, input);
    FUZZ_CHECK(!run, "InputError message echoes a 12+ hex-digit run of the input (" + run.value_or("") +
                         "): " + message);
}

// ---- CAM ------------------------------------------------------------------------------------------------

void enable_everything(SaCamTable& cam) {
    const uint32_t caps = reg::kCapIpv6 | reg::kCapIpv4Options | reg::kCapIpv6ExtHeaders | reg::kCapAh |
                          reg::kCapEsp | reg::kCapAhEsp | reg::kCapTransport | reg::kCapTunnel |
                          reg::kCapTransportTunnel | reg::kCapEsn;
    cam.write_register(reg::kSaCaps, caps);
    cam.write_register(reg::kSaAuthMask, kAllAuthAlgorithms);
    cam.write_register(reg::kSaEncMask, kAllEncryptionAlgorithms);
    cam.write_register(reg::kSaUdpEspMask,
                       kUdpEspTransport | kUdpEspTunnel | kTransportOverUdpEspTunnel | kUdpEspTransportOverTunnel);
    cam.write_register(reg::kSaCtrl, 1);
}

bool program_entry(SaCamTable& cam, uint32_t index, const CamEntry& e) {
    const auto words = pack_cam_entry(e);
    for (uint32_t i = 0; i < words.size(); ++i) cam.write_register(reg::kSaData0 + 4 * i, words[i]);
    cam.write_register(reg::kSaCmd, (index & 0xFFF) | uint32_t(reg::kSaCmdWrite) << 28);
    return (cam.read_register(reg::kSaStatus) & 1) == 0;
}

bool invalidate_entry(SaCamTable& cam, uint32_t index) {
    cam.write_register(reg::kSaCmd, (index & 0xFFF) | uint32_t(reg::kSaCmdInvalidate) << 28);
    return (cam.read_register(reg::kSaStatus) & 1) == 0;
}

void follow_cam(SaCamTable& cam, CryptoEngine& crypto) {
    cam.on_entry_changed = [&crypto](uint32_t index, const CamEntry& e, reg::SaCmdOp op) {
        if (op == reg::kSaCmdSetSeqHi) crypto.set_seq_hi(index, e.seq_hi);
        else if (e.valid && e.inbound) crypto.install(index, e);
        else crypto.remove(index);
    };
}

// ---- algorithms -----------------------------------------------------------------------------------------

namespace {

struct HmacRow {
    uint32_t id;
    const char* name;
    size_t key, icv;
};
constexpr HmacRow kHmac[] = {{kAuthMd5, "HMAC(MD5)", 16, 12},      // RFC 2403
                             {kAuthSha1, "HMAC(SHA-1)", 20, 12},   // RFC 2404
                             {kAuthSha256, "HMAC(SHA-256)", 32, 16}};  // RFC 4868

size_t aes_bits_of_gmac(uint32_t id) {
    switch (id) {
    case kAuthAesGmac128: return 128;
    case kAuthAesGmac192: return 192;
    case kAuthAesGmac256: return 256;
    default: return 0;
    }
}

bool integrity(const CamEntry& e, bool allow_gmac, WireAlgo& a) {
    if (e.auth_alg == kAuthNone) return true;
    for (const HmacRow& h : kHmac) {
        if (h.id != e.auth_alg) continue;
        if (e.auth_key_len != h.key || (e.icv_len != 0 && e.icv_len != h.icv)) return false;
        a.mac = WireAlgo::Mac::Hmac;
        a.mac_name = h.name;
        a.auth_key_len = h.key;
        a.icv_len = h.icv;
        return true;
    }
    const size_t bits = aes_bits_of_gmac(e.auth_alg);
    if (!bits || !allow_gmac || e.auth_key_len != bits / 8 || (e.icv_len != 0 && e.icv_len != 16)) return false;
    a.mac = WireAlgo::Mac::Gmac;
    a.mac_name = "GMAC(AES-" + std::to_string(bits) + ")";
    a.auth_key_len = bits / 8;
    a.iv_len = 8;  // RFC 4543
    a.icv_len = 16;
    return true;
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, uint16_t(v >> 16));
    put16(p + 2, uint16_t(v));
}

Bytes seq_hi_bytes(const CamEntry& e) {
    if (!e.esn) return {};
    Bytes b(4);
    put32(b.data(), e.seq_hi);
    return b;
}

Bytes mac_tag(const CamEntry& e, const WireAlgo& a, const Bytes& nonce, const std::vector<const Bytes*>& parts) {
    auto mac = Botan::MessageAuthenticationCode::create_or_throw(a.mac_name);
    mac->set_key(e.auth_key.data(), a.auth_key_len);
    if (a.mac == WireAlgo::Mac::Gmac) mac->start(nonce.data(), nonce.size());
    for (const Bytes* p : parts) mac->update(p->data(), p->size());
    const auto tag = mac->final();
    return Bytes(tag.begin(), tag.begin() + long(a.icv_len));
}

Bytes nonce_of(const CamEntry& e, const uint8_t* iv) {
    Bytes n(e.salt.begin(), e.salt.end());
    n.insert(n.end(), iv, iv + 8);
    return n;
}

}  // namespace

std::optional<WireAlgo> wire_algo(const CamEntry& e) {
    WireAlgo a;
    if (e.proto == kIpProtoAh) {
        if (e.enc_alg != kEncAbsent || e.auth_alg == kAuthNone || !integrity(e, true, a)) return std::nullopt;
        return a;
    }
    if (e.proto != kIpProtoEsp) return std::nullopt;
    size_t gcm_bits = 0;
    switch (e.enc_alg) {
    case kEncAesGcm128: gcm_bits = 128; break;
    case kEncAesGcm192: gcm_bits = 192; break;
    case kEncAesGcm256: gcm_bits = 256; break;
    default: break;
    }
    if (gcm_bits) {  // RFC 4106
        if (e.auth_alg != kAuthNone || e.enc_key_len != gcm_bits / 8) return std::nullopt;
        if (e.icv_len != 8 && e.icv_len != 12 && e.icv_len != 16) return std::nullopt;
        a.cipher = WireAlgo::Cipher::Gcm;
        a.mac = WireAlgo::Mac::Aead;
        a.cipher_name = "AES-" + std::to_string(gcm_bits) + "/GCM(" + std::to_string(e.icv_len) + ")";
        a.enc_key_len = gcm_bits / 8;
        a.iv_len = 8;
        a.icv_len = e.icv_len;
        return a;
    }
    struct CbcRow {
        uint32_t id;
        const char* name;
        size_t key, block;
    };
    static constexpr CbcRow kCbc[] = {{kEncDesCbc, "DES/CBC/NoPadding", 8, 8},
                                      {kEnc3DesCbc, "TripleDES/CBC/NoPadding", 24, 8},
                                      {kEncAesCbc128, "AES-128/CBC/NoPadding", 16, 16},
                                      {kEncAesCbc192, "AES-192/CBC/NoPadding", 24, 16},
                                      {kEncAesCbc256, "AES-256/CBC/NoPadding", 32, 16}};
    bool found = e.enc_alg == kEncNull;
    for (const CbcRow& c : kCbc) {
        if (c.id != e.enc_alg) continue;
        if (e.enc_key_len != c.key) return std::nullopt;
        a.cipher = WireAlgo::Cipher::Cbc;
        a.cipher_name = c.name;
        a.enc_key_len = c.key;
        a.iv_len = c.block;
        a.block_len = c.block;
        found = true;
    }
    if (!found) return std::nullopt;
    if (!integrity(e, a.cipher == WireAlgo::Cipher::None, a)) return std::nullopt;
    if (a.cipher == WireAlgo::Cipher::None && a.mac == WireAlgo::Mac::None) return std::nullopt;  // RFC 4303 3.2
    if (a.mac == WireAlgo::Mac::None && e.icv_len != 0) return std::nullopt;
    return a;
}

// ---- sender ---------------------------------------------------------------------------------------------

namespace {

IpAddr default_addr(uint8_t version, uint8_t last) {
    IpAddr a;
    a.version = version;
    if (version == 4) {
        const uint8_t v4[] = {203, 0, 113, last};
        std::memcpy(a.bytes.data(), v4, 4);
    } else {
        const uint8_t v6[] = {0x20, 0x01, 0x0d, 0xb8, 0xf0, 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
        std::memcpy(a.bytes.data(), v6, 16);
    }
    return a;
}

void fix_ipv4_checksum(uint8_t* ip) {
    const size_t ihl = size_t(ip[0] & 15) * 4;
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (size_t i = 0; i < ihl; i += 2) sum += uint32_t(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    put16(ip + 10, uint16_t(~sum));
}

// IP header (mutable fields set to non-zero values, as after a few routers) + payload.
Bytes ip_datagram(uint8_t version, uint8_t proto, const IpAddr& src, const IpAddr& dst, const Bytes& payload) {
    Bytes ip(version == 4 ? 20 : 40);
    if (version == 4) {
        ip[0] = 0x45;
        ip[1] = 0x28;  // TOS
        put16(&ip[2], uint16_t(20 + payload.size()));
        put16(&ip[4], 0x4c1d);
        put16(&ip[6], 0x4000);  // DF
        ip[8] = 61;             // TTL
        ip[9] = proto;
        std::memcpy(&ip[12], src.bytes.data(), 4);
        std::memcpy(&ip[16], dst.bytes.data(), 4);
        fix_ipv4_checksum(ip.data());
    } else {
        ip[0] = 0x6b;  // traffic class and flow label non-zero
        ip[1] = 0x8c;
        ip[2] = 0x12;
        ip[3] = 0x34;
        put16(&ip[4], uint16_t(payload.size()));
        ip[6] = proto;
        ip[7] = 60;  // hop limit
        std::memcpy(&ip[8], src.bytes.data(), 16);
        std::memcpy(&ip[24], dst.bytes.data(), 16);
    }
    ip.insert(ip.end(), payload.begin(), payload.end());
    return ip;
}

Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& data) {
    Bytes u(8);
    put16(&u[0], sport);
    put16(&u[2], dport);
    put16(&u[4], uint16_t(8 + data.size()));
    u.insert(u.end(), data.begin(), data.end());
    return u;
}

Bytes ethernet(uint8_t version, const Bytes& datagram) {
    Bytes f = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02, 0, 0};
    put16(&f[12], version == 4 ? 0x0800 : 0x86DD);
    f.insert(f.end(), datagram.begin(), datagram.end());
    return f;
}

// What the SA protects: tunnel = an inner IP packet, transport = a UDP datagram.
Bytes protected_payload(const CamEntry& e, const BuildOptions& o, uint8_t& next_header) {
    if (o.payload) {
        next_header = o.payload_next_header;
        return *o.payload;
    }
    Bytes data(o.payload_bytes);
    for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(o.seed * 31 + i * 7);
    const Bytes udp = udp_datagram(uint16_t(1024 + o.seed), 53, data);
    if (e.mode != SaMode::Tunnel) {
        next_header = 17;
        return udp;
    }
    next_header = e.ip_version == 4 ? 4 : 41;
    return ip_datagram(e.ip_version, 17, default_addr(e.ip_version, 7), default_addr(e.ip_version, 9), udp);
}

// SPI .. ICV (RFC 4303 / 4106 / 4543).
Bytes esp_body(const CamEntry& e, const WireAlgo& a, const BuildOptions& o, const Bytes& payload,
               uint8_t next_header) {
    Bytes hdr(8);
    put32(&hdr[0], e.spi);
    put32(&hdr[4], o.seq);
    Bytes iv(a.iv_len);
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = uint8_t(0xA0 + o.seed + i);
    Bytes pt = payload;
    const size_t align = std::max<size_t>(a.block_len, 4);
    const size_t pad = (align - (pt.size() + 2) % align) % align;
    for (size_t i = 0; i < pad; ++i) pt.push_back(uint8_t(i + 1));
    pt.push_back(uint8_t(pad));
    pt.push_back(next_header);

    Bytes out = hdr;
    out.insert(out.end(), iv.begin(), iv.end());
    if (a.cipher == WireAlgo::Cipher::Gcm) {
        auto gcm = Botan::AEAD_Mode::create_or_throw(a.cipher_name, Botan::ENCRYPTION);
        gcm->set_key(e.enc_key.data(), a.enc_key_len);
        Bytes aad(hdr.begin(), hdr.begin() + 4);
        const Bytes hi = seq_hi_bytes(e);
        aad.insert(aad.end(), hi.begin(), hi.end());
        aad.insert(aad.end(), hdr.begin() + 4, hdr.end());
        gcm->set_associated_data(aad.data(), aad.size());
        const Bytes n = nonce_of(e, iv.data());
        gcm->start(n.data(), n.size());
        Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
        gcm->finish(buf);
        out.insert(out.end(), buf.begin(), buf.end());
        return out;
    }
    Bytes ct = pt;
    if (a.cipher == WireAlgo::Cipher::Cbc) {
        auto cbc = Botan::Cipher_Mode::create_or_throw(a.cipher_name, Botan::ENCRYPTION);
        cbc->set_key(e.enc_key.data(), a.enc_key_len);
        cbc->start(iv.data(), iv.size());
        Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
        cbc->finish(buf);
        ct.assign(buf.begin(), buf.end());
    }
    out.insert(out.end(), ct.begin(), ct.end());
    if (a.mac == WireAlgo::Mac::Hmac) {
        const Bytes hi = seq_hi_bytes(e);
        const Bytes tag = mac_tag(e, a, {}, {&out, &hi});
        out.insert(out.end(), tag.begin(), tag.end());
    } else if (a.mac == WireAlgo::Mac::Gmac) {
        // AAD: SPI || [seq_hi] || seq_low || IV || payload .. next header (RFC 4543 3)
        const Bytes spi(out.begin(), out.begin() + 4), rest(out.begin() + 4, out.end());
        const Bytes hi = seq_hi_bytes(e);
        const Bytes tag = mac_tag(e, a, nonce_of(e, iv.data()), {&spi, &hi, &rest});
        out.insert(out.end(), tag.begin(), tag.end());
    }
    return out;
}

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// The AH receiver's view: mutable fields of a plain IPv4/IPv6 header zeroed, the ICV (tag) zeroed.
void zero_mutable(Bytes& view, uint8_t version, size_t icv_at, size_t icv_len) {
    if (version == 4) {
        view[1] = 0;
        view[6] = view[7] = 0;
        view[8] = 0;
        view[10] = view[11] = 0;
    } else {
        view[0] &= 0xF0;
        view[1] = view[2] = view[3] = 0;
        view[7] = 0;
    }
    std::fill(view.begin() + long(icv_at), view.begin() + long(icv_at + icv_len), 0);
}

Bytes ah_icv(const CamEntry& e, const WireAlgo& a, const Bytes& view, const uint8_t* iv) {
    const Bytes hi = seq_hi_bytes(e);
    return mac_tag(e, a, a.mac == WireAlgo::Mac::Gmac ? nonce_of(e, iv) : Bytes{}, {&view, &hi});
}

// AH over `payload` (next header nh) in a plain datagram.
Bytes ah_datagram(const CamEntry& e, const WireAlgo& a, const BuildOptions& o, const IpAddr& src,
                  const IpAddr& dst, const Bytes& payload, uint8_t nh) {
    const size_t unpadded = 12 + a.iv_len + a.icv_len;
    const size_t ah_len = align_up(unpadded, e.ip_version == 4 ? 4 : 8);
    Bytes ah(ah_len);
    ah[0] = nh;
    ah[1] = uint8_t(ah_len / 4 - 2);
    put32(&ah[4], e.spi);
    put32(&ah[8], o.seq);
    for (size_t i = 0; i < a.iv_len; ++i) ah[12 + i] = uint8_t(0xB0 + o.seed + i);
    Bytes body = ah;
    body.insert(body.end(), payload.begin(), payload.end());
    Bytes dgram = ip_datagram(e.ip_version, kIpProtoAh, src, dst, body);
    const size_t ah_off = e.ip_version == 4 ? 20 : 40;
    Bytes view = dgram;
    zero_mutable(view, e.ip_version, ah_off + 12 + a.iv_len, a.icv_len);
    const Bytes icv = ah_icv(e, a, view, &dgram[ah_off + 12]);
    std::copy(icv.begin(), icv.end(), dgram.begin() + long(ah_off + 12 + a.iv_len));
    return dgram;
}

void addresses(const CamEntry& e, const BuildOptions& o, IpAddr& src, IpAddr& dst) {
    src = o.src.version == e.ip_version ? o.src : default_addr(e.ip_version, uint8_t(100 + o.seed % 50));
    if (o.dst.version == e.ip_version) dst = o.dst;
    else if (e.dst.is_zero()) dst = default_addr(e.ip_version, uint8_t(200 + o.seed % 50));
    else dst = e.dst;
}

}  // namespace

Bytes build_frame(const CamEntry& e, const BuildOptions& o) {
    const auto a = wire_algo(e);
    if (!a || (e.ip_version != 4 && e.ip_version != 6)) return {};
    IpAddr src, dst;
    addresses(e, o, src, dst);
    uint8_t nh = 0;
    const Bytes payload = protected_payload(e, o, nh);
    if (e.proto == kIpProtoAh) return ethernet(e.ip_version, ah_datagram(e, *a, o, src, dst, payload, nh));
    const Bytes esp = esp_body(e, *a, o, payload, nh);
    if (o.udp_encap)
        return ethernet(e.ip_version, ip_datagram(e.ip_version, 17, src, dst, udp_datagram(4500, 4500, esp)));
    return ethernet(e.ip_version, ip_datagram(e.ip_version, kIpProtoEsp, src, dst, esp));
}

Bytes build_bundle_frame(const CamEntry& ah, const CamEntry& esp, const BuildOptions& o) {
    const auto aa = wire_algo(ah);
    const auto ea = wire_algo(esp);
    if (!aa || !ea || ah.ip_version != esp.ip_version) return {};
    IpAddr src, dst;
    addresses(ah, o, src, dst);
    uint8_t nh = 0;
    const Bytes payload = protected_payload(esp, o, nh);
    const Bytes esp_bytes = esp_body(esp, *ea, o, payload, nh);
    return ethernet(ah.ip_version, ah_datagram(ah, *aa, o, src, dst, esp_bytes, kIpProtoEsp));
}

// ---- verifier -------------------------------------------------------------------------------------------

EspCheck verify_esp(const CamEntry& e, const uint8_t* buf, size_t esp_off, size_t end) {
    EspCheck r;
    const auto a = wire_algo(e);
    if (!a || e.proto != kIpProtoEsp || esp_off > end) return r;
    r.verdict = Verdict::BadLength;
    if (end - esp_off < 8 + a->iv_len + 2 + a->icv_len) return r;
    r.data_off = esp_off + 8 + a->iv_len;
    r.data_len = end - a->icv_len - r.data_off;
    if (r.data_len % a->block_len) return r;
    const uint8_t* esp = buf + esp_off;
    const uint8_t* iv = esp + 8;
    const uint8_t* icv = buf + r.data_off + r.data_len;
    const Bytes hi = seq_hi_bytes(e);
    r.verdict = Verdict::Bad;
    if (a->cipher == WireAlgo::Cipher::Gcm) {
        auto gcm = Botan::AEAD_Mode::create_or_throw(a->cipher_name, Botan::DECRYPTION);
        gcm->set_key(e.enc_key.data(), a->enc_key_len);
        Bytes aad(esp, esp + 4);
        aad.insert(aad.end(), hi.begin(), hi.end());
        aad.insert(aad.end(), esp + 4, esp + 8);
        gcm->set_associated_data(aad.data(), aad.size());
        const Bytes n = nonce_of(e, iv);
        gcm->start(n.data(), n.size());
        Botan::secure_vector<uint8_t> data(buf + r.data_off, buf + r.data_off + r.data_len + a->icv_len);
        try {
            gcm->finish(data);
        } catch (const Botan::Invalid_Authentication_Tag&) {
            return r;
        }
        r.plaintext.assign(data.begin(), data.end());
        r.verdict = Verdict::Ok;
        return r;
    }
    if (a->mac != WireAlgo::Mac::None) {
        Bytes tag;
        if (a->mac == WireAlgo::Mac::Hmac) {
            const Bytes covered(esp, buf + r.data_off + r.data_len);
            tag = mac_tag(e, *a, {}, {&covered, &hi});
        } else {
            const Bytes spi(esp, esp + 4), rest(esp + 4, buf + r.data_off + r.data_len);
            tag = mac_tag(e, *a, nonce_of(e, iv), {&spi, &hi, &rest});
        }
        if (std::memcmp(tag.data(), icv, a->icv_len) != 0) return r;
    }
    r.plaintext.assign(buf + r.data_off, buf + r.data_off + r.data_len);
    if (a->cipher == WireAlgo::Cipher::Cbc) {
        auto cbc = Botan::Cipher_Mode::create_or_throw(a->cipher_name, Botan::DECRYPTION);
        cbc->set_key(e.enc_key.data(), a->enc_key_len);
        cbc->start(iv, a->iv_len);
        Botan::secure_vector<uint8_t> data(r.plaintext.begin(), r.plaintext.end());
        cbc->finish(data);
        r.plaintext.assign(data.begin(), data.end());
    }
    r.verdict = Verdict::Ok;
    return r;
}

Verdict verify_ah_simple(const CamEntry& e, const uint8_t* buf, size_t l3, size_t ah_off, size_t end,
                         size_t* ah_len_out) {
    const auto a = wire_algo(e);
    if (!a || e.proto != kIpProtoAh || ah_off > end || l3 > ah_off) return Verdict::Unsupported;
    const uint8_t version = buf[l3] >> 4;
    if (version == 4 && (buf[l3] & 0x0F) == 5 && ah_off == l3 + 20) {
    } else if (version == 6 && ah_off == l3 + 40 && buf[l3 + 6] == kIpProtoAh) {
    } else {
        return Verdict::Unsupported;
    }
    if (end - ah_off < 12) return Verdict::BadLength;
    const size_t ah_len = (size_t(buf[ah_off + 1]) + 2) * 4;
    if (ah_len_out) *ah_len_out = ah_len;
    const size_t unpadded = 12 + a->iv_len + a->icv_len;
    const bool len_ok = ah_len == align_up(unpadded, 8) || (version == 4 && ah_len == align_up(unpadded, 4));
    if (!len_ok || ah_len > end - ah_off) return Verdict::BadLength;
    Bytes view(buf + l3, buf + end);
    const size_t icv_at = ah_off - l3 + 12 + a->iv_len;
    zero_mutable(view, version, icv_at, a->icv_len);
    const Bytes icv = ah_icv(e, *a, view, buf + ah_off + 12);
    return std::memcmp(icv.data(), buf + ah_off + 12 + a->iv_len, a->icv_len) == 0 ? Verdict::Ok : Verdict::Bad;
}

// ---- MemFile --------------------------------------------------------------------------------------------

MemFile::MemFile(const char* name) {
    fd_ = memfd_create(name, 0);
    if (fd_ < 0) {
        std::perror("memfd_create");
        std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
    if (fd_ >= 0) ::close(fd_);
}

void MemFile::assign(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
        const ssize_t n = pwrite(fd_, data + done, size - done, off_t(done));
        if (n <= 0) std::abort();
        done += size_t(n);
    }
}

Bytes MemFile::contents() const {
    Bytes out;
    uint8_t chunk[4096];
    off_t off = 0;
    for (;;) {
        const ssize_t n = pread(fd_, chunk, sizeof chunk, off);
        if (n <= 0) break;
        out.insert(out.end(), chunk, chunk + n);
        off += n;
    }
    return out;
}

}  // namespace ov2::fuzz

// libsystemc.so's main() calls sc_main; the fuzz binaries have their own main (libFuzzer's or
// replay_main.cpp) and never elaborate, but the symbol must exist for the link.
int sc_main(int, char**) { return 0; }
