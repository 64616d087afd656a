// `ov2sim bench` and `ov2sim sweep`: each configuration measured in its own process (measure.h).
#include "bench_sweep.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "input_error.h"
#include "sim_config.h"

namespace ov2 {

using nlohmann::json;

namespace {

MeasureOptions gcm128(uint32_t payload, uint32_t frames, const char* mode) {
    MeasureOptions o;
    o.traffic.algorithm = "aes-gcm-128";
    o.traffic.payload_bytes = payload;
    o.traffic.frames = frames;
    o.botan_only = std::string(mode) == "botan";
    if (!o.botan_only) o.mode = mode;
    return o;
}

double fps(const json& r) { return r["frames_per_second"].get<double>(); }

// One payload size: Botan alone, the fast mode against it (the ratio the issue sets a target for), and
// the cycle mode's speed in frames and simulated cycles per second.
void bench_case(const char* name, uint32_t payload, uint32_t frames, double target, json& cycle_out) {
    const json botan = measure_child(gcm128(payload, frames, "botan"));
    const json fast = measure_child(gcm128(payload, frames, "fast"));
    const json cycle = measure_child(gcm128(payload, frames, "cycle"));
    std::cout << fmt::format("  {:<16}{:>9}{:>13.0f}{:>13.0f}{:>8.2f} (target {:.1f}){:>13.0f}{:>13.0f}{:>9.1f}\n",
                             name, frames, fps(botan), fps(fast), fps(fast) / fps(botan), target, fps(cycle),
                             cycle["cycles_per_second"].get<double>(), cycle["peak_rss_kb"].get<double>() / 1024);
    cycle_out = cycle;
}

std::vector<std::string> split_values(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string v; std::getline(in, v, ',');)
        if (!v.empty()) out.push_back(v);
    return out;
}

uint32_t to_u32(const std::string& name, const std::string& v) {
    try {
        size_t used = 0;
        const unsigned long n = std::stoul(v, &used);
        if (used == v.size() && n <= 0xFFFFFFFFul) return uint32_t(n);
    } catch (const std::exception&) {
    }
    throw InputError("--values", name, "'" + v + "' is not a whole number", "e.g. 64,128,1500");
}

// A traffic parameter changes the generated frames; anything else is a model setting (--set NAME=VALUE).
MeasureOptions point(const SweepOptions& s, const std::string& value) {
    MeasureOptions o;
    o.traffic = s.traffic;
    o.settings = s.settings;
    o.mode = s.mode;
    if (s.param == "payload_bytes") o.traffic.payload_bytes = to_u32(s.param, value);
    else if (s.param == "sas") o.traffic.sas = to_u32(s.param, value);
    else if (s.param == "offered_gbps") o.traffic.offered_gbps = std::stod(value);
    else o.settings.push_back(s.param + "=" + value);
    return o;
}

void write_plots(const std::filesystem::path& dir, const SweepOptions& s) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::cerr << "ov2sim: note: gnuplot not found: sweep.csv written, no plots\n";
        return;
    }
    const std::string csv = (dir / "sweep.csv").string();
    const std::string x = s.param;
    std::ofstream gp(dir / "plots.gp");
    gp << "set datafile separator ','\nset key outside bottom center horizontal\nset grid\n"
       << "set terminal pngcairo size 900,540 noenhanced\nset xlabel '" << x << "'\n"
       << (x == "payload_bytes" ? "set logscale x 2\n" : "")
       << "set output '" << (dir / "throughput.png").string() << "'\n"
       << "set title 'achieved vs offered throughput (" << s.traffic.algorithm << ")'\nset ylabel 'Gb/s'\n"
       << "set yrange [0:*]\n"
       << "plot '" << csv << "' using 1:3 with linespoints lw 2 title 'achieved (indicated bytes)', '' using 1:2 "
       << "with linespoints dt 2 title 'offered (wire)', 100 with lines lc rgb 'red' title '100 GbE line rate'\n"
       << "set output '" << (dir / "latency.png").string() << "'\n"
       << "set title 'latency, last bit on the wire to indication'\nset ylabel 'ns'\n"
       << "plot '" << csv << "' using 1:5 with linespoints lw 2 title 'p50', '' using 1:6 with linespoints lw 2 "
       << "title 'p99', '' using 1:7 with linespoints dt 2 title 'max'\n"
       << "set output '" << (dir / "utilisation.png").string() << "'\n"
       << "set title 'utilisation and drops'\nset ylabel 'fraction'\nset yrange [0:1.05]\n"
       << "plot '" << csv << "' using 1:8 with linespoints lw 2 title 'crypto lanes', '' using 1:9 with "
       << "linespoints lw 2 title 'bus (DMA link)', '' using 1:($4/($4+$10)) with linespoints dt 2 "
       << "title 'fraction of frames missed'\n";
    gp.close();
    if (std::system(("gnuplot '" + (dir / "plots.gp").string() + "'").c_str()) != 0)
        std::cerr << "ov2sim: warning: gnuplot failed on " << (dir / "plots.gp").string() << "\n";
}

}  // namespace

int run_bench(const BenchOptions& b) {
    std::cout << "ov2sim bench: AES-GCM-128 ESP, transport, IPv4, one SA; each case in its own process\n"
              << "  fast = --mode fast (one thread, timing computed), cycle = --mode cycle (SystemC processes per block)\n"
              << "  Botan and the model decrypt the same pre-built frames; the model's figures include its\n"
              << "  construction and the whole receive path to the transport (docs/timing.md, \"Speed\")\n"
              << fmt::format("  {:<16}{:>9}{:>13}{:>13}{:>22}{:>13}{:>13}{:>9}\n", "case", "frames", "Botan fr/s",
                             "fast fr/s", "fast/Botan", "cycle fr/s", "cycle cyc/s", "RSS MB");
    json c64, c1500;
    bench_case("64 B payload", 64, b.frames_small, 0.5, c64);
    bench_case("1500 B payload", 1500, b.frames_large, 0.8, c1500);
    std::cout << fmt::format("  cycle mode rate target: 2000000 simulated cycles/s (at 64 B: {:.0f}, at 1500 B: {:.0f})\n",
                             c64["cycles_per_second"].get<double>(), c1500["cycles_per_second"].get<double>());
    // Co-simulation (docs/rtl.md): the same 64 B traffic in cycle mode with all three Verilated blocks.
    MeasureOptions cosim = gcm128(64, b.frames_small, "cycle");
    cosim.rtl = "cam,parser,wb";
    const json r64 = measure_child(cosim);
    const double cosim_ratio = r64["cycles_per_second"].get<double>() / c64["cycles_per_second"].get<double>();
    std::cout << fmt::format("  co-simulation --rtl {}, 64 B: {:.0f} cycles/s, {:.0f} fr/s; SystemC cycle mode "
                             "{:.0f} cycles/s; ratio {:.2f} (target 0.5)\n",
                             cosim.rtl, r64["cycles_per_second"].get<double>(), fps(r64),
                             c64["cycles_per_second"].get<double>(), cosim_ratio);
    if (b.memory_check) {
        const json r100k = measure_child(gcm128(64, 100000, "cycle")), r1m = measure_child(gcm128(64, 1000000, "cycle"));
        const double a = r100k["peak_rss_kb"].get<double>() / 1024, z = r1m["peak_rss_kb"].get<double>() / 1024;
        std::cout << fmt::format("  peak memory, 64 B payload: 100k frames {:.1f} MB, 1M frames {:.1f} MB ({})\n", a,
                                 z, z <= a * 1.1 + 1 ? "flat" : "GROWS");
    }
    return 0;
}

int run_sweep(const SweepOptions& s) {
    const std::vector<std::string> values = split_values(s.values);
    if (values.empty()) throw InputError("--values", "", "no values", "a comma-separated list, e.g. 64,256,1500");
    SimConfig checked;
    apply_option("--mode", "mode", s.mode, checked);  // before any child runs
    std::filesystem::create_directories(s.out);
    const std::filesystem::path dir(s.out);
    std::ofstream csv(dir / "sweep.csv");
    csv << s.param << ",offered_gbps,achieved_gbps,indicated,latency_p50_ns,latency_p99_ns,latency_max_ns,"
        << "crypto_utilisation,bus_utilisation,rx_missed,frames_per_wall_second\n";
    json all = json::array();
    for (size_t i = 0; i < values.size(); ++i) {
        std::cerr << fmt::format("ov2sim sweep: {} = {} ({}/{})\n", s.param, values[i], i + 1, values.size());
        const json r = measure_child(point(s, values[i]));
        all.push_back(r);
        csv << values[i] << ',' << r["offered_gbps"].get<double>() << ',' << r["achieved_gbps"].get<double>() << ','
            << r["indicated"].get<uint64_t>() << ',' << r["latency_p50_ns"].get<double>() << ','
            << r["latency_p99_ns"].get<double>() << ',' << r["latency_max_ns"].get<double>() << ','
            << r["crypto_utilisation"].get<double>() << ',' << r["bus_utilisation"].get<double>() << ','
            << r["rx_missed"].get<uint64_t>() << ',' << r["frames_per_second"].get<double>() << '\n';
    }
    csv.close();
    std::ofstream(dir / "sweep.json") << all.dump(2) << '\n';
    write_plots(dir, s);
    std::cout << fmt::format("ov2sim sweep: {} points; {}/sweep.csv, sweep.json and the plots\n", values.size(),
                             s.out);
    return 0;
}

}  // namespace ov2
