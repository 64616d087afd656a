#include "timing_params.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace ov2 {

namespace {

struct ParamRef {
    const char* name;
    double TimingParams::* real = nullptr;
    uint32_t TimingParams::* count = nullptr;
    double min = 0, max = 0;  // accepted range, both ends included (docs/timing.md)
    const char* unit = "";
};

// Ranges: wide enough for any plausible device and host, narrow enough that the model neither allocates
// without bound (FIFOs, lanes, rings, buffers) nor overflows its picosecond arithmetic (clocks, rates, times).
const ParamRef kParams[] = {
    {"core_clock_mhz", &TimingParams::core_clock_mhz, nullptr, 1, 10000, "MHz"},
    {"line_rate_gbps", &TimingParams::line_rate_gbps, nullptr, 0.01, 10000, "Gb/s"},
    {"wire_overhead_bytes", nullptr, &TimingParams::wire_overhead_bytes, 0, 256, "B"},
    {"fcs_bytes", nullptr, &TimingParams::fcs_bytes, 0, 16, "B"},
    {"datapath_bytes", nullptr, &TimingParams::datapath_bytes, 1, 4096, "B/cycle"},
    {"mac_latency_cycles", nullptr, &TimingParams::mac_latency_cycles, 0, 100000, "cycles"},
    {"parser_latency_cycles", nullptr, &TimingParams::parser_latency_cycles, 2, 1024, "cycles"},
    {"cam_latency_cycles", nullptr, &TimingParams::cam_latency_cycles, 0, 100000, "cycles"},
    {"crypto_gcm_latency_cycles", nullptr, &TimingParams::crypto_gcm_latency_cycles, 0, 100000, "cycles"},
    {"crypto_gcm192_latency_cycles", nullptr, &TimingParams::crypto_gcm192_latency_cycles, 0, 100000, "cycles"},
    {"crypto_gcm256_latency_cycles", nullptr, &TimingParams::crypto_gcm256_latency_cycles, 0, 100000, "cycles"},
    {"crypto_gcm_bytes_per_cycle", nullptr, &TimingParams::crypto_gcm_bytes_per_cycle, 1, 4096, "B/cycle"},
    {"crypto_cbc_bytes_per_cycle", nullptr, &TimingParams::crypto_cbc_bytes_per_cycle, 1, 4096, "B/cycle"},
    {"crypto_hmac_bytes_per_cycle", nullptr, &TimingParams::crypto_hmac_bytes_per_cycle, 1, 4096, "B/cycle"},
    {"crypto_hmac_latency_cycles", nullptr, &TimingParams::crypto_hmac_latency_cycles, 0, 100000, "cycles"},
    {"crypto_lanes", nullptr, &TimingParams::crypto_lanes, 1, 1024, "lanes"},
    {"bus_latency_ns", &TimingParams::bus_latency_ns, nullptr, 0, 1000000, "ns"},
    {"bus_bandwidth_gbps", &TimingParams::bus_bandwidth_gbps, nullptr, 0.01, 10000, "Gb/s"},
    {"bus_max_payload_bytes", nullptr, &TimingParams::bus_max_payload_bytes, 1, 4096, "B"},
    {"mmio_latency_ns", &TimingParams::mmio_latency_ns, nullptr, 0, 1000000, "ns"},
    {"desc_prefetch", nullptr, &TimingParams::desc_prefetch, 1, 4096, "descriptors"},
    {"desc_cache_entries", nullptr, &TimingParams::desc_cache_entries, 1, 4096, "descriptors"},
    {"desc_prefetch_threshold", nullptr, &TimingParams::desc_prefetch_threshold, 1, 4096, "descriptors"},
    {"wb_batch_max", nullptr, &TimingParams::wb_batch_max, 1, 1024, "records"},
    {"wb_batch_timeout_ns", &TimingParams::wb_batch_timeout_ns, nullptr, 0, 1000000, "ns"},
    {"host_irq_latency_ns", &TimingParams::host_irq_latency_ns, nullptr, 0, 1000000, "ns"},
    {"host_per_packet_ns", &TimingParams::host_per_packet_ns, nullptr, 0, 1000000, "ns"},
    {"mac_fifo_bytes", nullptr, &TimingParams::mac_fifo_bytes, 2048, 4194304, "B"},
    {"stage_fifo_depth", nullptr, &TimingParams::stage_fifo_depth, 1, 1024, "frames"},
    {"rx_ring_entries", nullptr, &TimingParams::rx_ring_entries, 2, 65536, "descriptors"},
    {"rx_buffer_bytes", nullptr, &TimingParams::rx_buffer_bytes, 64, 65536, "B"},
    {"cpl_ring_entries", nullptr, &TimingParams::cpl_ring_entries, 2, 65536, "records"},
};

// The posted buffers live in host memory, which the model allocates whole.
constexpr uint64_t kMaxHostBufferBytes = 256ULL << 20;

// A number as a person would write it: whole numbers without a fraction or exponent, others shortest.
std::string show(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

double parse_number(const std::string& name, const std::string& value) {
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || !std::isfinite(v))
        throw std::invalid_argument("timing parameter " + name + ": '" + value +
                                    "' is not a number; expected a finite decimal number such as 250 or 2.5e2");
    return v;
}

}  // namespace

void TimingParams::refresh_clock_cache() const {
    clock_cache_mhz_ = core_clock_mhz;
    clock_cache_ps_ = uint64_t(std::llround(1e6 / core_clock_mhz));
    clock_cache_inverse_ = 1.0 / double(clock_cache_ps_ ? clock_cache_ps_ : 1);
}

uint64_t TimingParams::edges_in_by_division(uint64_t ps) const { return ps / clock_ps(); }

void TimingParams::refresh_wire_cache(uint64_t wire_bytes) const {
    wire_cache_bytes_ = wire_bytes;
    wire_cache_gbps_ = line_rate_gbps;
    wire_cache_ps_ = uint64_t(std::llround(double(wire_bytes) * 8.0 * 1000.0 / line_rate_gbps));
}

void TimingParams::set(const std::string& name, const std::string& value) {
    for (const ParamRef& p : kParams) {
        if (name != p.name) continue;
        const double v = parse_number(name, value);
        TimingParams next = *this;  // all or nothing: a refused value leaves the parameters as they were
        if (p.real) {
            next.*p.real = v;
        } else {
            if (v < 0 || v > 4294967295.0 || v != std::floor(v))
                throw std::invalid_argument("timing parameter " + name + ": '" + value +
                                            "'; expected a whole number from 0 to 4294967295");
            next.*p.count = uint32_t(v);
        }
        next.validate_each();
        *this = next;
        return;
    }
    std::string all;
    for (const ParamRef& p : kParams) all += std::string(all.empty() ? "" : ", ") + p.name;
    throw std::invalid_argument("unknown timing parameter '" + name + "'; expected one of: " + all);
}

std::vector<std::string> TimingParams::names() {
    std::vector<std::string> out;
    for (const ParamRef& p : kParams) out.emplace_back(p.name);
    return out;
}

std::vector<TimingParams::Range> TimingParams::ranges() {
    std::vector<Range> out;
    for (const ParamRef& p : kParams) out.push_back(Range{p.name, p.min, p.max, p.unit});
    return out;
}

void TimingParams::validate() const {
    validate_each();
    validate_combined();
}

void TimingParams::validate_each() const {
    auto positive = [](const char* name, double v) {
        if (!(v > 0)) throw std::invalid_argument(std::string("timing parameter ") + name + ": " + show(v) +
                                                  "; expected a value above 0");
    };
    positive("core_clock_mhz", core_clock_mhz);
    positive("line_rate_gbps", line_rate_gbps);
    positive("bus_bandwidth_gbps", bus_bandwidth_gbps);
    positive("datapath_bytes", datapath_bytes);
    positive("crypto_gcm_bytes_per_cycle", crypto_gcm_bytes_per_cycle);
    positive("crypto_cbc_bytes_per_cycle", crypto_cbc_bytes_per_cycle);
    positive("crypto_hmac_bytes_per_cycle", crypto_hmac_bytes_per_cycle);
    positive("crypto_lanes", crypto_lanes);
    positive("bus_max_payload_bytes", bus_max_payload_bytes);
    positive("stage_fifo_depth", stage_fifo_depth);
    positive("desc_prefetch", desc_prefetch);
    // Both rings keep one slot empty (head == tail means empty): a ring needs two entries to hold one.
    if (rx_ring_entries < 2 || cpl_ring_entries < 2)
        throw std::invalid_argument("timing parameters rx_ring_entries/cpl_ring_entries: " +
                                    std::to_string(std::min(rx_ring_entries, cpl_ring_entries)) +
                                    "; expected at least 2 (one slot always stays empty)");
    if (mac_fifo_bytes < 2048)
        throw std::invalid_argument("timing parameter mac_fifo_bytes: " + std::to_string(mac_fifo_bytes) +
                                    "; expected at least 2048 (one full-size frame)");
    if (rx_buffer_bytes < 64)
        throw std::invalid_argument("timing parameter rx_buffer_bytes: " + std::to_string(rx_buffer_bytes) +
                                    "; expected at least 64");
    for (const ParamRef& p : kParams)  // times: never negative
        if (p.real && p.min == 0 && !(this->*p.real >= 0))
            throw std::invalid_argument(std::string("timing parameter ") + p.name + ": " + show(this->*p.real) +
                                        "; expected 0 or more (at most " + show(p.max) + " " + p.unit + ")");
    // Every parameter within its range: one line naming the parameter, the value and the range.
    for (const ParamRef& p : kParams) {
        const double v = p.real ? this->*p.real : double(this->*p.count);
        if (v >= p.min && v <= p.max) continue;
        throw std::invalid_argument(std::string("timing parameter ") + p.name + ": " + show(v) + "; expected " +
                                    show(p.min) + " to " + show(p.max) + " " + p.unit);
    }
}

void TimingParams::validate_combined() const {
    const uint64_t buffers = uint64_t(rx_ring_entries) * rx_buffer_bytes;
    if (buffers > kMaxHostBufferBytes)
        throw std::invalid_argument("timing parameters rx_ring_entries x rx_buffer_bytes: " +
                                    std::to_string(rx_ring_entries) + " x " + std::to_string(rx_buffer_bytes) +
                                    " = " + std::to_string(buffers) + " B of receive buffers; expected at most " +
                                    std::to_string(kMaxHostBufferBytes) + " B (256 MiB)");
}

}  // namespace ov2
