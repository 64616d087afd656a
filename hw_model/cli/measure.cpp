#include "measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/mac.h>

#include "ov2_top.h"
#include "run_output.h"
#include "run_report.h"
#include "sim_config.h"

namespace ov2 {

using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long peak_rss_kb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// Decrypt and verify each frame of the pool in turn, as the crypto engine would, with nothing else.
uint64_t botan_loop(const TrafficGenerator& gen, const TrafficSpec& spec) {
    const SecurityAssociation& sa = gen.sas().front().sec_assoc[0];
    const bool gcm = is_gcm_encryption(sa.encryption.identifier);
    const size_t key_len = sa.encryption.key.size() - (gcm ? 4 : 0);
    std::unique_ptr<Botan::AEAD_Mode> aead;
    std::unique_ptr<Botan::Cipher_Mode> cbc;
    std::unique_ptr<Botan::MessageAuthenticationCode> hmac;
    if (gcm) {
        aead = Botan::AEAD_Mode::create_or_throw(key_len == 16 ? "AES-128/GCM(16)" : "AES-256/GCM(16)",
                                                 Botan::DECRYPTION);
        aead->set_key(sa.encryption.key.data(), key_len);
    } else {
        cbc = Botan::Cipher_Mode::create_or_throw("AES-128/CBC/NoPadding", Botan::DECRYPTION);
        cbc->set_key(sa.encryption.key);
        hmac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-1)");
        hmac->set_key(sa.authentication.key);
    }
    Botan::secure_vector<uint8_t> buf;
    buf.reserve(16384);
    std::array<uint8_t, 20> tag{};
    uint64_t verified = 0;
    for (uint32_t i = 0; i < spec.frames; ++i) {
        const std::vector<uint8_t>& f = gen.pool()[i % gen.pool().size()];
        const uint8_t* esp = f.data() + TrafficGenerator::kEspOffset;
        const size_t esp_len = f.size() - TrafficGenerator::kEspOffset;
        if (gcm) {
            uint8_t nonce[12];
            std::copy(sa.encryption.key.end() - 4, sa.encryption.key.end(), nonce);
            std::copy(esp + 8, esp + 16, nonce + 4);
            aead->set_associated_data(esp, 8);
            aead->start(nonce, sizeof nonce);
            buf.assign(esp + 16, esp + esp_len);
            aead->finish(buf);  // throws on a bad tag
            ++verified;
        } else {
            hmac->update(esp, esp_len - 12);
            hmac->final(tag.data());
            if (std::equal(tag.begin(), tag.begin() + 12, esp + esp_len - 12)) {
                cbc->start(esp + 8, 16);
                buf.assign(esp + 24, esp + esp_len - 12);
                cbc->finish(buf);
                ++verified;
            }
        }
    }
    return verified;
}

}  // namespace

json measure_here(const MeasureOptions& options) {
    const TrafficSpec& spec = options.traffic;
    TrafficGenerator gen(spec);
    json r = {{"algorithm", spec.algorithm}, {"payload_bytes", spec.payload_bytes},
              {"frame_bytes", gen.frame_bytes()}, {"frames", spec.frames}, {"sas", spec.sas},
              {"offered_setting_gbps", spec.offered_gbps}};
    const auto t0 = std::chrono::steady_clock::now();
    if (options.botan_only) {
        const uint64_t verified = botan_loop(gen, spec);
        const double wall = seconds_since(t0);
        r["mode"] = "botan";
        r["verified"] = verified;
        r["wall_seconds"] = wall;
        r["frames_per_second"] = double(spec.frames) / wall;
        r["peak_rss_kb"] = peak_rss_kb();
        return r;
    }
    SimConfig config;
    config.mac.pacing = spec.offered_gbps > 0 ? Pacing::Capture : Pacing::LineRate;
    apply_settings(options.settings, config);
    apply_option("--mode", "mode", options.mode, config);
    if (!options.rtl.empty()) config.rtl = parse_rtl_option(options.rtl);
    RunOutput out{RunOutput::CountsOnly{}};
    Ov2System sys("ov2", config, gen, gen.sas(), &out);
    const double build_wall = seconds_since(t0);
    sys.run();
    const double wall = seconds_since(t0);
    const RunCounts& c = out.counts();
    const MacStats& mac = sys.mac_stats();
    const uint64_t span_ps = std::max<uint64_t>(c.last_indication_ps, 1) - std::min(mac.first_bit_ps, c.last_indication_ps);
    const uint64_t wire_span_ps = std::max<uint64_t>(mac.last_bit_ps - mac.first_bit_ps, 1);
    // The traffic's span, from the first frame's first bit: the driver's set-up before it (1024 SAs over MMIO
    // take ~1.5 ms) is neither traffic nor cycles anyone wants to count.
    const double sim_ps = double(std::max(c.last_indication_ps, mac.last_bit_ps) - mac.first_bit_ps);
    const double lanes_ps = double(config.timing.crypto_lanes) * sim_ps;
    r["mode"] = "model";
    r["timing_mode"] = timing_mode_name(config.mode);
    r["settings"] = options.settings;
    r["rtl"] = options.rtl;
    if (const std::string bad = rtl_disagreements(sys); !bad.empty()) throw std::runtime_error(bad);
    r["wall_seconds"] = wall;
    r["build_wall_seconds"] = build_wall;  // part of wall_seconds: the model's construction, before sc_start
    r["frames_per_second"] = double(spec.frames) / wall;
    r["simulated_us"] = sim_ps / 1e6;
    r["simulated_cycles"] = sim_ps / config.timing.clock_ps();
    r["cycles_per_second"] = sim_ps / config.timing.clock_ps() / wall;
    r["indicated"] = c.indicated;
    r["crypto_success"] = c.status[0];
    r["rx_missed"] = mac.rx_missed;
    r["offered_gbps"] = double(mac.rx_bytes) * 8 * 1000 / double(wire_span_ps);
    r["achieved_gbps"] = double(c.indicated_bytes) * 8 * 1000 / double(span_ps);
    r["latency_p50_ns"] = c.latency_percentile_ns(0.50);
    r["latency_p99_ns"] = c.latency_percentile_ns(0.99);
    r["latency_max_ns"] = double(c.latency_max_ps) / 1000;
    // the device's part: last bit on the wire -> done byte of the completion written
    r["completion_latency_p50_ns"] = c.completion_latency_percentile_ns(0.50);
    r["completion_latency_p99_ns"] = c.completion_latency_percentile_ns(0.99);
    r["completion_latency_max_ns"] = double(c.completion_latency_max_ps) / 1000;
    r["crypto_utilisation"] = lanes_ps > 0 ? double(sys.crypto_busy_ps()) / lanes_ps : 0.0;
    r["bus_utilisation"] = sim_ps > 0 ? double(sys.bus_stats().link_busy_ps) / sim_ps : 0.0;
    r["mac_fifo_high_water_bytes"] = mac.fifo_high_water_bytes;
    r["peak_rss_kb"] = peak_rss_kb();
    return r;
}

std::vector<std::string> measure_arguments(const MeasureOptions& o) {
    std::vector<std::string> args = {"measure", "--algorithm", o.traffic.algorithm,
                                     "--payload", std::to_string(o.traffic.payload_bytes),
                                     "--frames", std::to_string(o.traffic.frames),
                                     "--sas", std::to_string(o.traffic.sas),
                                     "--offered", std::to_string(o.traffic.offered_gbps)};
    for (const std::string& s : o.settings) {
        args.push_back("--set");
        args.push_back(s);
    }
    if (o.botan_only) args.push_back("--botan-only");
    else args.insert(args.end(), {"--mode", o.mode});
    if (!o.rtl.empty()) {
        args.push_back("--rtl");
        args.push_back(o.rtl);
    }
    return args;
}

json measure_child(const MeasureOptions& options) {
    std::string exe = options.executable;
    if (exe.empty()) {  // the CLI measures through itself; anything else must name the ov2sim binary
        char self[4096] = {};
        const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) throw std::runtime_error("cannot find the ov2sim executable (/proc/self/exe)");
        exe.assign(self, size_t(n));
    }
    std::string command = "'" + exe + "'";
    for (const std::string& a : measure_arguments(options)) command += " '" + a + "'";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot start: " + command);
    std::string output;
    char buf[4096];
    while (size_t got = fread(buf, 1, sizeof buf, pipe)) output.append(buf, got);
    const int status = pclose(pipe);
    if (status != 0 || output.empty()) throw std::runtime_error("measurement failed: " + command);
    return json::parse(output);
}

}  // namespace ov2
