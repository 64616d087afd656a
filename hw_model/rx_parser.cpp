// Receive parser (see docs/rx_parser.md for every rule and its source). Every read is bounds-checked against
// the end of the buffer or, past the IP header, against the end of the IP datagram (Ethernet padding ignored).
#include "rx_parser.h"

namespace ov2 {
namespace {

constexpr size_t kMaxBufferBytes = 65535;  // offsets in ParseResult are uint16_t
constexpr size_t kEthernetHeaderBytes = 14;
constexpr size_t kEthertypePos = 12;
constexpr size_t kVlanTagBytes = 4;
constexpr uint8_t kMaxVlanTags = 2;
constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86DD;
constexpr uint16_t kTpidCustomerTag = 0x8100;  // 802.1Q
constexpr uint16_t kTpidServiceTag = 0x88A8;   // 802.1ad

constexpr size_t kIpv4MinHeaderBytes = 20;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4FragmentOffsetMask = 0x1FFF;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kIpv6FragmentHeaderBytes = 8;
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestinationOptions = 60;
constexpr uint8_t kIpProtoUdp = 17;

constexpr size_t kUdpHeaderBytes = 8;
constexpr size_t kEspHeaderBytes = 8;   // SPI + sequence number
constexpr size_t kAhFixedBytes = 12;    // next header, payload len, reserved, SPI, sequence number
constexpr uint8_t kNatKeepalive = 0xFF;

uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t load32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// [pos, pos + n) lies inside [0, end); written so that nothing can overflow.
bool fits(size_t pos, size_t n, size_t end) { return pos <= end && n <= end - pos; }

void fail(ParseResult& r, const char* why) {
    r.kind = L4Kind::Malformed;
    r.error = why;
}

// A later fragment carries no headers to parse, but its protocol says whether the reassembled datagram is
// AH/ESP: kept in ipsec_proto so the stack model knows it is IPsec (the NIC leaves fragments alone).
void note_fragment_protocol(uint8_t proto, size_t proto_byte, ParseResult& r) {
    r.kind = L4Kind::NotIpsec;
    r.next_header_offset = uint16_t(proto_byte);
    if (proto == kIpProtoEsp || proto == kIpProtoAh) r.ipsec_proto = proto;
}

// A fixed header cut by the end of the datagram. In a first fragment the rest travels in a later fragment,
// so that is not an error: the packet is just not classifiable here.
void cut(ParseResult& r, const char* why) {
    if (r.fragment)
        r.kind = L4Kind::NotIpsec;
    else
        fail(r, why);
}

const char* buffer_problem(const uint8_t* buf, size_t len) {
    if (buf == nullptr && len > 0) return "null buffer";  // an empty frame is just too short, whatever its pointer
    if (len > kMaxBufferBytes) return "buffer longer than 65535 bytes";
    return nullptr;
}

// The walk being logged: where its offsets go, and whether it is the walk of a datagram (or buffer) longer
// than the frame, which stops where the frame no longer holds a step's bytes (HeaderWalk::length_bad).
struct Walk {
    HeaderWalk* log = nullptr;
    size_t frame_len = 0;
    bool beyond_frame = false;
};

// One header step at `pos` (docs/timing.md, parser contract). False when a walk beyond the frame reaches
// bytes the frame does not hold: it stops there.
bool step(Walk* w, ParseResult& r, size_t pos) {
    if (w && w->beyond_frame && pos + kWalkStepBytes > w->frame_len) return false;
    ++r.header_steps;
    if (w && w->log) w->log->offsets.push_back(uint32_t(pos));
    return true;
}

// The result of a frame whose buffer or IP datagram is longer than the frame does not depend on the walk,
// but the hardware walks the headers while the frame streams in: `rest` continues the walk on a scratch
// result, for the log and the step count only.
template <typename Rest>
void walk_beyond_frame(Walk* w, ParseResult& r, const Rest& rest) {
    if (w == nullptr || w->log == nullptr) return;
    w->log->length_bad = true;
    ParseResult scratch = r;
    Walk beyond = *w;
    beyond.beyond_frame = true;
    rest(scratch, &beyond);
    r.header_steps = scratch.header_steps;
}

// The part of an IP datagram after a header, and the byte that names what comes next.
struct Payload {
    size_t begin;
    size_t end;
    uint8_t proto;
    size_t proto_byte;
};

void set_esp(ParseResult& r, const uint8_t* buf, size_t pos) {
    r.ipsec_offset = static_cast<uint16_t>(pos);
    r.ipsec_proto = kIpProtoEsp;
    r.spi = load32(buf + pos);
    r.seq = load32(buf + pos + 4);
}

// The SPI lies inside the datagram but the rest of the header does not: the key is known, the lengths are
// wrong. Not for first fragments, whose rest simply travels later.
bool spi_readable(size_t spi_pos, const Payload& p, const ParseResult& r) {
    return !r.fragment && fits(spi_pos, 4, p.end);
}

void classify_esp(const uint8_t* buf, const Payload& p, ParseResult& r) {
    if (!fits(p.begin, kEspHeaderBytes, p.end)) {
        if (!spi_readable(p.begin, p, r)) return cut(r, "truncated ESP header");
        r.syntax_error = "IP datagram ends inside the ESP header";
        r.ipsec_offset = static_cast<uint16_t>(p.begin);
        r.ipsec_proto = kIpProtoEsp;
        r.spi = load32(buf + p.begin);
        r.next_header_offset = static_cast<uint16_t>(p.proto_byte);
        r.kind = L4Kind::Esp;
        return;
    }
    set_esp(r, buf, p.begin);
    r.next_header_offset = static_cast<uint16_t>(p.proto_byte);
    r.kind = L4Kind::Esp;
}

void classify_ah(const uint8_t* buf, const Payload& p, ParseResult& r) {
    const uint8_t* ah = buf + p.begin;
    if (!fits(p.begin, kAhFixedBytes, p.end)) {
        if (!spi_readable(p.begin + 4, p, r)) return cut(r, "truncated AH header");
        r.syntax_error = "IP datagram ends inside the AH header";
    } else {
        const size_t ah_bytes = (size_t{ah[1]} + 2) * 4;
        if (ah_bytes < kAhFixedBytes) r.syntax_error = "AH payload length below its fixed header";
        // A first fragment may end inside the ICV; the key (SPI) is still known.
        else if (!fits(p.begin, ah_bytes, p.end) && !r.fragment) r.syntax_error = "AH length beyond the IP payload";
        r.seq = load32(ah + 8);
    }
    r.ipsec_offset = static_cast<uint16_t>(p.begin);
    r.ipsec_proto = kIpProtoAh;
    r.spi = load32(ah + 4);
    r.next_header_offset = static_cast<uint16_t>(p.proto_byte);
    r.kind = L4Kind::Ah;
}

// RFC 3948 section 2.2 / Linux xfrm4_udp_encap_rcv: keepalive, non-ESP marker, else ESP.
bool is_esp_in_udp(const uint8_t* data, size_t n) {
    const bool keepalive = n == 1 && data[0] == kNatKeepalive;
    const bool non_esp_marker = n >= 4 && load32(data) == 0;
    return !keepalive && !non_esp_marker && n >= kEspHeaderBytes;
}

void classify_udp(const uint8_t* buf, const Payload& p, ParseResult& r) {
    if (!fits(p.begin, kUdpHeaderBytes, p.end)) return cut(r, "truncated UDP header");
    const uint8_t* udp = buf + p.begin;
    if (load16(udp + 2) != kUdpEspPort) {
        r.kind = L4Kind::NotIpsec;
        return;
    }
    const size_t udp_length = load16(udp + 4);
    if (udp_length < kUdpHeaderBytes) return fail(r, "UDP length below its header");
    size_t udp_end = p.begin + udp_length;
    if (udp_end > p.end) {
        if (!r.fragment) return fail(r, "UDP length beyond the IP payload");
        udp_end = p.end;  // first fragment: classify what arrived
    }
    const size_t data = p.begin + kUdpHeaderBytes;
    r.udp_offset = static_cast<uint16_t>(p.begin);
    r.next_header_offset = static_cast<uint16_t>(p.proto_byte);
    if (!is_esp_in_udp(buf + data, udp_end - data)) {
        r.kind = L4Kind::UdpNonEsp;
        return;
    }
    set_esp(r, buf, data);
    r.kind = L4Kind::UdpEsp;
}

void classify_l4(const uint8_t* buf, const Payload& p, ParseResult& r, Walk* w) {
    if (!step(w, r, p.begin)) return;
    switch (p.proto) {
        case kIpProtoEsp: return classify_esp(buf, p, r);
        case kIpProtoAh: return classify_ah(buf, p, r);
        case kIpProtoUdp: return classify_udp(buf, p, r);
        default: r.kind = L4Kind::NotIpsec;
    }
}

// The IPv4 datagram at off, its header checked.
void ipv4_datagram(const uint8_t* buf, size_t off, size_t header_bytes, size_t total_length, ParseResult& r,
                   Walk* w) {
    const uint8_t* ip = buf + off;
    r.l3_length = static_cast<uint32_t>(total_length);
    r.ipv4_options = header_bytes > kIpv4MinHeaderBytes;
    r.src = IpAddr::v4(ip + 12);
    r.dst = IpAddr::v4(ip + 16);
    const uint16_t fragment_field = load16(ip + 6);
    const bool later_fragment = (fragment_field & kIpv4FragmentOffsetMask) != 0;
    r.fragment = later_fragment || (fragment_field & kIpv4MoreFragments) != 0;
    if (later_fragment) {
        note_fragment_protocol(ip[9], off + 9, r);
        return;
    }
    classify_l4(buf, Payload{off + header_bytes, off + total_length, ip[9], off + 9}, r, w);
}

void parse_ipv4(const uint8_t* buf, size_t len, size_t off, ParseResult& r, Walk* w) {
    if (!fits(off, kIpv4MinHeaderBytes, len)) return fail(r, "truncated IPv4 header");
    const uint8_t* ip = buf + off;
    const size_t header_bytes = size_t{ip[0] & 0x0Fu} * 4;
    const size_t total_length = load16(ip + 2);
    if (header_bytes < kIpv4MinHeaderBytes) return fail(r, "IPv4 IHL below 5");
    if (total_length < header_bytes) return fail(r, "IPv4 total length shorter than its header");
    if (!fits(off, total_length, len)) {
        walk_beyond_frame(w, r, [&](ParseResult& s, Walk* b) { ipv4_datagram(buf, off, header_bytes, total_length, s, b); });
        return fail(r, "IPv4 total length beyond the buffer");
    }
    ipv4_datagram(buf, off, header_bytes, total_length, r, w);
}

// Hop-by-hop, routing, destination options: (HdrExtLen + 1) * 8 bytes. False when the walk stops.
bool skip_options_header(const uint8_t* buf, Payload& p, ParseResult& r) {
    if (!fits(p.begin, 2, p.end)) {
        cut(r, "truncated IPv6 extension header");
        return false;
    }
    const size_t header_bytes = (size_t{buf[p.begin + 1]} + 1) * 8;
    if (!fits(p.begin, header_bytes, p.end)) {
        cut(r, "IPv6 extension header length beyond the payload");
        return false;
    }
    p.proto = buf[p.begin];
    p.proto_byte = p.begin;
    p.begin += header_bytes;
    return true;
}

bool skip_fragment_header(const uint8_t* buf, Payload& p, ParseResult& r) {
    if (!fits(p.begin, kIpv6FragmentHeaderBytes, p.end)) {
        cut(r, "truncated IPv6 fragment header");
        return false;
    }
    const uint16_t offset_and_flags = load16(buf + p.begin + 2);
    const bool later_fragment = (offset_and_flags >> 3) != 0;
    // RFC 6946: an atomic fragment (offset 0, M clear) is a whole packet.
    r.fragment = r.fragment || later_fragment || (offset_and_flags & 1) != 0;
    if (later_fragment) {
        note_fragment_protocol(buf[p.begin], p.begin, r);
        return false;
    }
    p.proto = buf[p.begin];
    p.proto_byte = p.begin;
    p.begin += kIpv6FragmentHeaderBytes;
    return true;
}

bool is_ipv6_extension(uint8_t proto) {
    return proto == kIpv6HopByHop || proto == kIpv6Routing || proto == kIpv6DestinationOptions ||
           proto == kIpv6Fragment;
}

// Each step advances by at least 8 bytes inside a bounded payload, so the walk ends.
void walk_ipv6_headers(const uint8_t* buf, Payload p, ParseResult& r, Walk* w) {
    const size_t first_header = p.begin;
    for (;;) {
        if (!is_ipv6_extension(p.proto)) return classify_l4(buf, p, r, w);
        if (!step(w, r, p.begin)) return;
        if (p.proto == kIpv6HopByHop && p.begin != first_header) {  // RFC 8200 4.1: only right after the IPv6 header
            r.kind = L4Kind::NotIpsec;
            return;
        }
        const bool walk_on =
            p.proto == kIpv6Fragment ? skip_fragment_header(buf, p, r) : skip_options_header(buf, p, r);
        if (!walk_on) return;
        r.ipv6_extension_headers = true;
    }
}

// The IPv6 datagram at off, its header checked.
void ipv6_datagram(const uint8_t* buf, size_t off, size_t total_length, ParseResult& r, Walk* w) {
    const uint8_t* ip = buf + off;
    r.l3_length = static_cast<uint32_t>(total_length);
    r.src = IpAddr::v6(ip + 8);
    r.dst = IpAddr::v6(ip + 24);
    walk_ipv6_headers(buf, Payload{off + kIpv6HeaderBytes, off + total_length, ip[6], off + 6}, r, w);
}

void parse_ipv6(const uint8_t* buf, size_t len, size_t off, ParseResult& r, Walk* w) {
    if (!fits(off, kIpv6HeaderBytes, len)) return fail(r, "truncated IPv6 header");
    const size_t payload_length = load16(buf + off + 4);
    if (payload_length == 0) return fail(r, "IPv6 payload length 0 (jumbogram) not supported");
    const size_t total_length = kIpv6HeaderBytes + payload_length;
    if (!fits(off, total_length, len)) {
        walk_beyond_frame(w, r, [&](ParseResult& s, Walk* b) { ipv6_datagram(buf, off, total_length, s, b); });
        return fail(r, "IPv6 payload length beyond the buffer");
    }
    ipv6_datagram(buf, off, total_length, r, w);
}

// expected_version: what the ethertype announced, 0 when the caller does not know.
void parse_ip_into(const uint8_t* buf, size_t len, size_t offset, uint8_t expected_version, ParseResult& r,
                   Walk* w) {
    if (offset >= len) return fail(r, "no IP header in the buffer");
    const uint8_t version = buf[offset] >> 4;
    r.l3_offset = static_cast<uint16_t>(offset);  // offset < len <= 65535
    if (expected_version != 0 && version != expected_version)
        return fail(r, "IP version does not match the ethertype");
    if (version != 4 && version != 6) return fail(r, "IP version neither 4 nor 6");
    r.ip_version = version;
    if (version == 4)
        parse_ipv4(buf, len, offset, r, w);
    else
        parse_ipv6(buf, len, offset, r, w);
}

bool is_vlan_tpid(uint16_t ethertype) { return ethertype == kTpidCustomerTag || ethertype == kTpidServiceTag; }

uint8_t ip_version_of(uint16_t ethertype) {
    if (ethertype == kEthertypeIpv4) return 4;
    if (ethertype == kEthertypeIpv6) return 6;
    return 0;
}

// parse_frame after the buffer checks. Step 1 covers everything up to the IP header's own checks.
ParseResult parse_ethernet(const uint8_t* frame, size_t len, Walk* w) {
    ParseResult r;
    r.header_steps = 1;
    if (len < kEthernetHeaderBytes) {
        fail(r, "frame shorter than the Ethernet header");
        return r;
    }
    size_t ethertype_pos = kEthertypePos;
    uint16_t ethertype = load16(frame + ethertype_pos);
    while (is_vlan_tpid(ethertype) && r.vlan_tags < kMaxVlanTags) {
        ethertype_pos += kVlanTagBytes;
        if (!fits(ethertype_pos, 2, len)) {
            fail(r, "frame shorter than its VLAN tags");
            return r;
        }
        ethertype = load16(frame + ethertype_pos);
        ++r.vlan_tags;
    }
    const uint8_t version = ip_version_of(ethertype);
    if (version != 0) parse_ip_into(frame, len, ethertype_pos + 2, version, r, w);
    return r;  // a third tag or any other ethertype: NotIp
}

}  // namespace

ParseResult parse_frame(const uint8_t* frame, size_t len, HeaderWalk* walk) {
    if (walk != nullptr) {
        walk->offsets.clear();  // keeps its capacity: no allocation per frame
        walk->length_bad = false;
    }
    Walk w{walk, len, false};
    if (const char* why = buffer_problem(frame, len)) {
        ParseResult r;
        r.header_steps = 1;
        if (frame != nullptr)  // too long: the hardware walks the headers all the same
            walk_beyond_frame(&w, r, [&](ParseResult& s, Walk* b) { s = parse_ethernet(frame, len, b); });
        fail(r, why);
        return r;
    }
    return parse_ethernet(frame, len, &w);
}

ParseResult parse_ip(const uint8_t* buf, size_t len, size_t offset) {
    ParseResult r;
    r.header_steps = 1;
    if (const char* why = buffer_problem(buf, len))
        fail(r, why);
    else
        parse_ip_into(buf, len, offset, 0, r, nullptr);
    return r;
}

}  // namespace ov2
