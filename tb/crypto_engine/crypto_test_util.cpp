#include "crypto_test_util.h"

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/mac.h>

#include <stdexcept>

namespace ov2::test {

using namespace ndis;

Bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) -> uint8_t {
        if (c >= '0' && c <= '9') return uint8_t(c - '0');
        if (c >= 'a' && c <= 'f') return uint8_t(c - 'a' + 10);
        if (c >= 'A' && c <= 'F') return uint8_t(c - 'A' + 10);
        throw std::invalid_argument("bad hex digit");
    };
    if (hex.size() % 2) throw std::invalid_argument("odd hex length");
    Bytes out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = uint8_t(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

void put_be16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

void put_be32(uint8_t* p, uint32_t v) {
    put_be16(p, uint16_t(v >> 16));
    put_be16(p + 2, uint16_t(v));
}

static uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t* p) { return uint32_t(be16(p)) << 16 | be16(p + 2); }

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- header walk ----------------------------------------------------------------------------------------

static bool is_ipv6_extension(uint8_t nh) { return nh == 0 || nh == 43 || nh == 60 || nh == 44; }

static size_t ipv6_extension_length(uint8_t nh, const uint8_t* h) {
    return nh == 44 ? 8 : (size_t(h[1]) + 1) * 8;
}

// Returns the offset of the upper-layer header and its protocol, or false when the headers do not fit.
static bool skip_ip_headers(const Bytes& pkt, size_t l3, size_t& off, uint8_t& proto, ParseResult& p) {
    const uint8_t* ip = pkt.data() + l3;
    if (pkt.size() < l3 + 20) return false;
    if ((ip[0] >> 4) == 4) {
        p.ip_version = 4;
        p.l3_length = be16(ip + 2);
        p.ipv4_options = (ip[0] & 15) > 5;
        proto = ip[9];
        off = l3 + size_t(ip[0] & 15) * 4;
        p.src = IpAddr::v4(ip + 12);
        p.dst = IpAddr::v4(ip + 16);
        return true;
    }
    if ((ip[0] >> 4) != 6 || pkt.size() < l3 + 40) return false;
    p.ip_version = 6;
    p.l3_length = uint32_t(be16(ip + 4)) + 40;
    p.src = IpAddr::v6(ip + 8);
    p.dst = IpAddr::v6(ip + 24);
    proto = ip[6];
    off = l3 + 40;
    while (is_ipv6_extension(proto)) {
        if (off + 8 > pkt.size()) return false;
        p.ipv6_extension_headers = true;
        const uint8_t next = pkt[off];
        off += ipv6_extension_length(proto, pkt.data() + off);
        proto = next;
    }
    return true;
}

ParseResult walk_ip(const Bytes& pkt, size_t l3) {
    ParseResult p;
    p.kind = L4Kind::Malformed;
    p.l3_offset = uint16_t(l3);
    size_t off = 0;
    uint8_t proto = 0;
    if (!skip_ip_headers(pkt, l3, off, proto, p)) return p;
    if (proto == 17 && off + 8 <= pkt.size() && be16(pkt.data() + off + 2) == kUdpEspPort) {
        p.udp_offset = uint16_t(off);
        off += 8;
        proto = kIpProtoEsp;
        p.kind = L4Kind::UdpEsp;
    } else if (proto == kIpProtoEsp) {
        p.kind = L4Kind::Esp;
    } else if (proto == kIpProtoAh) {
        p.kind = L4Kind::Ah;
    } else {
        p.kind = L4Kind::NotIpsec;
        return p;
    }
    p.ipsec_offset = uint16_t(off);
    p.ipsec_proto = proto;
    const size_t spi_at = off + (proto == kIpProtoAh ? 4 : 0);
    if (spi_at + 8 > pkt.size()) {
        p.kind = L4Kind::Malformed;
        return p;
    }
    p.spi = be32(pkt.data() + spi_at);
    p.seq = be32(pkt.data() + spi_at + 4);
    return p;
}

size_t ip_header_length(const Bytes& pkt) {
    ParseResult p;
    size_t off = 0;
    uint8_t proto = 0;
    if (!skip_ip_headers(pkt, 0, off, proto, p)) throw std::invalid_argument("not an IP packet");
    return off;
}

// ---- SAs ------------------------------------------------------------------------------------------------

CipherInfo cipher_info(uint32_t enc_alg, uint8_t icv_len) {
    const std::string gcm_tag = "/GCM(" + std::to_string(icv_len ? icv_len : 16) + ")";
    switch (enc_alg) {
        case kEncDesCbc:
            return {"DES/CBC/NoPadding", 8, 8, 8, false};
        case kEnc3DesCbc:
            return {"TripleDES/CBC/NoPadding", 24, 8, 8, false};
        case kEncAesCbc128:
            return {"AES-128/CBC/NoPadding", 16, 16, 16, false};
        case kEncAesCbc192:
            return {"AES-192/CBC/NoPadding", 24, 16, 16, false};
        case kEncAesCbc256:
            return {"AES-256/CBC/NoPadding", 32, 16, 16, false};
        case kEncAesGcm128:
            return {"AES-128" + gcm_tag, 16, 8, 1, true};
        case kEncAesGcm192:
            return {"AES-192" + gcm_tag, 24, 8, 1, true};
        case kEncAesGcm256:
            return {"AES-256" + gcm_tag, 32, 8, 1, true};
        default:
            return {};
    }
}

AuthInfo auth_info(uint32_t auth_alg) {
    switch (auth_alg) {
        case kAuthMd5:
            return {"HMAC(MD5)", 16, 12, false};
        case kAuthSha1:
            return {"HMAC(SHA-1)", 20, 12, false};
        case kAuthSha256:
            return {"HMAC(SHA-256)", 32, 16, false};
        case kAuthAesGmac128:
            return {"GMAC(AES-128)", 16, 16, true};
        case kAuthAesGmac192:
            return {"GMAC(AES-192)", 24, 16, true};
        case kAuthAesGmac256:
            return {"GMAC(AES-256)", 32, 16, true};
        default:
            return {};
    }
}

CamEntry make_entry(uint8_t proto, uint32_t enc_alg, uint32_t auth_alg, uint8_t icv_len, bool esn,
                    uint32_t seq_hi) {
    CamEntry e;
    e.valid = true;
    e.proto = proto;
    e.spi = 0x1234'5678;
    e.enc_alg = enc_alg;
    e.auth_alg = auth_alg;
    e.esn = esn;
    e.seq_hi = seq_hi;
    const CipherInfo c = cipher_info(enc_alg, icv_len);
    const AuthInfo a = auth_info(auth_alg);
    e.enc_key_len = uint8_t(c.key_len);
    e.auth_key_len = uint8_t(a.key_len);
    e.icv_len = uint8_t(c.gcm ? (icv_len ? icv_len : 16) : (icv_len ? icv_len : a.icv_len));
    for (size_t i = 0; i < e.enc_key.size(); ++i) e.enc_key[i] = uint8_t(0x11 + 7 * i);
    for (size_t i = 0; i < e.auth_key.size(); ++i) e.auth_key[i] = uint8_t(0xA5 ^ (3 * i));
    e.salt = {0xCA, 0xFE, 0xBA, 0xBE};
    return e;
}

std::string entry_name(const CamEntry& e) {
    std::string n = e.proto == kIpProtoAh ? "Ah" : "Esp";
    n += "_enc" + std::to_string(e.enc_alg) + "_auth" + std::to_string(e.auth_alg);
    n += "_icv" + std::to_string(e.icv_len);
    if (e.esn) n += "_esn";
    return n;
}

// ---- sender ---------------------------------------------------------------------------------------------

static Bytes gmac_nonce(const CamEntry& e, const uint8_t* iv) {
    Bytes n(e.salt.begin(), e.salt.end());
    n.insert(n.end(), iv, iv + 8);
    return n;
}

static Bytes seq_hi_bytes(uint64_t seq64) {
    Bytes hi(4);
    put_be32(hi.data(), uint32_t(seq64 >> 32));
    return hi;
}

static Bytes esp_plaintext(const EspBuild& b, size_t align) {
    Bytes pt = b.payload;
    Bytes pad;
    if (b.padding) {
        pad = *b.padding;
    } else {
        const size_t n = (align - (pt.size() + 2) % align) % align;
        for (size_t i = 0; i < n; ++i) pad.push_back(uint8_t(i + 1));
    }
    pt.insert(pt.end(), pad.begin(), pad.end());
    pt.push_back(b.pad_length.value_or(uint8_t(pad.size())));
    pt.push_back(b.next_header);
    return pt;
}

static Bytes esp_gcm(const CamEntry& e, const CipherInfo& c, const Bytes& hdr, const Bytes& iv,
                     const Bytes& pt, uint64_t seq64) {
    auto aead = Botan::AEAD_Mode::create_or_throw(c.botan, Botan::ENCRYPTION);
    aead->set_key(e.enc_key.data(), c.key_len);
    Bytes aad(hdr.begin(), hdr.begin() + 4);
    if (e.esn) aad = concat({aad, seq_hi_bytes(seq64)});
    aad.insert(aad.end(), hdr.begin() + 4, hdr.begin() + 8);
    aead->set_associated_data(aad.data(), aad.size());
    const Bytes nonce = gmac_nonce(e, iv.data());
    aead->start(nonce.data(), nonce.size());
    Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
    aead->finish(buf);
    return concat({hdr, iv, Bytes(buf.begin(), buf.end())});
}

static Bytes esp_icv(const CamEntry& e, const AuthInfo& a, const Bytes& covered, uint64_t seq64) {
    auto mac = Botan::MessageAuthenticationCode::create_or_throw(a.botan);
    mac->set_key(e.auth_key.data(), a.key_len);
    if (a.gmac) {
        const Bytes nonce = gmac_nonce(e, covered.data() + 8);
        mac->start(nonce.data(), nonce.size());
        mac->update(covered.data(), 4);
        if (e.esn) mac->update(seq_hi_bytes(seq64));
        mac->update(covered.data() + 4, covered.size() - 4);
    } else {
        mac->update(covered);
        if (e.esn) mac->update(seq_hi_bytes(seq64));
    }
    const auto tag = mac->final();
    return Bytes(tag.begin(), tag.begin() + e.icv_len);
}

Bytes esp_encapsulate(const CamEntry& e, const EspBuild& b) {
    const CipherInfo c = cipher_info(e.enc_alg, e.icv_len);
    const AuthInfo a = auth_info(e.auth_alg);
    Bytes hdr(8);
    put_be32(hdr.data(), e.spi);
    put_be32(hdr.data() + 4, uint32_t(b.seq64));
    Bytes iv(a.gmac ? 8 : c.iv_len);
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = uint8_t(b.iv_seed + i);
    const Bytes pt = esp_plaintext(b, std::max<size_t>(c.block_len, 4));
    if (c.gcm) return esp_gcm(e, c, hdr, iv, pt, b.seq64);
    Bytes ct = pt;
    if (!c.botan.empty()) {
        auto cbc = Botan::Cipher_Mode::create_or_throw(c.botan, Botan::ENCRYPTION);
        cbc->set_key(e.enc_key.data(), c.key_len);
        cbc->start(iv.data(), iv.size());
        Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
        cbc->finish(buf);
        ct.assign(buf.begin(), buf.end());
    }
    Bytes out = concat({hdr, iv, ct});
    if (!a.botan.empty()) out = concat({out, esp_icv(e, a, out, b.seq64)});
    return out;
}

void fix_ipv4_checksum(Bytes& pkt, size_t l3) {
    uint8_t* ip = pkt.data() + l3;
    const size_t ihl = size_t(ip[0] & 15) * 4;
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (size_t i = 0; i < ihl; i += 2) sum += be16(ip + i);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    put_be16(ip + 10, uint16_t(~sum));
}

Bytes ipv4_packet(uint8_t proto, const Bytes& payload, const Bytes& options) {
    if (options.size() % 4) throw std::invalid_argument("IPv4 options must fill 32-bit words");
    Bytes ip(20 + options.size());
    ip[0] = uint8_t(0x40 | (ip.size() / 4));
    put_be16(ip.data() + 2, uint16_t(ip.size() + payload.size()));
    put_be16(ip.data() + 4, 0x1c46);  // identification: immutable
    ip[9] = proto;
    const uint8_t src[] = {192, 0, 2, 1}, dst[] = {198, 51, 100, 7};
    std::copy(src, src + 4, ip.begin() + 12);
    std::copy(dst, dst + 4, ip.begin() + 16);
    std::copy(options.begin(), options.end(), ip.begin() + 20);
    return concat({ip, payload});
}

Bytes ipv6_packet(uint8_t next_header, const Bytes& payload) {
    Bytes ip(40);
    ip[0] = 0x60;
    put_be16(ip.data() + 4, uint16_t(payload.size()));
    ip[6] = next_header;
    const uint8_t src[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t dst[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::copy(src, src + 16, ip.begin() + 8);
    std::copy(dst, dst + 16, ip.begin() + 24);
    return concat({ip, payload});
}

void transit_ipv4(Bytes& pkt, size_t l3) {
    uint8_t* ip = pkt.data() + l3;
    ip[1] = 0xB8;              // DSCP EF
    put_be16(ip + 6, 0x4000);  // DF
    ip[8] = 57;                // TTL after a few hops
    fix_ipv4_checksum(pkt, l3);
}

void transit_ipv6(Bytes& pkt, size_t l3) {
    uint8_t* ip = pkt.data() + l3;
    ip[0] = 0x6B;  // traffic class 0xB8 spans bytes 0 and 1
    ip[1] = 0x8A;  // ... and flow label 0xA5F3C
    ip[2] = 0x5F;
    ip[3] = 0x3C;
    ip[7] = 61;  // hop limit
}

size_t ah_icv_offset(const CamEntry& e) { return 12 + (auth_info(e.auth_alg).gmac ? 8 : 0); }

Bytes ah_header(const CamEntry& e, uint8_t next_header, uint64_t seq64, size_t align) {
    const size_t unpadded = ah_icv_offset(e) + e.icv_len;
    Bytes ah((unpadded + align - 1) / align * align);
    ah[0] = next_header;
    ah[1] = uint8_t(ah.size() / 4 - 2);
    put_be32(ah.data() + 4, e.spi);
    put_be32(ah.data() + 8, uint32_t(seq64));
    for (size_t i = 12; i < ah_icv_offset(e); ++i) ah[i] = uint8_t(0x50 + i);  // GMAC IV
    return ah;
}

void sign_ah(const CamEntry& e, const Bytes& icv_view, size_t ah_offset, uint64_t seq64, Bytes& wire) {
    const AuthInfo a = auth_info(e.auth_alg);
    auto mac = Botan::MessageAuthenticationCode::create_or_throw(a.botan);
    mac->set_key(e.auth_key.data(), a.key_len);
    if (a.gmac) {
        const Bytes nonce = gmac_nonce(e, icv_view.data() + ah_offset + 12);
        mac->start(nonce.data(), nonce.size());
    }
    mac->update(icv_view);
    if (e.esn) mac->update(seq_hi_bytes(seq64));
    const auto tag = mac->final();
    std::copy(tag.begin(), tag.begin() + e.icv_len, wire.begin() + ah_offset + ah_icv_offset(e));
}

RunResult run_once(const CamEntry& e, const Bytes& pkt, bool tunnel) {
    CryptoEngine engine(4);
    RunResult out{PortionResult{}, pkt};
    out.r.status = CryptoStatus::GenericError;
    if (!engine.install(0, e)) return out;
    const ParseResult p = walk_ip(pkt);
    out.r = engine.process(0, out.buf.data(), out.buf.size(), p, tunnel);
    return out;
}

}  // namespace ov2::test
