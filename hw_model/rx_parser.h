// Receive parser: finds the IPsec header of a frame and the lookup key (SPI, destination, protocol, IP
// version) plus the offsets the later blocks need. Pure function core; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ov2_types.h"

namespace ov2 {

// Ethernet II with up to two 802.1Q/802.1ad tags, then parse_ip(). Offsets in the result are from `frame`.
ParseResult parse_frame(const uint8_t* frame, size_t len);

// From an IPv4 or IPv6 header at buf + offset (used for the inner packet of a tunnel). Offsets are from buf.
// IPv4 options and the IPv6 extension-header walk (hop-by-hop, routing, destination options, fragment)
// are recognised and flagged; AH, ESP and ESP in UDP/4500 (non-ESP marker, NAT keepalive) are classified.
ParseResult parse_ip(const uint8_t* buf, size_t len, size_t offset);

}  // namespace ov2
