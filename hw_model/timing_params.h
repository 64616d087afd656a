// Every timing constant of the model, in one place: a named parameter with its unit and one line of doc.
// Defaults come from ../shared/design-targets.md; docs/timing.md gives the reasons. Overridable from the
// command line (`--set NAME=VALUE`) and from a JSON config file (`--config FILE`, {"timing": {...}}).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ov2 {

struct TimingParams {
    // ---- clocks and wire ----
    double core_clock_mhz = 322.0;        // MHz: core clock of the device pipeline (100G MAC user clock)
    double line_rate_gbps = 100.0;        // Gb/s: wire rate at which the MAC receives frames
    uint32_t wire_overhead_bytes = 20;    // B: preamble + SFD (8) and inter-frame gap (12) per frame
    uint32_t fcs_bytes = 4;               // B: FCS on the wire, added when the capture has no FCS
    uint32_t datapath_bytes = 64;         // B/cycle: width of the streaming datapath between blocks
    // ---- blocks ----
    uint32_t mac_latency_cycles = 2;      // cycles: last byte in to frame available to the parser
    uint32_t parser_latency_cycles = 2;   // cycles: last beat taken and header walk done to lookup key valid
    uint32_t cam_latency_cycles = 3;      // cycles: lookup key in to CAM hit/miss out (one lookup a cycle)
    uint32_t crypto_gcm_latency_cycles = 18;  // cycles: AES-GCM/GMAC pipeline depth, 128-bit key (10 rounds + GHASH + tag)
    uint32_t crypto_gcm192_latency_cycles = 22; // cycles: the same with a 192-bit key (12 rounds)
    uint32_t crypto_gcm256_latency_cycles = 26; // cycles: the same with a 256-bit key (14 rounds)
    uint32_t crypto_gcm_bytes_per_cycle = 16; // B/cycle: one AES-GCM/GMAC lane's throughput
    uint32_t crypto_cbc_bytes_per_cycle = 16; // B/cycle: CBC decryption lane (parallel across blocks)
    uint32_t crypto_hmac_bytes_per_cycle = 1; // B/cycle: HMAC engine (serial: one round a cycle)
    uint32_t crypto_hmac_latency_cycles = 80; // cycles: HMAC finalisation (outer hash) after the last block
    uint32_t crypto_lanes = 4;            // count: parallel crypto lanes, each takes one packet at a time
    // ---- host link and writeback ----
    double bus_latency_ns = 250.0;        // ns: one posted write or read request to completion
    double bus_bandwidth_gbps = 113.0;    // Gb/s: usable link bandwidth (PCIe Gen3 x16 after TLP overhead)
    uint32_t bus_max_payload_bytes = 256; // B: largest single bus write (PCIe max payload size)
    double mmio_latency_ns = 500.0;       // ns: a driver register write or read (uncached MMIO round trip)
    uint32_t desc_prefetch = 64;          // descriptors: most posted-buffer descriptors fetched in one DMA read
    uint32_t desc_cache_entries = 128;    // descriptors: on-chip cache of fetched descriptors (limits each read)
    uint32_t desc_prefetch_threshold = 64;  // descriptors: a background read starts when the cache holds fewer
    uint32_t wb_batch_max = 8;            // records: most completion records written back together (one batch)
    double wb_batch_timeout_ns = 100.0;   // ns: longest a completion record waits for others to join its batch
    // ---- host ----
    double host_irq_latency_ns = 1000.0;  // ns: completion written to the driver's handler running
    double host_per_packet_ns = 5.0;      // ns: miniport + stack time per packet, aggregate over the cores RSS
                                          //    spreads receive over (default: the host keeps up with 100 GbE)
    // ---- queues ----
    uint32_t mac_fifo_bytes = 262144;     // B: receive packet buffer behind the MAC; a frame that does not fit
                                          //    when it arrives is dropped (rx_missed)
    uint32_t stage_fifo_depth = 8;        // frames: FIFO between two pipeline stages
    uint32_t rx_ring_entries = 1024;      // descriptors: posted receive buffers
    uint32_t rx_buffer_bytes = 16384;     // B: size of each posted receive buffer
    uint32_t cpl_ring_entries = 1024;     // records: completion ring

    // ps: the core clock period, rounded to a whole picosecond (322 MHz -> 3106 ps) so that every clock edge
    // lies on the simulator's 1 ps grid: edge k is at k * clock_ps().
    uint64_t clock_ps() const {  // cached: the cycle mode asks for it about 16 times a frame
        if (!(core_clock_mhz == clock_cache_mhz_)) refresh_clock_cache();
        return clock_cache_ps_;
    }
    // floor(ps / clock_ps()), the edges up to `ps`: every edge rounding needs it, several times a frame, and a
    // 64-bit division is slow. Below 2^48 ps (78 hours) the product with the rounded inverse is within far
    // less than one of the quotient, so one correction step makes it exact. The conversions go through
    // int64_t (exact there too): the unsigned ones take several instructions each on x86-64.
    uint64_t edges_in(uint64_t ps) const {
        const uint64_t c = clock_ps();
        if (ps >= (uint64_t(1) << 48) || c == 0) return edges_in_by_division(ps);
        uint64_t q = uint64_t(int64_t(double(int64_t(ps)) * clock_cache_inverse_));
        if (q * c > ps) --q;
        else if (ps - q * c >= c) ++q;
        return q;
    }
    uint64_t cycles_ps(uint64_t cycles) const { return cycles * clock_ps(); }
    // The first core clock edge at or after `ps`.
    uint64_t edge_at_or_after(uint64_t ps) const { return edges_in(ps + clock_ps() - 1) * clock_ps(); }
    // A posted write holds its writer until the last edge before the link is free (never before `now`): the
    // bus interface takes the next write while this one's last bytes are on the link.
    uint64_t writer_release_ps(uint64_t now, uint64_t link_free_ps) const {
        const uint64_t edge = edges_in(link_free_ps) * clock_ps();
        return edge > now ? edge : now;
    }
    // The time conversions every timing mode uses, each in one place so that a rounding rule changes once.
    // Device-to-host link time of `bytes` (truncates).
    uint64_t bus_transfer_ps(uint64_t bytes) const { return uint64_t(double(bytes) * 8.0 * 1000.0 / bus_bandwidth_gbps); }
    uint64_t bus_latency_ps() const { return uint64_t(bus_latency_ns * 1000.0); }                // truncates
    uint64_t wb_batch_timeout_ps() const { return uint64_t(wb_batch_timeout_ns * 1000.0); }      // truncates
    // Host-side delays are SystemC waits of sc_time(ns * 1000, SC_PS), which round to the nearest ps.
    static uint64_t host_ns_to_ps(double ns) { return uint64_t(ns * 1000.0 + 0.5); }
    uint64_t host_irq_latency_ps() const { return host_ns_to_ps(host_irq_latency_ns); }
    uint64_t host_per_packet_ps() const { return host_ns_to_ps(host_per_packet_ns); }
    uint64_t mmio_latency_ps() const { return host_ns_to_ps(mmio_latency_ns); }
    // Last bit on the wire to the frame available to the parser: the wire is not on the core clock, the
    // frame is the MAC's from the next edge on.
    uint64_t mac_ready_ps(uint64_t wire_end_ps) const {
        return edge_at_or_after(wire_end_ps) + cycles_ps(mac_latency_cycles);
    }
    // Time the wire needs for a frame of `bytes` (without FCS) at line rate, in picoseconds. Kept for the last
    // length asked: frames back to back mostly share one, and the rounding costs more than the rest of a
    // frame's placing.
    uint64_t wire_time_ps(uint32_t bytes, bool has_fcs) const {
        const uint64_t wire_bytes = uint64_t(bytes) + (has_fcs ? 0 : fcs_bytes) + wire_overhead_bytes;
        if (wire_bytes != wire_cache_bytes_ || !(line_rate_gbps == wire_cache_gbps_)) refresh_wire_cache(wire_bytes);
        return wire_cache_ps_;
    }

    // Sets one parameter by name; throws std::invalid_argument naming the parameter and the expected range.
    void set(const std::string& name, const std::string& value);
    static std::vector<std::string> names();
    // Throws std::invalid_argument for impossible values (zero clock, ...), for values outside the
    // parameter's range (ranges(): docs/timing.md), naming the parameter, the value and the range, and for
    // combinations too large (validate_combined).
    void validate() const;
    // The checks of one parameter at a time: set() runs these, so that settings that only fit together
    // (rx_ring_entries and rx_buffer_bytes) can be given in any order; the combination is checked after the
    // last one (apply_settings, load_sim_config) and again when the model is built.
    void validate_each() const;
    void validate_combined() const;

    // The rare paths of clock_ps() and edges_in(), out of line: inlined, they made every function that
    // rounds a time to an edge several hundred bytes longer (instruction-cache misses in the fast mode).
    [[gnu::noinline, gnu::cold]] void refresh_clock_cache() const;
    [[gnu::noinline, gnu::cold]] uint64_t edges_in_by_division(uint64_t ps) const;
    [[gnu::noinline]] void refresh_wire_cache(uint64_t wire_bytes) const;

    // clock_ps()'s cache, valid while core_clock_mhz equals clock_cache_mhz_ (NaN: never computed).
    mutable double clock_cache_mhz_ = std::nan("");
    mutable uint64_t clock_cache_ps_ = 0;
    mutable double clock_cache_inverse_ = 0;
    // wire_time_ps()'s cache: the time of wire_cache_bytes_ on the wire at wire_cache_gbps_ (NaN: none yet).
    mutable uint64_t wire_cache_bytes_ = 0;
    mutable double wire_cache_gbps_ = std::nan("");
    mutable uint64_t wire_cache_ps_ = 0;

    struct Range {
        std::string name;
        double min, max;
        std::string unit;
    };
    static std::vector<Range> ranges();  // the accepted range of every parameter, in names() order
};

}  // namespace ov2
