// Test-side helpers for the crypto engine: hex, a small IPv4/IPv6 header walk (independent of rx_parser),
// SA (CamEntry) builders and a Botan-based sender (ESP encapsulation, AH ICV) to make vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto_engine.h"
#include "ov2_types.h"

namespace ov2::test {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(std::string_view hex);
std::string to_hex(const uint8_t* p, size_t n);
inline std::string to_hex(const Bytes& b) { return to_hex(b.data(), b.size()); }
void put_be16(uint8_t* p, uint16_t v);
void put_be32(uint8_t* p, uint32_t v);
Bytes concat(std::initializer_list<Bytes> parts);

// Finds AH/ESP (or ESP in UDP/4500) after an IPv4 header or an IPv6 header and its extension headers.
// kind is Malformed when the walk fails; offsets are from the start of pkt (the IP header at l3_offset).
ParseResult walk_ip(const Bytes& pkt, size_t l3_offset = 0);
// Header length of an IP packet up to its upper-layer payload (IPv4 IHL, IPv6 + extension headers).
size_t ip_header_length(const Bytes& pkt);

// ---- SAs ------------------------------------------------------------------------------------------------

// Botan names and sizes the test side uses to build packets (kept apart from the engine's own tables).
struct CipherInfo {
    std::string botan;  // "" for NULL encryption
    size_t key_len = 0;
    size_t iv_len = 0;
    size_t block_len = 1;
    bool gcm = false;
};
CipherInfo cipher_info(uint32_t enc_alg, uint8_t icv_len);
struct AuthInfo {
    std::string botan;  // "" for none / AEAD
    size_t key_len = 0;
    size_t icv_len = 0;
    bool gmac = false;
};
AuthInfo auth_info(uint32_t auth_alg);

// A valid entry with deterministic keys; icv_len 0 = the algorithm's own (GCM: 16).
CamEntry make_entry(uint8_t proto, uint32_t enc_alg, uint32_t auth_alg, uint8_t icv_len = 0, bool esn = false,
                    uint32_t seq_hi = 0);
std::string entry_name(const CamEntry& e);

// ---- sender ---------------------------------------------------------------------------------------------

struct EspBuild {
    EspBuild() = default;
    explicit EspBuild(Bytes p, uint8_t nh = 4, uint64_t seq = 1)
        : payload(std::move(p)), next_header(nh), seq64(seq) {}
    Bytes payload;
    uint8_t next_header = 4;
    uint64_t seq64 = 1;
    std::optional<Bytes> padding;       // replaces the default 1, 2, 3, ... padding
    std::optional<uint8_t> pad_length;  // replaces the pad-length byte
    uint8_t iv_seed = 0x40;
};
// SPI .. ICV, encrypted and authenticated with Botan as an RFC 4303/4106/4543 sender would.
Bytes esp_encapsulate(const CamEntry& e, const EspBuild& b);

// Plain IP headers; checksum computed for IPv4. mutable fields (TOS, TTL, flags) zero unless set later.
Bytes ipv4_packet(uint8_t proto, const Bytes& payload, const Bytes& options = {});
Bytes ipv6_packet(uint8_t next_header, const Bytes& payload);  // payload may start with extension headers
void fix_ipv4_checksum(Bytes& pkt, size_t l3 = 0);
// What routers may do to the mutable fields: new TOS, DF flag, TTL (checksum fixed); IPv6 traffic class,
// flow label and hop limit.
void transit_ipv4(Bytes& pkt, size_t l3 = 0);
void transit_ipv6(Bytes& pkt, size_t l3 = 0);

// AH header with a zero ICV (and the GMAC IV), padded to `align` (4 for IPv4, 8 for IPv6).
Bytes ah_header(const CamEntry& e, uint8_t next_header, uint64_t seq64, size_t align);
size_t ah_icv_offset(const CamEntry& e);  // from the start of the AH header
// Computes the AH ICV over `icv_view` (the datagram as the receiver must reconstruct it: mutable fields
// and ICV zero) and writes it into `wire` at the same AH offset.
void sign_ah(const CamEntry& e, const Bytes& icv_view, size_t ah_offset, uint64_t seq64, Bytes& wire);

// Runs the engine on a copy of pkt (ParseResult from walk_ip) in slot 0 of a fresh engine.
struct RunResult {
    PortionResult r;
    Bytes buf;
};
RunResult run_once(const CamEntry& e, const Bytes& pkt, bool tunnel = false);

}  // namespace ov2::test
