#include "ov2_types.h"

#include <arpa/inet.h>

#include <cstring>

namespace ov2 {

const char* crypto_status_name(CryptoStatus status) {
    switch (status) {
    case CryptoStatus::Success: return "CRYPTO_SUCCESS";
    case CryptoStatus::GenericError: return "CRYPTO_GENERIC_ERROR";
    case CryptoStatus::TransportAhAuthFailed: return "CRYPTO_TRANSPORT_AH_AUTH_FAILED";
    case CryptoStatus::TransportEspAuthFailed: return "CRYPTO_TRANSPORT_ESP_AUTH_FAILED";
    case CryptoStatus::TunnelAhAuthFailed: return "CRYPTO_TUNNEL_AH_AUTH_FAILED";
    case CryptoStatus::TunnelEspAuthFailed: return "CRYPTO_TUNNEL_ESP_AUTH_FAILED";
    case CryptoStatus::InvalidPacketSyntax: return "CRYPTO_INVALID_PACKET_SYNTAX";
    case CryptoStatus::InvalidProtocol: return "CRYPTO_INVALID_PROTOCOL";
    }
    return "CRYPTO_UNKNOWN";
}

const char* l4_kind_name(L4Kind kind) {
    switch (kind) {
    case L4Kind::NotIp: return "not_ip";
    case L4Kind::NotIpsec: return "not_ipsec";
    case L4Kind::Esp: return "esp";
    case L4Kind::Ah: return "ah";
    case L4Kind::UdpEsp: return "udp_esp";
    case L4Kind::UdpNonEsp: return "udp_non_esp";
    case L4Kind::Malformed: return "malformed";
    }
    return "unknown";
}

const char* nic_reason_name(NicReason reason) {
    switch (reason) {
    case NicReason::Processed: return "processed";
    case NicReason::OffloadDisabled: return "offload_disabled";
    case NicReason::NotIp: return "not_ip";
    case NicReason::NotIpsec: return "not_ipsec";
    case NicReason::NoSa: return "no_sa";
    case NicReason::Ipv4Options: return "ipv4_options";
    case NicReason::Ipv6ExtensionHeaders: return "ipv6_extension_headers";
    case NicReason::Fragment: return "fragment";
    case NicReason::Ipv6NotSupported: return "ipv6_not_supported";
    case NicReason::ModeNotSupported: return "mode_not_supported";
    case NicReason::ProtocolNotSupported: return "protocol_not_supported";
    case NicReason::UdpEspNotSupported: return "udp_esp_not_supported";
    case NicReason::Malformed: return "malformed";
    }
    return "unknown";
}

bool is_gcm_encryption(uint32_t enc) {
    return enc == ndis::kEncAesGcm128 || enc == ndis::kEncAesGcm192 || enc == ndis::kEncAesGcm256;
}

bool is_gmac_auth(uint32_t auth) {
    return auth == ndis::kAuthAesGmac128 || auth == ndis::kAuthAesGmac192 || auth == ndis::kAuthAesGmac256;
}

bool is_cbc_encryption(uint32_t enc) {
    return enc == ndis::kEncDesCbc || enc == ndis::kEnc3DesCbc || enc == ndis::kEncAesCbc128 ||
           enc == ndis::kEncAesCbc192 || enc == ndis::kEncAesCbc256;
}

size_t aes_key_bytes_for(uint32_t alg) {
    switch (alg) {
    case ndis::kEncAesGcm128: case ndis::kEncAesCbc128: return 16;
    case ndis::kEncAesGcm192: case ndis::kEncAesCbc192: return 24;
    case ndis::kEncAesGcm256: case ndis::kEncAesCbc256: return 32;
    case ndis::kEncDesCbc: return 8;
    case ndis::kEnc3DesCbc: return 24;
    default: return 0;
    }
}

// ---- IpAddr ---------------------------------------------------------------------------------------------

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    std::string s(text);
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.version = 4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.version = 6;
        return a;
    }
    return std::nullopt;
}

IpAddr IpAddr::v4(const uint8_t* p) {
    IpAddr a;
    a.version = 4;
    std::memcpy(a.bytes.data(), p, 4);
    return a;
}

IpAddr IpAddr::v6(const uint8_t* p) {
    IpAddr a;
    a.version = 6;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
}

bool IpAddr::is_zero() const {
    for (uint8_t b : bytes)
        if (b) return false;
    return true;
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (version == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    else if (version == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    else return "-";
    return buf;
}

// ---- CamEntry <-> SA_DATA words -------------------------------------------------------------------------
// Word layout (little-endian words):
//  0 flags: bit0 valid, bit1 inbound, bit2 esn, bit3 tunnel, bit4 bundle_has_inner, [15:8] ip_version,
//    [23:16] proto, [31:24] bundle_slot
//  1 spi   2 seq_hi   3 udp_esp_encapsulation   4 enc_alg   5 auth_alg
//  6 [7:0] icv_len [15:8] enc_key_len [23:16] auth_key_len   7 handle
//  8..11 dst   12..19 enc_key   20 salt   21..28 auth_key   29..47 reserved (zero)
namespace {
void put_bytes(std::array<uint32_t, reg::kSaDataWords>& w, size_t first_word, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) w[first_word + i / 4] |= uint32_t(p[i]) << (8 * (i % 4));
}
void get_bytes(const std::array<uint32_t, reg::kSaDataWords>& w, size_t first_word, uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = uint8_t(w[first_word + i / 4] >> (8 * (i % 4)));
}
}  // namespace

std::array<uint32_t, reg::kSaDataWords> pack_cam_entry(const CamEntry& e) {
    std::array<uint32_t, reg::kSaDataWords> w{};
    w[0] = uint32_t(e.valid) | uint32_t(e.inbound) << 1 | uint32_t(e.esn) << 2 |
           uint32_t(e.mode == SaMode::Tunnel) << 3 | uint32_t(e.bundle_has_inner) << 4 |
           uint32_t(e.ip_version) << 8 | uint32_t(e.proto) << 16 | uint32_t(e.bundle_slot) << 24;
    w[1] = e.spi;
    w[2] = e.seq_hi;
    w[3] = e.udp_esp_encapsulation;
    w[4] = e.enc_alg;
    w[5] = e.auth_alg;
    w[6] = uint32_t(e.icv_len) | uint32_t(e.enc_key_len) << 8 | uint32_t(e.auth_key_len) << 16;
    w[7] = e.handle;
    put_bytes(w, 8, e.dst.bytes.data(), 16);
    put_bytes(w, 12, e.enc_key.data(), 32);
    put_bytes(w, 20, e.salt.data(), 4);
    put_bytes(w, 21, e.auth_key.data(), 32);
    return w;
}

CamEntry unpack_cam_entry(const std::array<uint32_t, reg::kSaDataWords>& w) {
    CamEntry e;
    e.valid = w[0] & 1;
    e.inbound = (w[0] >> 1) & 1;
    e.esn = (w[0] >> 2) & 1;
    e.mode = ((w[0] >> 3) & 1) ? SaMode::Tunnel : SaMode::Transport;
    e.bundle_has_inner = (w[0] >> 4) & 1;
    e.ip_version = uint8_t(w[0] >> 8);
    e.proto = uint8_t(w[0] >> 16);
    e.bundle_slot = uint8_t(w[0] >> 24);
    e.spi = w[1];
    e.seq_hi = w[2];
    e.udp_esp_encapsulation = w[3];
    e.enc_alg = w[4];
    e.auth_alg = w[5];
    e.icv_len = uint8_t(w[6]);
    e.enc_key_len = uint8_t(w[6] >> 8);
    e.auth_key_len = uint8_t(w[6] >> 16);
    e.handle = w[7];
    e.dst.version = e.ip_version;
    get_bytes(w, 8, e.dst.bytes.data(), 16);
    get_bytes(w, 12, e.enc_key.data(), 32);
    get_bytes(w, 20, e.salt.data(), 4);
    get_bytes(w, 21, e.auth_key.data(), 32);
    return e;
}

// ---- Completion record ----------------------------------------------------------------------------------
// Byte layout (little-endian): 0 frame_tag(4) 4 length(2) 6 ipsec_flags(2) 8 handle(4) 12 inner_handle(4)
// 16 crypto_status 17 next_header 18 pad_length 19 unprocessed_reason 20 seq_low(4)
// 24 timestamp_ps (7 bytes, 2^56 ps = 20 hours) 31 status: bit0 DD (done), written last
namespace {
[[maybe_unused]] void put_le(uint8_t* p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = uint8_t(v >> (8 * i));
}
template <typename T>
void store_le(uint8_t* p, T v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    std::memcpy(p, &v, sizeof v);
#else
    put_le(p, uint64_t(v), sizeof v);
#endif
}
[[maybe_unused]] uint64_t get_le(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
}
template <typename T>
T load_le(const uint8_t* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
#else
    return T(get_le(p, sizeof(T)));
#endif
}
}  // namespace

// The fields in fixed-width little-endian stores (the driver and writeback run this for every frame);
// the 8-byte store of the time stamp is overwritten in its top byte by the status byte.
std::array<uint8_t, Completion::kBytes> Completion::encode() const {
    std::array<uint8_t, kBytes> b;
    store_le(&b[0], frame_tag);
    store_le(&b[4], length);
    store_le(&b[6], ipsec_flags);
    store_le(&b[8], handle);
    store_le(&b[12], inner_handle);
    b[16] = crypto_status;
    b[17] = next_header;
    b[18] = pad_length;
    b[19] = unprocessed_reason;
    store_le(&b[20], seq_low);
    store_le(&b[24], timestamp_ps);
    b[31] = done ? 1 : 0;
    return b;
}

Completion Completion::decode(const uint8_t* p) {
    Completion c;
    c.frame_tag = load_le<uint32_t>(p);
    c.length = load_le<uint16_t>(p + 4);
    c.ipsec_flags = load_le<uint16_t>(p + 6);
    c.handle = load_le<uint32_t>(p + 8);
    c.inner_handle = load_le<uint32_t>(p + 12);
    c.crypto_status = p[16];
    c.next_header = p[17];
    c.pad_length = p[18];
    c.unprocessed_reason = p[19];
    c.seq_low = load_le<uint32_t>(p + 20);
    c.timestamp_ps = load_le<uint64_t>(p + 24) & ((uint64_t(1) << 56) - 1);  // the top byte is the status
    c.done = p[31] & 1;
    return c;
}

}  // namespace ov2
