// ov2sim command line. `ov2sim run --pcap IN.pcap --sa SA_FILE --out DIR` simulates the receive path on a
// capture and writes, for every frame, what an IPsecOV2 miniport would have indicated.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <systemc>

#include "bench_sweep.h"
#include "input_error.h"
#include "measure.h"
#include "oid_script.h"
#include "ov2_top.h"
#include "pcap_io.h"
#include "run_output.h"
#include "run_report.h"
#include "sa_file.h"
#include "sim_config.h"

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitFailure = 1;

// Feeds the MAC from a pcap. A corrupt record ends the input: the frames before it still run to the end,
// and the error is reported after the outputs are written.
class PcapFrameSource : public ov2::FrameSource {
public:
    explicit PcapFrameSource(const std::string& path) : reader_(path) {}
    bool next(ov2::WireFrame& out) override {
        if (!error_.empty()) return false;
        try {
            if (!reader_.next(frame_)) return false;
        } catch (const ov2::InputError& e) {
            error_ = e.what();
            return false;
        }
        out.bytes.assign(frame_.bytes.begin(), frame_.bytes.end());
        out.ts_ns = frame_.ts_ns;
        out.orig_len = frame_.orig_len;
        return true;
    }
    const std::string& error() const { return error_; }
    const ov2::PcapReader& reader() const { return reader_; }

private:
    ov2::PcapReader reader_;
    ov2::Frame frame_;
    std::string error_;
};

struct RunOptions {
    std::string pcap, sa, out, config, pacing, oids, mode;
    std::vector<std::string> settings;
    bool fcs = false, no_offload = false, quiet = false;
    std::string vcd;  // --vcd: waveform file (docs/waveforms.md)
    std::string rtl;  // --rtl: co-simulated RTL blocks (docs/rtl.md)
    bool rtl_xcheck = false;
};

int run_command(const RunOptions& opt) {
    ov2::SimConfig config;
    if (!opt.config.empty()) ov2::load_sim_config(opt.config, config);
    if (opt.fcs) config.mac.frames_have_fcs = true;
    if (opt.no_offload) config.driver.offload_enabled = false;
    if (!opt.pacing.empty()) ov2::apply_option("--pacing", "mac.pacing", opt.pacing, config);
    if (!opt.mode.empty()) ov2::apply_option("--mode", "mode", opt.mode, config);
    ov2::apply_settings(opt.settings, config);
    if (!opt.rtl.empty()) config.rtl = ov2::parse_rtl_option(opt.rtl);
    if (opt.rtl_xcheck && !config.rtl.any())
        throw ov2::InputError("--rtl-xcheck", "", "checks the RTL blocks of --rtl, and none is given",
                              "--rtl cam, parser, wb or a comma list of them with it");
    config.rtl.x_check = opt.rtl_xcheck;

    std::vector<ov2::AddSa> sas = ov2::load_sa_file(opt.sa);
    std::vector<ov2::OidEvent> oids;
    if (!opt.oids.empty()) oids = ov2::load_oid_script(opt.oids);
    PcapFrameSource source(opt.pcap);
    ov2::RunOutput output(opt.out);
    if (isatty(STDERR_FILENO)) output.enable_progress();
    ov2::RunInfo info{opt.pcap, opt.sa, 0, {}};
    if (source.reader().ethernet_synthesized())
        std::cerr << "ov2sim: note: " << opt.pcap << ": link type " << source.reader().link_type_name()
                  << ": an Ethernet header is put in front of each frame\n";

    const auto t0 = std::chrono::steady_clock::now();
    ov2::Ov2System sys("ov2", config, source, std::move(sas), &output);
    sys.driver().schedule_oids(std::move(oids));
    if (!opt.vcd.empty()) {
        const std::string vcd = sys.enable_trace(opt.vcd);
        if (!opt.quiet) std::cout << "ov2sim: waveform " << vcd << ", view: gtkwave " << ov2::gtkw_path_for(vcd) << "\n";
    }
    sys.run();
    info.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto& list = sys.driver().initial_sas();
    const auto& results = sys.driver().initial_results();
    for (size_t i = 0; i < results.size(); ++i)
        if (!results[i].refused.empty())
            std::cerr << "ov2sim: warning: " << opt.sa << ": SA '" << list[i].name
                      << "' not offloaded: " << results[i].refused << "\n";

    for (const ov2::OidLogEntry& e : sys.driver().oid_log())
        if (e.status != ov2::kNdisStatusSuccess)
            std::cerr << "ov2sim: warning: " << opt.oids << ": " << ov2::oid_event_name(e.kind) << " before frame "
                      << e.before_frame << (e.sa.empty() ? "" : " of SA '" + e.sa + "'") << " failed (NDIS_STATUS 0x"
                      << std::hex << e.status << std::dec << ")\n";

    output.close();
    ov2::write_stats_json(opt.out + "/stats.json", ov2::make_stats_json(sys, output, info));
    if (!opt.quiet) std::cout << ov2::format_summary(sys, output, info);
    if (const std::string bad = ov2::rtl_disagreements(sys); !bad.empty()) {
        std::cerr << "ov2sim: internal error: " << bad << "\n";
        return kExitFailure;
    }
    if (!source.error().empty()) {
        const uint64_t before = sys.frames_seen();
        std::cerr << "ov2sim: error: " << source.error() << " (" << (before == 1 ? "the frame" : "the " + std::to_string(before) + " frames")
                  << " before it " << (before == 1 ? "was" : "were") << " simulated and written)\n";
        return kExitBadInput;
    }
    return 0;
}

void add_traffic_options(CLI::App& cmd, ov2::TrafficSpec& t, std::vector<std::string>& settings) {
    cmd.add_option("--algorithm", t.algorithm, "aes-gcm-128, aes-gcm-256 or aes-cbc-128-sha1");
    cmd.add_option("--payload", t.payload_bytes, "ESP payload bytes per frame");
    cmd.add_option("--frames", t.frames, "frames per run");
    cmd.add_option("--sas", t.sas, "SAs the traffic is spread over");
    cmd.add_option("--offered", t.offered_gbps, "offered load in Gb/s (0 = line rate)");
    cmd.add_option("--set", settings, "NAME=VALUE model setting, as for run");
}

// A command-line syntax error on one line, saying what the command looks like.
std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

std::string usage_of(const CLI::App& app) {
    for (const CLI::App* sub : app.get_subcommands())
        return fmt::format("ov2sim {} with the options of 'ov2sim {} --help'", sub->get_name(), sub->get_name());
    return "a subcommand: run, bench, sweep or measure (see ov2sim --help)";
}

}  // namespace

int sc_main(int argc, char** argv) {
    CLI::App app{"ov2sim: cycle-level model of a NIC receive path with Windows IPsec Offload V2"};
    app.require_subcommand(1);
    RunOptions opt;
    CLI::App* run = app.add_subcommand("run", "simulate a capture and write oob.jsonl, indicated.pcap, stats.json");
    run->add_option("--pcap", opt.pcap, "input capture (pcap/pcapng; Ethernet, raw IP or Linux cooked)")->required();
    run->add_option("--sa", opt.sa, "SA file: ov2sim JSON or iproute2 `ip xfrm state` text")->required();
    run->add_option("--out", opt.out, "output directory (created if missing)")->required();
    run->add_option("--config", opt.config, "JSON configuration (timing, mac, caps, offload_enabled, sa_cam_bundles)");
    run->add_option("--set", opt.settings, "NAME=VALUE override, e.g. core_clock_mhz=250 or caps.ipv4_options=false");
    run->add_option("--oids", opt.oids, "JSON script of ADD_SA/DELETE_SA/UPDATE_SA OIDs issued before given frames");
    run->add_option("--pacing", opt.pacing, "line (back to back at line rate, default) or capture (pcap timestamps)");
    run->add_option("--mode", opt.mode, "cycle (SystemC processes per block, default) or fast (one thread, same timing arithmetic)");
    run->add_option("--vcd", opt.vcd, "write a VCD of the pipeline to FILE (traces/FILE when FILE has no directory) and FILE.gtkw for GTKWave");
    run->add_option("--rtl", opt.rtl, "co-simulate RTL blocks: a comma list of cam, parser, wb (docs/rtl.md)");
    run->add_flag("--rtl-xcheck", opt.rtl_xcheck, "with --rtl: a second instance of each RTL block with other X values must agree");
    run->add_flag("--fcs", opt.fcs, "frames in the capture end with their FCS: check and strip it");
    run->add_flag("--no-offload", opt.no_offload, "IPsec offload not enabled: every frame indicated unprocessed");
    run->add_flag("--quiet", opt.quiet, "no summary on stdout");
    ov2::BenchOptions bench_opt;
    CLI::App* bench = app.add_subcommand("bench", "model speed vs Botan alone, simulated cycles/s, memory");
    bench->add_option("--frames-small", bench_opt.frames_small, "frames in the 64 B payload cases");
    bench->add_option("--frames-large", bench_opt.frames_large, "frames in the 1500 B payload cases");
    bench->add_flag("!--no-memory", bench_opt.memory_check, "skip the 100k vs 1M frames memory check");

    ov2::SweepOptions sweep_opt;
    CLI::App* sweep = app.add_subcommand("sweep", "run one parameter over a range: CSV and PNG plots");
    sweep->add_option("--param", sweep_opt.param,
                      "payload_bytes, sas, offered_gbps, or a --set name (crypto_lanes, core_clock_mhz, ...)")
        ->required();
    sweep->add_option("--values", sweep_opt.values, "comma-separated values")->required();
    sweep->add_option("--out", sweep_opt.out, "output directory (sweep.csv, sweep.json, *.png)");
    add_traffic_options(*sweep, sweep_opt.traffic, sweep_opt.settings);
    sweep->add_option("--mode", sweep_opt.mode, "cycle (default) or fast, for every point");

    ov2::MeasureOptions measure_opt;
    CLI::App* measure = app.add_subcommand("measure", "one configuration on synthetic traffic, as one JSON line");
    add_traffic_options(*measure, measure_opt.traffic, measure_opt.settings);
    measure->add_option("--mode", measure_opt.mode, "cycle (default) or fast");
    measure->add_flag("--botan-only", measure_opt.botan_only, "decrypt and verify with Botan alone, no model");
    measure->add_option("--rtl", measure_opt.rtl, "co-simulate RTL blocks: a comma list of cam, parser, wb (docs/rtl.md)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        std::cerr << "ov2sim: error: " << one_line(e.what()) << "; expected " << usage_of(app) << "\n";
        return kExitBadInput;
    }
    try {
        if (*bench) return ov2::run_bench(bench_opt);
        if (*sweep) return ov2::run_sweep(sweep_opt);
        if (*measure) {
            std::cout << ov2::measure_here(measure_opt).dump() << "\n";
            return 0;
        }
        if (*run) return run_command(opt);
    } catch (const ov2::InputError& e) {
        std::cerr << "ov2sim: error: " << e.what() << "\n";
        return kExitBadInput;
    } catch (const std::invalid_argument& e) {
        std::cerr << "ov2sim: error: " << e.what() << "\n";
        return kExitBadInput;
    } catch (const std::exception& e) {
        std::cerr << "ov2sim: internal error: " << e.what() << "\n";
        return kExitFailure;
    }
    return 0;
}

// The SystemC banner would precede every answer of the tool; it is printed before sc_main runs, so the
// switch is set here and SystemC is entered the way its own main() does.
int main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    return sc_core::sc_elab_and_sim(argc, argv);
}
