// Small builders for hand-made receive frames: each returns the bytes of one header plus what it wraps.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ov2::test {

using Bytes = std::vector<uint8_t>;

inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline Bytes be16(uint16_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }
inline Bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

inline void store16(Bytes& b, size_t pos, uint16_t v) {
    b.at(pos) = uint8_t(v >> 8);
    b.at(pos + 1) = uint8_t(v);
}

// Recognisable non-zero filler: start, start+1, ...
inline Bytes filler(size_t n, uint8_t start = 0x10) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(start + i);
    return b;
}

constexpr std::array<uint8_t, 4> kSrc4{192, 0, 2, 1};
constexpr std::array<uint8_t, 4> kDst4{198, 51, 100, 7};
constexpr std::array<uint8_t, 16> kSrc6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr std::array<uint8_t, 16> kDst6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextNone = 59;
constexpr uint8_t kNextDestOptions = 60;

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kTpid8021q = 0x8100;
constexpr uint16_t kTpid8021ad = 0x88A8;

inline Bytes ethernet(uint16_t ethertype, const Bytes& payload, const std::vector<uint16_t>& tpids = {}) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    uint16_t vid = 100;
    for (uint16_t tpid : tpids) b = b + be16(tpid) + be16(vid++);
    return b + be16(ethertype) + payload;
}

struct Ipv4Shape {
    Bytes options;                              // multiple of 4 bytes
    uint16_t fragment_field = 0;                // flags (MF = 0x2000) and offset in 8-byte units
    std::optional<uint16_t> total_length;       // override the correct value
    std::optional<uint8_t> ihl;                 // override the correct value
};

inline uint16_t ipv4_checksum(const Bytes& header) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < header.size(); i += 2) sum += uint32_t(header[i] << 8 | header[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return uint16_t(~sum);
}

inline Bytes ipv4(uint8_t proto, const Bytes& payload, const Ipv4Shape& shape = {}) {
    const size_t header_bytes = 20 + shape.options.size();
    const uint8_t ihl = shape.ihl.value_or(uint8_t(header_bytes / 4));
    Bytes h = {uint8_t(0x40 | (ihl & 0x0F)), 0};
    h = h + be16(shape.total_length.value_or(uint16_t(header_bytes + payload.size())));
    h = h + be16(0x1234) + be16(shape.fragment_field) + Bytes{64, proto, 0, 0};
    h = h + Bytes(kSrc4.begin(), kSrc4.end()) + Bytes(kDst4.begin(), kDst4.end()) + shape.options;
    store16(h, 10, ipv4_checksum(h));
    return h + payload;
}

inline Bytes ipv6(uint8_t next_header, const Bytes& payload, std::optional<uint16_t> payload_length = {}) {
    Bytes h = {0x60, 0, 0, 0};
    h = h + be16(payload_length.value_or(uint16_t(payload.size()))) + Bytes{next_header, 64};
    return h + Bytes(kSrc6.begin(), kSrc6.end()) + Bytes(kDst6.begin(), kDst6.end()) + payload;
}

// Hop-by-hop, routing or destination options header of `bytes` (a multiple of 8), padded with PadN.
inline Bytes ipv6_options_header(uint8_t next_header, size_t bytes = 8) {
    Bytes h(bytes, 0);
    h[0] = next_header;
    h[1] = uint8_t(bytes / 8 - 1);
    h[2] = 1;  // PadN
    h[3] = uint8_t(bytes - 4);
    return h;
}

inline Bytes ipv6_fragment_header(uint8_t next_header, uint16_t offset_units, bool more) {
    return Bytes{next_header, 0} + be16(uint16_t(offset_units << 3 | (more ? 1 : 0))) + be32(0xCAFE0001);
}

inline Bytes esp(uint32_t spi, uint32_t seq, size_t body_bytes = 32) {
    return be32(spi) + be32(seq) + filler(body_bytes);
}

// AH with an ICV of icv_bytes: Payload Len = AH length in 32-bit words minus 2 (RFC 4302).
inline Bytes ah(uint8_t next_header, uint32_t spi, uint32_t seq, size_t icv_bytes = 16) {
    const size_t ah_bytes = 12 + icv_bytes;
    return Bytes{next_header, uint8_t(ah_bytes / 4 - 2), 0, 0} + be32(spi) + be32(seq) + filler(icv_bytes, 0xA0);
}

inline Bytes udp(uint16_t src_port, uint16_t dst_port, const Bytes& payload,
                 std::optional<uint16_t> length = {}) {
    return be16(src_port) + be16(dst_port) + be16(length.value_or(uint16_t(8 + payload.size()))) + be16(0) +
           payload;
}

}  // namespace ov2::test
