#include "timing_params.h"

#include <cmath>
#include <stdexcept>
#include <string_view>

namespace ov2 {

namespace {

struct ParamRef {
    const char* name;
    double TimingParams::* real = nullptr;
    uint32_t TimingParams::* count = nullptr;
};

const ParamRef kParams[] = {
    {"core_clock_mhz", &TimingParams::core_clock_mhz},
    {"line_rate_gbps", &TimingParams::line_rate_gbps},
    {"wire_overhead_bytes", nullptr, &TimingParams::wire_overhead_bytes},
    {"fcs_bytes", nullptr, &TimingParams::fcs_bytes},
    {"datapath_bytes", nullptr, &TimingParams::datapath_bytes},
    {"mac_latency_cycles", nullptr, &TimingParams::mac_latency_cycles},
    {"parser_latency_cycles", nullptr, &TimingParams::parser_latency_cycles},
    {"cam_latency_cycles", nullptr, &TimingParams::cam_latency_cycles},
    {"crypto_gcm_latency_cycles", nullptr, &TimingParams::crypto_gcm_latency_cycles},
    {"crypto_gcm_bytes_per_cycle", nullptr, &TimingParams::crypto_gcm_bytes_per_cycle},
    {"crypto_cbc_bytes_per_cycle", nullptr, &TimingParams::crypto_cbc_bytes_per_cycle},
    {"crypto_hmac_bytes_per_cycle", nullptr, &TimingParams::crypto_hmac_bytes_per_cycle},
    {"crypto_hmac_latency_cycles", nullptr, &TimingParams::crypto_hmac_latency_cycles},
    {"crypto_lanes", nullptr, &TimingParams::crypto_lanes},
    {"bus_latency_ns", &TimingParams::bus_latency_ns},
    {"bus_bandwidth_gbps", &TimingParams::bus_bandwidth_gbps},
    {"bus_max_payload_bytes", nullptr, &TimingParams::bus_max_payload_bytes},
    {"mmio_latency_ns", &TimingParams::mmio_latency_ns},
    {"desc_prefetch", nullptr, &TimingParams::desc_prefetch},
    {"host_irq_latency_ns", &TimingParams::host_irq_latency_ns},
    {"host_per_packet_ns", &TimingParams::host_per_packet_ns},
    {"mac_fifo_bytes", nullptr, &TimingParams::mac_fifo_bytes},
    {"stage_fifo_depth", nullptr, &TimingParams::stage_fifo_depth},
    {"rx_ring_entries", nullptr, &TimingParams::rx_ring_entries},
    {"rx_buffer_bytes", nullptr, &TimingParams::rx_buffer_bytes},
    {"cpl_ring_entries", nullptr, &TimingParams::cpl_ring_entries},
};

double parse_number(const std::string& name, const std::string& value) {
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || !std::isfinite(v))
        throw std::invalid_argument("timing parameter " + name + ": '" + value + "' is not a number");
    return v;
}

}  // namespace

uint64_t TimingParams::wire_time_ps(uint32_t bytes, bool has_fcs) const {
    const double wire_bytes = double(bytes) + (has_fcs ? 0 : fcs_bytes) + wire_overhead_bytes;
    return uint64_t(std::llround(wire_bytes * 8.0 * 1000.0 / line_rate_gbps));
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
        next.validate();
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

void TimingParams::validate() const {
    auto positive = [](const char* name, double v) {
        if (!(v > 0)) throw std::invalid_argument(std::string("timing parameter ") + name + ": " +
                                                  std::to_string(v) + "; expected a value above 0");
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
    if (bus_latency_ns < 0 || mmio_latency_ns < 0 || host_irq_latency_ns < 0 || host_per_packet_ns < 0)
        throw std::invalid_argument("timing parameters *_ns: expected values of 0 or more");
}

}  // namespace ov2
