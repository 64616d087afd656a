// Synthetic traffic (TrafficGenerator, as `ov2sim measure`) through the model in one timing mode, with
// the per-frame outputs of `ov2sim run`: DIR/oob.jsonl and DIR/stats.json. One mode per process (SystemC
// elaborates once); test_fast_mode runs it in both modes and compares.
//   fast_mode_traffic --mode cycle|fast --out DIR [--algorithm A] [--payload N] [--frames N] [--sas N]
//                     [--offered GBPS] [--set NAME=VALUE]... [--corrupt-every N] [--wire-pcap FILE]
// --corrupt-every N: the last byte (in the ICV) of every Nth frame flipped, so it fails authentication;
// --wire-pcap: every frame as it goes on the wire, to compare with indicated.pcap.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <systemc>

#include "input_error.h"
#include "pcap_io.h"
#include "ov2_top.h"
#include "run_output.h"
#include "run_report.h"
#include "sim_config.h"
#include "traffic_gen.h"

namespace {

class CorruptingSource : public ov2::FrameSource {
public:
    CorruptingSource(ov2::FrameSource& inner, uint32_t every, const std::string& wire_pcap)
        : inner_(inner), every_(every) {
        if (!wire_pcap.empty()) wire_.open(wire_pcap);
    }
    bool next(ov2::WireFrame& frame) override {
        if (!inner_.next(frame)) {
            if (wire_.is_open()) wire_.close();
            return false;
        }
        if (every_ && ++seen_ % every_ == 0 && !frame.bytes.empty()) frame.bytes.back() ^= 0x01;
        if (wire_.is_open()) wire_.write(frame.bytes, frame.ts_ns);
        return true;
    }

private:
    ov2::FrameSource& inner_;
    const uint32_t every_;
    uint64_t seen_ = 0;
    ov2::PcapWriter wire_;
};

}  // namespace

int sc_main(int argc, char** argv) {
    CLI::App app{"synthetic traffic through ov2sim's model in one timing mode"};
    ov2::TrafficSpec spec;
    std::string mode = "cycle", out_dir, wire_pcap;
    uint32_t corrupt_every = 0;
    std::vector<std::string> settings;
    app.add_option("--mode", mode);
    app.add_option("--out", out_dir)->required();
    app.add_option("--algorithm", spec.algorithm);
    app.add_option("--payload", spec.payload_bytes);
    app.add_option("--frames", spec.frames);
    app.add_option("--sas", spec.sas);
    app.add_option("--offered", spec.offered_gbps);
    app.add_option("--set", settings);
    app.add_option("--corrupt-every", corrupt_every);
    app.add_option("--wire-pcap", wire_pcap);
    CLI11_PARSE(app, argc, argv);
    try {
        ov2::TrafficGenerator gen(spec);
        ov2::SimConfig config;
        config.mac.pacing = spec.offered_gbps > 0 ? ov2::Pacing::Capture : ov2::Pacing::LineRate;
        ov2::apply_settings(settings, config);
        ov2::apply_option("--mode", "mode", mode, config);
        ov2::RunOutput output(out_dir);
        CorruptingSource source(gen, corrupt_every, wire_pcap);
        ov2::Ov2System sys("ov2", config, source, gen.sas(), &output);
        sys.run();
        output.close();
        ov2::write_stats_json(out_dir + "/stats.json",
                              ov2::make_stats_json(sys, output, ov2::RunInfo{"generated", "generated", 0, {}}));
    } catch (const std::exception& e) {
        std::cerr << "fast_mode_traffic: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
