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

namespace ov2 {

using nlohmann::json;

namespace {

MeasureOptions gcm128(uint32_t payload, uint32_t frames, bool botan) {
    MeasureOptions o;
    o.traffic.algorithm = "aes-gcm-128";
    o.traffic.payload_bytes = payload;
    o.traffic.frames = frames;
    o.botan_only = botan;
    return o;
}

void print_case(const char* name, const json& model, const json& botan, double target) {
    const double ratio = model["frames_per_second"].get<double>() / botan["frames_per_second"].get<double>();
    std::cout << fmt::format("  {:<24}{:>9}{:>13.0f}{:>13.0f}{:>8.2f} (target {:.1f}){:>13.0f}{:>9.1f}\n", name,
                             model["frames"].get<uint64_t>(), model["frames_per_second"].get<double>(),
                             botan["frames_per_second"].get<double>(), ratio, target,
                             model["cycles_per_second"].get<double>(), model["peak_rss_kb"].get<double>() / 1024);
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
              << "  model = the SystemC model (the only timing mode so far: event-driven threads)\n"
              << fmt::format("  {:<24}{:>9}{:>13}{:>13}{:>22}{:>13}{:>9}\n", "case", "frames", "model fr/s",
                             "Botan fr/s", "model/Botan", "cycles/s", "RSS MB");
    const uint32_t small = b.frames_small, large = b.frames_large;
    const json m64 = measure_child(gcm128(64, small, false)), b64 = measure_child(gcm128(64, small, true));
    print_case("64 B payload", m64, b64, 0.5);
    const json m1500 = measure_child(gcm128(1500, large, false)), b1500 = measure_child(gcm128(1500, large, true));
    print_case("1500 B payload", m1500, b1500, 0.8);
    std::cout << fmt::format("  cycle rate target: 2000000 simulated cycles/s (model at 64 B: {:.0f})\n",
                             m64["cycles_per_second"].get<double>());
    // Co-simulation (docs/rtl.md): the same 64 B traffic with the Verilated CAM and encoder in the system.
    MeasureOptions cosim = gcm128(64, small, false);
    cosim.rtl = "cam,wb";
    const json c64 = measure_child(cosim);
    const double cosim_ratio = c64["cycles_per_second"].get<double>() / m64["cycles_per_second"].get<double>();
    std::cout << fmt::format("  co-simulation --rtl cam,wb, 64 B: {:.0f} cycles/s, {:.0f} fr/s = {:.2f} x the SystemC "
                             "cycle rate (target 0.5)\n",
                             c64["cycles_per_second"].get<double>(), c64["frames_per_second"].get<double>(), cosim_ratio);
    if (b.memory_check) {
        const json r100k = measure_child(gcm128(64, 100000, false)), r1m = measure_child(gcm128(64, 1000000, false));
        const double a = r100k["peak_rss_kb"].get<double>() / 1024, z = r1m["peak_rss_kb"].get<double>() / 1024;
        std::cout << fmt::format("  peak memory, 64 B payload: 100k frames {:.1f} MB, 1M frames {:.1f} MB ({})\n", a,
                                 z, z <= a * 1.1 + 1 ? "flat" : "GROWS");
    }
    return 0;
}

int run_sweep(const SweepOptions& s) {
    const std::vector<std::string> values = split_values(s.values);
    if (values.empty()) throw InputError("--values", "", "no values", "a comma-separated list, e.g. 64,256,1500");
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
