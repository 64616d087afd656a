// Core clock edges for the co-simulated RTL blocks (docs/rtl.md, "Swap-in"): edge k is at k * period. A
// SystemC action at time t acts on the first edge at or after t; an edge is settled (no more inputs can come
// for it) once the simulated time is past it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace ov2 {

struct EdgeClock {
    double period_ps = 1;

    uint64_t at_or_after(uint64_t ps) const { return uint64_t(std::ceil(double(ps) / period_ps)); }
    // The first whole picosecond at or after edge k (the edge itself with an integer period).
    uint64_t ps(uint64_t edge) const { return uint64_t(std::ceil(double(edge) * period_ps)); }
    bool settled(uint64_t edge, uint64_t now_ps) const { return double(now_ps) > double(edge) * period_ps; }
    // The first whole picosecond at which `edge` is settled.
    uint64_t settle_ps(uint64_t edge) const { return uint64_t(std::floor(double(edge) * period_ps)) + 1; }
};

// The harness classes a bridge holds by pointer (rtl/harness/rtl_dut.h, included by the bridges' .cpp only).
namespace rtl {
template <typename Model>
class Dut;
class HandshakeChecker;
}  // namespace rtl

// What a bridge found: counted disagreements between the RTL and the SystemC model, the first one in words.
struct RtlBridgeStats {
    uint64_t edges = 0;          // edges the Verilated model was clocked on
    uint64_t transfers = 0;      // lookups or records through the RTL
    uint64_t mismatches = 0;     // disagreements (RTL vs model, protocol rules)
    uint64_t delayed_inputs = 0; // inputs that found their port busy on their edge and took the next one
    std::string first_mismatch;  // "edge N: signal expected X, RTL Y"
};

}  // namespace ov2
