// Crypto engine functional core: one AH or ESP header verified (and ESP decrypted in place) with Botan.
// Layouts, checks and the status each failure gives: docs/crypto.md.
#include "crypto_engine.h"

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/exceptn.h>
#include <botan/mac.h>
#include <botan/mem_ops.h>
#include <botan/secmem.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>

namespace ov2 {
namespace {

using namespace ndis;

constexpr size_t kMaxDatagram = 65535 + 40;  // IPv4 total length, or IPv6 payload length + fixed header
constexpr size_t kEspHeader = 8;             // SPI + sequence number
constexpr size_t kAhFixed = 12;              // next header, payload len, reserved, SPI, sequence number
constexpr size_t kGcmIv = 8;                 // RFC 4106 / 4543 explicit IV
constexpr size_t kSaltLen = 4;
constexpr size_t kNonceLen = kSaltLen + kGcmIv;
constexpr size_t kTrailer = 2;  // pad length + next header
constexpr size_t kMaxMacOut = 64;
constexpr uint8_t kIpv6NextHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6DstOpts = 60;

uint32_t load_be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void store_be32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// ---- what install() derives from a CamEntry ---------------------------------------------------------

enum class CipherKind { None, Gcm, Cbc };
enum class IntegrityKind { None, Aead, Hmac, Gmac };

struct Plan {
    CipherKind cipher = CipherKind::None;
    IntegrityKind integrity = IntegrityKind::None;
    std::string cipher_name;  // Botan name, e.g. "AES-128/GCM(16)" or "TripleDES/CBC/NoPadding"
    std::string mac_name;     // "HMAC(SHA-256)", or "AES-128/GCM(16)" used as GMAC
    size_t cipher_key_len = 0;
    size_t mac_key_len = 0;
    size_t iv_len = 0;     // explicit IV: after the ESP header, or at the start of the AH ICV field (GMAC)
    size_t block_len = 1;  // ESP ciphertext granularity: 1, 8 or 16 (a power of two)
    size_t icv_len = 0;
};

struct CbcAlgorithm {
    uint32_t id;
    const char* cipher;
    size_t key_len;
    size_t block_len;
};
constexpr CbcAlgorithm kCbcAlgorithms[] = {
    {kEncDesCbc, "DES", 8, 8},          {kEnc3DesCbc, "TripleDES", 24, 8},
    {kEncAesCbc128, "AES-128", 16, 16}, {kEncAesCbc192, "AES-192", 24, 16},
    {kEncAesCbc256, "AES-256", 32, 16},
};

struct AesAlgorithm {
    uint32_t id;
    const char* cipher;
    size_t key_len;
};
constexpr AesAlgorithm kGcmAlgorithms[] = {
    {kEncAesGcm128, "AES-128", 16}, {kEncAesGcm192, "AES-192", 24}, {kEncAesGcm256, "AES-256", 32}};
constexpr AesAlgorithm kGmacAlgorithms[] = {
    {kAuthAesGmac128, "AES-128", 16}, {kAuthAesGmac192, "AES-192", 24}, {kAuthAesGmac256, "AES-256", 32}};

// Key lengths of RFC 2403 / 2404 / 4868; ICV lengths of the -96 / -96 / -128 truncations.
struct HmacAlgorithm {
    uint32_t id;
    const char* mac;
    size_t key_len;
    size_t icv_len;
};
constexpr HmacAlgorithm kHmacAlgorithms[] = {{kAuthMd5, "HMAC(MD5)", 16, 12},
                                             {kAuthSha1, "HMAC(SHA-1)", 20, 12},
                                             {kAuthSha256, "HMAC(SHA-256)", 32, 16}};

constexpr size_t kGmacIcvLen = 16;  // RFC 4543 defines only the full 16-byte tag

template <typename Table>
auto find_algorithm(const Table& table, uint32_t id) -> decltype(&table[0]) {
    for (const auto& a : table)
        if (a.id == id) return &a;
    return nullptr;
}

// HMAC and GMAC carry no ICV length in NDIS (only GCM's AdditionalInfo does): 0 means "the algorithm's".
bool icv_len_matches(const CamEntry& e, size_t fixed) { return e.icv_len == 0 || e.icv_len == fixed; }

bool plan_integrity(const CamEntry& e, bool null_cipher, Plan& plan) {
    if (e.auth_alg == kAuthNone) return true;
    if (const auto* h = find_algorithm(kHmacAlgorithms, e.auth_alg)) {
        if (e.auth_key_len != h->key_len || !icv_len_matches(e, h->icv_len)) return false;
        plan.integrity = IntegrityKind::Hmac;
        plan.mac_name = h->mac;
        plan.mac_key_len = h->key_len;
        plan.icv_len = h->icv_len;
        return true;
    }
    const auto* g = find_algorithm(kGmacAlgorithms, e.auth_alg);
    // ESP: GMAC only as ENCR_NULL_AUTH_AES_GMAC (RFC 4543), never with a real cipher.
    if (!g || !null_cipher || e.auth_key_len != g->key_len || !icv_len_matches(e, kGmacIcvLen)) return false;
    plan.integrity = IntegrityKind::Gmac;
    plan.mac_name = std::string(g->cipher) + "/GCM(16)";
    plan.mac_key_len = g->key_len;
    plan.iv_len = kGcmIv;
    plan.icv_len = kGmacIcvLen;
    return true;
}

std::optional<Plan> plan_gcm(const CamEntry& e, const AesAlgorithm& a) {
    const bool icv_ok = e.icv_len == 8 || e.icv_len == 12 || e.icv_len == 16;
    if (e.auth_alg != kAuthNone || e.enc_key_len != a.key_len || !icv_ok) return std::nullopt;
    Plan plan;
    plan.cipher = CipherKind::Gcm;
    plan.integrity = IntegrityKind::Aead;
    plan.cipher_name = std::string(a.cipher) + "/GCM(" + std::to_string(e.icv_len) + ")";
    plan.cipher_key_len = a.key_len;
    plan.iv_len = kGcmIv;
    plan.icv_len = e.icv_len;
    return plan;
}

std::optional<Plan> plan_esp(const CamEntry& e) {
    if (const auto* g = find_algorithm(kGcmAlgorithms, e.enc_alg)) return plan_gcm(e, *g);
    Plan plan;
    if (const auto* c = find_algorithm(kCbcAlgorithms, e.enc_alg)) {
        if (e.enc_key_len != c->key_len) return std::nullopt;
        plan.cipher = CipherKind::Cbc;
        plan.cipher_name = std::string(c->cipher) + "/CBC/NoPadding";
        plan.cipher_key_len = c->key_len;
        plan.iv_len = c->block_len;
        plan.block_len = c->block_len;
    } else if (e.enc_alg != kEncNull) {
        return std::nullopt;
    }
    if (!plan_integrity(e, plan.cipher == CipherKind::None, plan)) return std::nullopt;
    // RFC 4303 3.2: NULL encryption and no integrity together is not a valid SA.
    if (plan.cipher == CipherKind::None && plan.integrity == IntegrityKind::None) return std::nullopt;
    if (plan.integrity == IntegrityKind::None && e.icv_len != 0) return std::nullopt;
    return plan;
}

std::optional<Plan> plan_ah(const CamEntry& e) {
    if (e.enc_alg != kEncAbsent || e.auth_alg == kAuthNone) return std::nullopt;
    Plan plan;
    if (!plan_integrity(e, true, plan)) return std::nullopt;
    return plan;
}

std::optional<Plan> plan_for(const CamEntry& e) {
    if (e.proto == kIpProtoEsp) return plan_esp(e);
    if (e.proto == kIpProtoAh) return plan_ah(e);
    return std::nullopt;
}

// ---- ESN (RFC 4303 Appendix A, with the half-space window of "closest to T") ---------------------------

uint32_t infer_seq_hi(uint64_t highest, bool anchored, uint32_t seq_low) {
    const uint32_t th = uint32_t(highest >> 32);
    const uint32_t tl = uint32_t(highest);
    if (anchored) return th;
    if (seq_low < tl && tl - seq_low > 0x8000'0000u) return th == UINT32_MAX ? th : th + 1;
    if (seq_low > tl && seq_low - tl > 0x8000'0000u) return th == 0 ? th : th - 1;
    return th;
}

// ---- AH: mutable fields zeroed in the scratch copy (Linux ah4/ah6) ------------------------------------

bool ipv4_option_is_immutable(uint8_t type) {
    return type == 130 || type == 133 || type == 134 || type == 148 || type == 149;
}

// Linux ip_clear_mutable_options: immutable options kept, the others zeroed; LSRR/SSRR put their final
// destination into the destination address first.
bool clear_ipv4_options(uint8_t* ip, size_t ihl) {
    constexpr uint8_t kEnd = 0, kNop = 1, kLsrr = 131, kSsrr = 137;
    size_t off = 20;
    while (off < ihl) {
        const uint8_t type = ip[off];
        if (type == kEnd) return true;
        if (type == kNop) {
            ++off;
            continue;
        }
        if (off + 2 > ihl) return false;
        const size_t optlen = ip[off + 1];
        if (optlen < 2 || off + optlen > ihl) return false;
        if (!ipv4_option_is_immutable(type)) {
            if (type == kLsrr || type == kSsrr) {
                if (optlen < 7) return false;
                std::memcpy(ip + 16, ip + off + optlen - 4, 4);
            }
            std::memset(ip + off, 0, optlen);
        }
        off += optlen;
    }
    return true;
}

bool clear_ipv4_mutable(uint8_t* ip, size_t ah_rel) {
    const size_t ihl = size_t(ip[0] & 0x0F) * 4;
    if (ihl < 20 || ihl != ah_rel) return false;
    ip[1] = 0;            // TOS
    ip[6] = ip[7] = 0;    // flags + fragment offset
    ip[8] = 0;            // TTL
    ip[10] = ip[11] = 0;  // header checksum
    return clear_ipv4_options(ip, ihl);
}

// RFC 8200 4.2: an option whose type has bit 0x20 set may change en route: its data counts as zero.
bool clear_ipv6_mutable_options(uint8_t* hdr, size_t hlen) {
    constexpr uint8_t kPad1 = 0, kMayChange = 0x20;
    size_t off = 2;
    while (off < hlen) {
        const uint8_t type = hdr[off];
        if (type == kPad1) {
            ++off;
            continue;
        }
        if (off + 2 > hlen) return false;
        const size_t optlen = hdr[off + 1];
        if (off + 2 + optlen > hlen) return false;
        if (type & kMayChange) std::memset(hdr + off + 2, 0, optlen);
        off += 2 + optlen;
    }
    return true;
}

// Linux ipv6_rearrange_rthdr: a routing header (type 0/2 address list) still in transit is authenticated
// in the form it will have at the final destination. Segments left 0 (the usual case at the receiver):
// unchanged. Other types are authenticated as received.
bool rearrange_routing_header(uint8_t* ip, uint8_t* rh, size_t hlen) {
    const uint8_t type = rh[2];
    const size_t segments_left = rh[3];
    if (segments_left == 0 || (type != 0 && type != 2)) return true;
    const size_t segments = rh[1] / 2;
    if (segments == 0 || segments_left > segments || 8 + segments * 16 > hlen) return false;
    uint8_t* addrs = rh + 8;
    uint8_t final_addr[16];
    std::memcpy(final_addr, addrs + (segments - 1) * 16, 16);
    uint8_t* first = addrs + (segments - segments_left) * 16;
    std::memmove(first + 16, first, (segments_left - 1) * 16);
    std::memcpy(first, ip + 24, 16);
    std::memcpy(ip + 24, final_addr, 16);
    rh[3] = 0;
    return true;
}

bool clear_ipv6_mutable(uint8_t* ip, size_t ah_rel) {
    ip[0] &= 0xF0;              // traffic class (high nibble) ...
    ip[1] = ip[2] = ip[3] = 0;  // ... traffic class (low nibble) and flow label
    ip[7] = 0;                  // hop limit
    uint8_t next = ip[6];
    size_t off = 40;
    while (off < ah_rel) {
        if (off + 8 > ah_rel) return false;
        size_t hlen = 8;
        if (next == kIpv6NextHop || next == kIpv6DstOpts) {
            hlen = (size_t(ip[off + 1]) + 1) * 8;
            if (off + hlen > ah_rel || !clear_ipv6_mutable_options(ip + off, hlen)) return false;
        } else if (next == kIpv6Routing) {
            hlen = (size_t(ip[off + 1]) + 1) * 8;
            if (off + hlen > ah_rel || !rearrange_routing_header(ip, ip + off, hlen)) return false;
        } else if (next != kIpv6Fragment) {
            return false;
        }
        next = ip[off];
        off += hlen;
    }
    return off == ah_rel && next == kIpProtoAh;
}

bool clear_ip_mutable(uint8_t* ip, size_t ah_rel) {
    const uint8_t version = ip[0] >> 4;
    if (version == 4) return clear_ipv4_mutable(ip, ah_rel);
    if (version == 6 && ah_rel >= 40) return clear_ipv6_mutable(ip, ah_rel);
    return false;
}

// Where the header to process sits; the datagram ends at `end` (Ethernet padding after it is ignored).
struct Datagram {
    uint8_t* buf;
    size_t l3;
    size_t hdr;
    size_t end;
};

// Bytes handed to the integrity check in one piece (in buf, or assembled in the scratch buffer).
struct IcvInput {
    const uint8_t* data;
    size_t len;
};

PortionResult status_only(CryptoStatus status) {
    PortionResult r;
    r.status = status;
    return r;
}

CryptoStatus auth_failed(bool ah, bool tunnel) {
    if (ah) return tunnel ? CryptoStatus::TunnelAhAuthFailed : CryptoStatus::TransportAhAuthFailed;
    return tunnel ? CryptoStatus::TunnelEspAuthFailed : CryptoStatus::TransportEspAuthFailed;
}

// RFC 4303 2.4/2.5: pad length inside the payload, pad bytes the default 1, 2, 3, ...
bool read_trailer(const uint8_t* data, size_t data_len, PortionResult& r) {
    const uint8_t pad_len = data[data_len - 2];
    if (size_t(pad_len) + kTrailer > data_len) return false;
    const uint8_t* pad = data + data_len - kTrailer - pad_len;
    for (size_t i = 0; i < pad_len; ++i)
        if (pad[i] != uint8_t(i + 1)) return false;
    r.pad_length = pad_len;
    r.next_header = data[data_len - 1];
    r.payload_length = uint32_t(data_len - kTrailer - pad_len);
    return true;
}

}  // namespace

// ---- per-SA state ---------------------------------------------------------------------------------------

struct CryptoEngine::Workspace {
    Botan::secure_vector<uint8_t> aead;  // AEAD finish() buffer (the last partial block || tag, or the GMAC tag)
};

struct CryptoEngine::Slot {
    CamEntry entry;
    Plan plan;
    std::unique_ptr<Botan::AEAD_Mode> gcm;   // ESP AES-GCM, decryption
    std::unique_ptr<Botan::AEAD_Mode> gcm_restore;  // the same key, encryption: puts a failed packet back
    std::unique_ptr<Botan::AEAD_Mode> gmac;  // AES-GMAC as GCM encryption of nothing: the tag over the AAD
    std::unique_ptr<Botan::Cipher_Mode> cbc;
    std::unique_ptr<Botan::MessageAuthenticationCode> hmac;
    size_t gcm_granularity = 1;  // gcm->update_granularity(), asked once: process() takes its multiples
    size_t whole_gcm_updates(size_t len) const {  // without a division when it is a power of two (16)
        if ((gcm_granularity & (gcm_granularity - 1)) == 0) return len & ~(gcm_granularity - 1);
        return len - len % gcm_granularity;
    }
    uint64_t highest_seq = 0;  // T: highest authenticated 64-bit sequence number
    bool anchored = true;      // no packet authenticated since install: seq_hi is the host's value as is

    bool build_keys();
    uint64_t sequence(uint32_t seq_low) const;
    void accept(uint64_t seq64);
    void nonce(const uint8_t* iv, uint8_t* out) const;
    size_t append_seq_hi(uint8_t* out, uint64_t seq64) const;
    bool icv_matches(IcvInput in, const uint8_t* iv, const uint8_t* icv, Workspace& work);

    PortionResult esp(const Datagram& d, std::vector<uint8_t>& scratch, Workspace& work, bool tunnel);
    bool esp_open_gcm(const Datagram& d, size_t data_off, size_t data_len, uint64_t seq64, Workspace& work);
    IcvInput esp_icv_input(const Datagram& d, size_t icv_off, uint64_t seq64,
                           std::vector<uint8_t>& scratch) const;

    PortionResult ah(const Datagram& d, std::vector<uint8_t>& scratch, Workspace& work, bool tunnel);
};

// Botan's GMAC class loses its key after final() in 2.19; GCM with an empty plaintext computes the same tag
// and keeps the key schedule made here.
bool CryptoEngine::Slot::build_keys() {
    if (plan.cipher == CipherKind::Gcm) {
        gcm = Botan::AEAD_Mode::create(plan.cipher_name, Botan::DECRYPTION);
        if (!gcm) return false;
        gcm->set_key(entry.enc_key.data(), plan.cipher_key_len);
        gcm_granularity = gcm->update_granularity();
        gcm_restore = Botan::AEAD_Mode::create(plan.cipher_name, Botan::ENCRYPTION);
        if (!gcm_restore) return false;
        gcm_restore->set_key(entry.enc_key.data(), plan.cipher_key_len);
    } else if (plan.cipher == CipherKind::Cbc) {
        cbc = Botan::Cipher_Mode::create(plan.cipher_name, Botan::DECRYPTION);
        if (!cbc) return false;
        cbc->set_key(entry.enc_key.data(), plan.cipher_key_len);
    }
    if (plan.integrity == IntegrityKind::Gmac) {
        gmac = Botan::AEAD_Mode::create(plan.mac_name, Botan::ENCRYPTION);
        if (!gmac) return false;
        gmac->set_key(entry.auth_key.data(), plan.mac_key_len);
    } else if (plan.integrity == IntegrityKind::Hmac) {
        hmac = Botan::MessageAuthenticationCode::create(plan.mac_name);
        if (!hmac) return false;
        hmac->set_key(entry.auth_key.data(), plan.mac_key_len);
    }
    return true;
}

uint64_t CryptoEngine::Slot::sequence(uint32_t seq_low) const {
    if (!entry.esn) return seq_low;
    return (uint64_t(infer_seq_hi(highest_seq, anchored, seq_low)) << 32) | seq_low;
}

void CryptoEngine::Slot::accept(uint64_t seq64) {
    if (!entry.esn) return;
    if (anchored || seq64 > highest_seq) highest_seq = seq64;
    anchored = false;
}

void CryptoEngine::Slot::nonce(const uint8_t* iv, uint8_t* out) const {
    std::memcpy(out, entry.salt.data(), kSaltLen);
    std::memcpy(out + kSaltLen, iv, kGcmIv);
}

// RFC 4303 2.2.1 / RFC 4302 3.3.3.2.1: the ESN high half is authenticated after the packet, never sent.
size_t CryptoEngine::Slot::append_seq_hi(uint8_t* out, uint64_t seq64) const {
    if (!entry.esn) return 0;
    store_be32(out, uint32_t(seq64 >> 32));
    return 4;
}

// HMAC over the input, or GMAC with nonce salt || iv and the input as AAD; the first icv_len bytes compared.
bool CryptoEngine::Slot::icv_matches(IcvInput in, const uint8_t* iv, const uint8_t* icv, Workspace& work) {
    if (plan.integrity == IntegrityKind::Hmac) {
        std::array<uint8_t, kMaxMacOut> out;
        hmac->update(in.data, in.len);
        hmac->final(out.data());
        return Botan::constant_time_compare(out.data(), icv, plan.icv_len);
    }
    uint8_t n[kNonceLen];
    nonce(iv, n);
    gmac->set_associated_data(in.data, in.len);
    gmac->start(n, sizeof n);
    work.aead.clear();
    gmac->finish(work.aead, 0);
    return Botan::constant_time_compare(work.aead.data(), icv, plan.icv_len);
}

// ---- ESP ------------------------------------------------------------------------------------------------

// RFC 4106 5: AAD = SPI || seq (8 bytes) or SPI || seq_hi || seq_low (12 bytes). Decrypted in place: Botan's
// process() on whole update blocks in buf, finish() on the last partial block and the tag in the workspace.
// GCM's tag check comes last, so on a bad tag the blocks already decrypted in buf are encrypted again with
// the same nonce (CTR: the same key stream), and a failed packet stays as received.
bool CryptoEngine::Slot::esp_open_gcm(const Datagram& d, size_t data_off, size_t data_len, uint64_t seq64,
                                      Workspace& work) {
    const uint8_t* esp = d.buf + d.hdr;
    uint8_t aad[12];
    std::memcpy(aad, esp, 4);
    const size_t hi_len = append_seq_hi(aad + 4, seq64);
    std::memcpy(aad + 4 + hi_len, esp + 4, 4);

    uint8_t n[kNonceLen];
    nonce(esp + kEspHeader, n);
    uint8_t* data = d.buf + data_off;
    const size_t in_place = whole_gcm_updates(data_len);
    const size_t tail = data_len - in_place;
    gcm->set_associated_data(aad, 8 + hi_len);
    gcm->start(n, sizeof n);
    gcm->process(data, in_place);
    // resize and memcpy, not assign: a secure_vector's assign copies byte by byte through its allocator, and
    // after the last frame's finish() the size is already within a tag of this one's.
    const size_t finish_len = tail + plan.icv_len;
    work.aead.resize(finish_len);
    std::memcpy(work.aead.data(), data + in_place, finish_len);
    try {
        gcm->finish(work.aead, 0);
    } catch (const Botan::Invalid_Authentication_Tag&) {
        gcm_restore->start(n, sizeof n);
        gcm_restore->process(data, in_place);
        return false;
    }
    std::memcpy(data + in_place, work.aead.data(), tail);
    return true;
}

// HMAC (RFC 4303 2.2.1): SPI .. end of ciphertext, then seq_hi. GMAC (RFC 4543 3.3): SPI || [seq_hi] ||
// seq_low || IV || payload and trailer. Without ESN both are the bytes in buf as they are.
IcvInput CryptoEngine::Slot::esp_icv_input(const Datagram& d, size_t icv_off, uint64_t seq64,
                                           std::vector<uint8_t>& scratch) const {
    const uint8_t* esp = d.buf + d.hdr;
    const size_t covered = icv_off - d.hdr;
    if (!entry.esn) return {esp, covered};
    uint8_t* out = scratch.data();
    if (plan.integrity == IntegrityKind::Hmac) {
        std::memcpy(out, esp, covered);
        return {out, covered + append_seq_hi(out + covered, seq64)};
    }
    std::memcpy(out, esp, 4);
    append_seq_hi(out + 4, seq64);
    std::memcpy(out + 8, esp + 4, covered - 4);
    return {out, covered + 4};
}

PortionResult CryptoEngine::Slot::esp(const Datagram& d, std::vector<uint8_t>& scratch, Workspace& work,
                                      bool tunnel) {
    const size_t overhead = kEspHeader + plan.iv_len + kTrailer + plan.icv_len;
    if (d.end - d.hdr < overhead) return status_only(CryptoStatus::InvalidPacketSyntax);
    const size_t data_off = d.hdr + kEspHeader + plan.iv_len;
    const size_t data_len = d.end - plan.icv_len - data_off;
    if ((data_len & (plan.block_len - 1)) != 0) return status_only(CryptoStatus::InvalidPacketSyntax);

    PortionResult r;
    r.seq64 = sequence(load_be32(d.buf + d.hdr + 4));
    const uint8_t* iv = d.buf + d.hdr + kEspHeader;
    const size_t icv_off = data_off + data_len;
    bool authentic = true;
    if (plan.integrity == IntegrityKind::Aead)
        authentic = esp_open_gcm(d, data_off, data_len, r.seq64, work);
    else if (plan.integrity != IntegrityKind::None)
        authentic = icv_matches(esp_icv_input(d, icv_off, r.seq64, scratch), iv, d.buf + icv_off, work);
    if (!authentic) {
        r.status = auth_failed(false, tunnel);
        return r;
    }
    if (plan.cipher == CipherKind::Cbc) {
        cbc->start(iv, plan.iv_len);
        cbc->process(d.buf + data_off, data_len);
    }
    if (!read_trailer(d.buf + data_off, data_len, r)) {
        r.status = CryptoStatus::InvalidPacketSyntax;
        return r;
    }
    r.header_info_set = true;
    r.payload_offset = uint32_t(data_off);
    accept(r.seq64);
    return r;
}

// ---- AH -------------------------------------------------------------------------------------------------

// IPv4: a 4- or 8-byte aligned AH (Linux ah4 accepts both); IPv6: 8-byte aligned (RFC 4302 2.2).
bool ah_length_ok(size_t ah_len, size_t unpadded, uint8_t ip_version) {
    if (ah_len == align_up(unpadded, 8)) return true;
    return ip_version == 4 && ah_len == align_up(unpadded, 4);
}

// RFC 4302 3.3.3: ICV over the datagram with mutable fields and the ICV zeroed (in scratch, buf untouched),
// then seq_hi with ESN. GMAC (RFC 4543 4): the ICV field holds IV || tag; the IV is authenticated as sent.
PortionResult CryptoEngine::Slot::ah(const Datagram& d, std::vector<uint8_t>& scratch, Workspace& work,
                                     bool tunnel) {
    if (d.end - d.hdr < kAhFixed) return status_only(CryptoStatus::InvalidPacketSyntax);
    const uint8_t* ah = d.buf + d.hdr;
    const size_t ah_len = (size_t(ah[1]) + 2) * 4;
    const size_t unpadded = kAhFixed + plan.iv_len + plan.icv_len;
    if (!ah_length_ok(ah_len, unpadded, d.buf[d.l3] >> 4) || ah_len > d.end - d.hdr)
        return status_only(CryptoStatus::InvalidPacketSyntax);

    const size_t ah_rel = d.hdr - d.l3;
    const size_t datagram_len = d.end - d.l3;
    uint8_t* view = scratch.data();
    std::memcpy(view, d.buf + d.l3, datagram_len);
    if (!clear_ip_mutable(view, ah_rel)) return status_only(CryptoStatus::InvalidPacketSyntax);
    std::memset(view + ah_rel + kAhFixed + plan.iv_len, 0, plan.icv_len);

    PortionResult r;
    r.seq64 = sequence(load_be32(ah + 8));
    const IcvInput in{view, datagram_len + append_seq_hi(view + datagram_len, r.seq64)};
    if (!icv_matches(in, ah + kAhFixed, ah + kAhFixed + plan.iv_len, work)) {
        r.status = auth_failed(true, tunnel);
        return r;
    }
    r.next_header = ah[0];
    r.payload_offset = uint32_t(d.hdr + ah_len);
    r.payload_length = uint32_t(d.end - d.hdr - ah_len);
    accept(r.seq64);
    return r;
}

// ---- CryptoEngine ---------------------------------------------------------------------------------------

CryptoEngine::CryptoEngine(size_t entries)
    : slots_(entries), scratch_(kMaxDatagram + 4), work_(std::make_unique<Workspace>()) {
    work_->aead.reserve(kMaxDatagram);
}

CryptoEngine::~CryptoEngine() = default;

bool CryptoEngine::install(size_t index, const CamEntry& entry) {
    if (index >= slots_.size()) return false;
    slots_[index].reset();
    const auto plan = plan_for(entry);
    if (!plan) return false;
    auto slot = std::make_unique<Slot>();
    slot->entry = entry;
    slot->plan = *plan;
    slot->highest_seq = uint64_t(entry.seq_hi) << 32;
    try {
        if (!slot->build_keys()) return false;
    } catch (const Botan::Exception&) {
        return false;
    }
    slots_[index] = std::move(slot);
    return true;
}

void CryptoEngine::remove(size_t index) {
    if (index < slots_.size()) slots_[index].reset();
}

void CryptoEngine::set_seq_hi(size_t index, uint32_t seq_hi) {
    if (index >= slots_.size() || !slots_[index]) return;
    Slot& slot = *slots_[index];
    slot.entry.seq_hi = seq_hi;
    slot.highest_seq = (uint64_t(seq_hi) << 32) | (slot.highest_seq & 0xFFFF'FFFFu);
}

PortionResult CryptoEngine::process(size_t index, uint8_t* buf, size_t len, const ParseResult& p,
                                    bool tunnel_portion) {
    if (index >= slots_.size() || !slots_[index]) return status_only(CryptoStatus::GenericError);
    Slot& slot = *slots_[index];
    if (p.ipsec_proto != 0 && p.ipsec_proto != slot.entry.proto)
        return status_only(CryptoStatus::InvalidProtocol);
    const size_t end = size_t(p.l3_offset) + p.l3_length;
    if (end > len || p.l3_length > kMaxDatagram || p.ipsec_offset < p.l3_offset || p.ipsec_offset >= end)
        return status_only(CryptoStatus::InvalidPacketSyntax);
    const Datagram d{buf, p.l3_offset, p.ipsec_offset, end};
    try {
        if (slot.entry.proto == kIpProtoEsp) return slot.esp(d, scratch_, *work_, tunnel_portion);
        return slot.ah(d, scratch_, *work_, tunnel_portion);
    } catch (const Botan::Exception&) {
        return status_only(CryptoStatus::GenericError);
    }
}

}  // namespace ov2
