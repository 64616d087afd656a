// Receive parser: finds the IPsec header of a frame and the lookup key (SPI, destination, protocol, IP
// version) plus the offsets the later blocks need. Pure function core; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ov2_types.h"

namespace ov2 {

// The parser's header walk, for its timing (docs/timing.md, parser contract). Step 1 reads the Ethernet
// header, the tags and the IPv4/IPv6 header from the first kWalkFirstStepBytes of the frame; each further
// step reads one header (IPv6 extension header, ESP, AH, UDP or any other protocol) at most
// kWalkStepBytes from its offset.
constexpr size_t kWalkFirstStepBytes = 64;
constexpr size_t kWalkStepBytes = 16;
struct HeaderWalk {
    std::vector<uint32_t> offsets;  // frame offsets of the steps after the first, in order
    // The buffer is longer than 65535 bytes or the IP datagram longer than the frame: the result does not
    // depend on the walk, which the hardware stops when the frame has ended. `offsets` is then the walk the
    // IP header describes, as far as the frame holds kWalkStepBytes at each step.
    bool length_bad = false;
};

// Ethernet II with up to two 802.1Q/802.1ad tags, then parse_ip(). Offsets in the result are from `frame`.
// `walk` (optional): receives the header walk.
ParseResult parse_frame(const uint8_t* frame, size_t len, HeaderWalk* walk = nullptr);

// From an IPv4 or IPv6 header at buf + offset (used for the inner packet of a tunnel). Offsets are from buf.
// IPv4 options and the IPv6 extension-header walk (hop-by-hop, routing, destination options, fragment)
// are recognised and flagged; AH, ESP and ESP in UDP/4500 (non-ESP marker, NAT keepalive) are classified.
ParseResult parse_ip(const uint8_t* buf, size_t len, size_t offset);

}  // namespace ov2
