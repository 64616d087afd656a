// ov2soak: a long run of the whole model on generated traffic, checked frame by frame against the
// generator's ground truth (docs/soak.md).
//
//   ov2soak [--frames N] [--seed S] [--sas K] [--out DIR] [--keep] [--host-ns NS] [--ring N] [--mac-fifo B]
//
// Exit status: 0 every invariant held; 1 a violation (each reported with frame, invariant, expected, got);
// 2 bad options; 3 the model threw.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <systemc>

#include "ov2_top.h"
#include "run_output.h"
#include "run_report.h"
#include "soak_check.h"
#include "soak_gen.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the key scanner reads 8-byte windows little-endian"
#endif

namespace fs = std::filesystem;

namespace {

struct RssSample {
    std::string when;
    uint64_t frame = 0;
    double peak_mb = 0, current_mb = 0;
};

RssSample rss(const std::string& when, uint64_t frame) {
    RssSample s{when, frame, 0, 0};
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    s.peak_mb = double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    if (statm >> size >> resident) s.current_mb = double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
    return s;
}

// Sets a timing parameter by name; false if this model has no such parameter.
bool set_timing(ov2::TimingParams& t, const std::string& name, const std::string& value) {
    for (const std::string& n : ov2::TimingParams::names())
        if (n == name) {
            t.set(name, value);
            return true;
        }
    return false;
}

// Standard error goes to a file for the length of the run, so that it can be scanned for key material.
class StderrCapture {
public:
    explicit StderrCapture(const std::string& path) : path_(path) {
        std::fflush(stderr);
        saved_ = dup(STDERR_FILENO);
        std::FILE* f = std::fopen(path.c_str(), "w");
        if (f) {
            dup2(fileno(f), STDERR_FILENO);
            std::fclose(f);
        }
    }
    ~StderrCapture() { restore(); }
    void restore() {
        if (saved_ < 0) return;
        std::cerr.flush();
        std::fflush(stderr);
        dup2(saved_, STDERR_FILENO);
        close(saved_);
        saved_ = -1;
    }

private:
    std::string path_;
    int saved_ = -1;
};


// --self-test: faults put into the outputs after the run; each must be reported under its invariant.
struct Fault {
    char invariant;
    std::string what;
    bool done = false;
};

std::vector<Fault> inject_faults(const std::string& out, const soak::Plan& plan, const std::vector<soak::Truth>& truth,
                                 const std::vector<uint32_t>& handle_of_inst) {
    using nlohmann::json;
    std::vector<Fault> faults = {
        {'a', "a line written twice"},
        {'a', "a dropped frame's line removed"},
        {'b', "a non-IPsec frame reported CryptoDone + SUCCESS"},
        {'c', "an ICV-corrupted frame reported SUCCESS"},
        {'d', "a frame of a deleted SA reported as matched"},
        {'e', "a valid frame reported with another SA's handle"},
        {'o', "a valid frame's stack verdict changed to replay"},
        {'x', "one byte of an indicated frame flipped in indicated.pcap"},
        {'g', "a key written as hex into stderr.txt"},
        {'g', "a key's raw bytes written into summary.txt"},
    };
    std::ifstream in(out + "/oob.jsonl");
    std::ofstream tmp(out + "/oob.jsonl.tmp");
    std::string line, first;
    uint64_t indicated_index = 0, flip_record = UINT64_MAX;
    while (std::getline(in, line)) {
        json j = json::parse(line);
        const uint32_t frame = j["frame"].get<uint32_t>();
        const soak::Truth& t = truth[frame - 1];
        const bool indicated = j["indicated"].get<bool>();
        const bool strict = !(t.flags & (soak::kRaceNic | soak::kRaceVerdict));
        if (!indicated && !faults[1].done && frame > 1) {
            faults[1].done = true;
            continue;
        }
        if (first.empty()) first = line;
        if (indicated) ++indicated_index;
        if (indicated && t.kind == soak::kNonIpsec && !faults[2].done) {
            j["crypto_done"] = 1, j["crypto_status"] = 0, j["offload_handle"] = 1;
            faults[2].done = true;
        } else if (indicated && t.kind == soak::kIcvCorrupt && strict && !faults[3].done) {
            j["crypto_status"] = 0;
            faults[3].done = true;
        } else if (indicated && t.kind == soak::kAfterDelete && !faults[4].done) {
            j["crypto_done"] = 1, j["offload_handle"] = handle_of_inst[t.inst] ? handle_of_inst[t.inst] : 1;
            faults[4].done = true;
        } else if (indicated && t.kind == soak::kValid && strict && j["crypto_done"] == 1 && !faults[5].done) {
            j["offload_handle"] = j["offload_handle"].get<uint32_t>() % 200 + 1000;
            faults[5].done = true;
        } else if (indicated && t.kind == soak::kValid && strict && j["stack_verdict"] == "accepted" && !faults[6].done) {
            j["stack_verdict"] = "replay";
            faults[6].done = true;
        } else if (indicated && t.kind == soak::kNonIpsec && flip_record == UINT64_MAX) {
            flip_record = indicated_index;  // 1-based record number in indicated.pcap
        }
        tmp << j.dump() << "\n";
    }
    if (!first.empty()) {
        tmp << first << "\n";
        faults[0].done = true;
    }
    tmp.close();
    fs::rename(out + "/oob.jsonl.tmp", out + "/oob.jsonl");
    if (flip_record != UINT64_MAX) {
        std::fstream pcap(out + "/indicated.pcap", std::ios::in | std::ios::out | std::ios::binary);
        uint64_t at = 24;
        for (uint64_t k = 1; pcap && k <= flip_record; ++k) {
            uint32_t hdr[4];
            pcap.seekg(std::streamoff(at));
            pcap.read(reinterpret_cast<char*>(hdr), 16);
            if (k == flip_record) {
                const uint64_t byte = at + 16 + hdr[2] - 1;
                pcap.seekg(std::streamoff(byte));
                char c = 0;
                pcap.read(&c, 1);
                c = char(c ^ 0x5A);
                pcap.seekp(std::streamoff(byte));
                pcap.write(&c, 1);
                faults[7].done = bool(pcap);
            }
            at += 16 + hdr[2];
        }
    }
    const soak::SaInst& s = plan.inst[1];
    const soak::Bytes& key = s.auth_key.empty() ? s.enc_key : s.auth_key;
    std::ofstream err(out + "/stderr.txt", std::ios::app);
    err << "warning: key ";
    for (uint8_t b : key) err << fmt::format("{:02x}", b);
    err << "\n";
    faults[8].done = bool(err);
    std::ofstream sum(out + "/summary.txt", std::ios::app | std::ios::binary);
    sum << "raw:";
    sum.write(reinterpret_cast<const char*>(plan.inst[2].enc_key.empty() ? plan.inst[2].auth_key.data()
                                                                          : plan.inst[2].enc_key.data()), 16);
    faults[9].done = bool(sum);
    return faults;
}

}  // namespace

int sc_main(int argc, char** argv) {
    CLI::App app{"ov2soak: long generated run of ov2sim's model with invariant checks (docs/soak.md)"};
    uint32_t frames = 1000000, sas = 256, ring = 128, mac_fifo = 16384, churn = 0, spare = 16;
    uint64_t seed = 1;
    double host_ns = 150, max_growth_mb = 0;
    std::string out;
    bool keep = false, self_test = false;
    app.add_option("--frames", frames, "frames to generate (default 1000000)")->check(CLI::Range(1u, 100000000u));
    app.add_option("--seed", seed, "generator seed (default 1)");
    app.add_option("--sas", sas, "SA bundles offloaded at the start (default 256)")->check(CLI::Range(8u, 2000u));
    app.add_option("--out", out, "output directory (default: a temporary one, removed when every check passed)");
    app.add_flag("--keep", keep, "keep the temporary output directory");
    app.add_option("--host-ns", host_ns, "host_per_packet_ns (default 150: the host is the bottleneck in bursts)");
    app.add_option("--ring", ring, "rx_ring_entries and cpl_ring_entries (default 128)")->check(CLI::Range(2u, 65536u));
    app.add_option("--mac-fifo", mac_fifo, "mac_fifo_bytes, if the model has it (default 16384)");
    app.add_option("--spare-handles", spare,
                   "SA table size minus --sas (default 16; 0: a deleted SA's handle goes to the next add)");
    app.add_option("--churn", churn, "frames between SA churn points (default max(500, frames/400))");
    app.add_flag("--self-test", self_test,
                 "after the run, put one fault per invariant into the outputs; pass only if every one is reported");
    app.add_option("--max-rss-growth-mb", max_growth_mb,
                   "fail (invariant f) if peak RSS grows by more than this from 10% to 100% of the frames (0 = report only)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) ? 2 : 0;
    }

    // ---- configuration ----
    ov2::SimConfig config;
    config.mac.pacing = ov2::Pacing::Capture;  // the generator's timestamps make the load phases
    std::vector<std::string> notes;
    try {
        set_timing(config.timing, "host_per_packet_ns", fmt::format("{}", host_ns));
        set_timing(config.timing, "rx_ring_entries", std::to_string(ring));
        set_timing(config.timing, "cpl_ring_entries", std::to_string(ring));
        if (!set_timing(config.timing, "mac_fifo_bytes", std::to_string(mac_fifo)))
            notes.push_back("this model has no mac_fifo_bytes: the MAC back-pressures instead of dropping");
    } catch (const std::exception& e) {
        std::cerr << "ov2soak: error: " << e.what() << "\n";
        return 2;
    }
    const bool has_fifo = !notes.size();
    config.sa_cam_bundles = std::min<uint32_t>(2048, sas + spare);  // few free handles: they are reused often
    config.driver.caps.sa_offload_capacity = config.sa_cam_bundles;
    const ov2::TimingParams& t = config.timing;
    // Frames that can sit between the wire and the crypto stage when an OID runs (the MAC FIFO full of the
    // smallest generated frames, 42-byte ARP, plus the stage FIFOs and lanes), and up to the transport.
    const uint32_t fifo_frames = has_fifo ? mac_fifo / 42 + 1 : t.stage_fifo_depth + 1;
    soak::GenConfig gc;
    gc.frames = frames;
    gc.seed = seed;
    gc.sas = sas;
    gc.host_ns = host_ns;
    gc.churn_interval = churn;
    gc.crypto_margin = fifo_frames + 3 * t.stage_fifo_depth + t.crypto_lanes + 8;
    gc.verdict_margin = gc.crypto_margin + t.stage_fifo_depth + t.rx_ring_entries + t.cpl_ring_entries + 16;

    bool temp = false;
    if (out.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "ov2soak.XXXXXX").string();
        if (!mkdtemp(tmpl.data())) {
            std::perror("ov2soak: mkdtemp");
            return 2;
        }
        out = tmpl;
        temp = true;
    }
    fs::create_directories(out);

    std::vector<RssSample> samples;
    samples.push_back(rss("start", 0));
    soak::Plan plan = soak::make_plan(gc);
    // Ground truth: 12 bytes per frame, allocated and touched now so that it does not show as growth.
    std::vector<soak::Truth> truth(frames);
    samples.push_back(rss("plan + ground truth allocated", 0));

    std::cout << fmt::format(
        "ov2soak: {} frames, seed {}, {} SAs at start, {} SA instances in the plan, {} OIDs; out {}\n"
        "  config: host_per_packet_ns {}, rx/cpl ring {}, mac_fifo_bytes {}, sa_cam_bundles {}, pacing capture;"
        " race margins {} frames (NIC) / {} (stack)\n",
        frames, seed, sas, plan.inst.size(), plan.oids.size(), out, t.host_per_packet_ns, ring,
        has_fifo ? std::to_string(mac_fifo) : std::string("-"), config.sa_cam_bundles, gc.crypto_margin,
        gc.verdict_margin);
    for (const std::string& n : notes) std::cout << "  note: " << n << "\n";
    std::cout.flush();

    soak::CheckResult result;
    soak::CheckInput in;
    in.plan = &plan;
    in.truth = &truth;
    in.frames = frames;
    in.out_dir = out;
    in.handle_of_inst.assign(plan.inst.size(), 0);
    std::vector<uint32_t> oid_status;
    double wall = 0;
    nlohmann::json stats;
    soak::GenCounts gen_counts;
    try {
        StderrCapture capture(out + "/stderr.txt");
        ov2::RunOutput output(out);
        soak::Generator gen(gc, plan, truth);
        const uint32_t marks[] = {std::max<uint32_t>(1, frames / 10), std::max<uint32_t>(1, frames / 2), frames};
        gen.on_frame = [&](uint32_t n) {
            for (int i = 0; i < 3; ++i)
                if (n == marks[i]) samples.push_back(rss(fmt::format("{}% of the frames generated", i == 0 ? 10 : i == 1 ? 50 : 100), n));
        };
        ov2::Ov2System sys("soak", config, gen, plan.initial, &output);
        sys.driver().schedule_oids(plan.oids);
        const auto t0 = std::chrono::steady_clock::now();
        sys.run();
        wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        samples.push_back(rss("end of the simulation", frames));
        output.close();
        ov2::RunInfo info{"(ov2soak generator, seed " + std::to_string(seed) + ")", "(ov2soak plan)", wall, {}};
        stats = ov2::make_stats_json(sys, output, info);
        ov2::write_stats_json(out + "/stats.json", stats);
        std::ofstream(out + "/summary.txt") << ov2::format_summary(sys, output, info);
        const auto& init = sys.driver().initial_results();
        for (size_t i = 0; i < init.size() && i < plan.initial_ids.size(); ++i)
            in.handle_of_inst[plan.initial_ids[i]] = init[i].offload_handle;
        const auto& log = sys.driver().oid_log();
        for (size_t i = 0; i < log.size(); ++i) {
            oid_status.push_back(log[i].status);
            if (i < plan.oids.size() && log[i].kind == ov2::OidEvent::Kind::AddSa)
                for (size_t k = 0; k < log[i].added.size() && k < plan.oid_added_ids[i].size(); ++k)
                    in.handle_of_inst[plan.oid_added_ids[i][k]] = log[i].added[k].offload_handle;
        }
        gen_counts = gen.counts();
        capture.restore();
    } catch (const std::exception& e) {
        std::cerr << "ov2soak: the model threw: " << e.what() << "\n";
        return 3;
    }

    // ---- checks ----
    std::vector<Fault> faults;
    if (self_test) faults = inject_faults(out, plan, truth, in.handle_of_inst);
    const auto c0 = std::chrono::steady_clock::now();
    soak::check_oid_log(in, oid_status, result);
    soak::check_outputs(in, result);
    soak::KeyScanResult ks;
    const std::vector<std::string> scanned = {out + "/oob.jsonl", out + "/stats.json", out + "/summary.txt",
                                              out + "/stderr.txt", out + "/indicated.pcap"};
    soak::scan_for_keys(plan, scanned, ks, result);
    {
        // Positive control: the scanner must find a key written as upper-case hex and as raw bytes.
        const soak::SaInst& s = plan.inst[0];
        const soak::Bytes& key = s.enc_key.empty() ? s.auth_key : s.enc_key;
        std::string control = "control: \"";
        for (uint8_t b : key) control += fmt::format("{:02X}", b);
        control += "\" x";  // odd offset before the raw bytes
        control.append(key.begin(), key.end());
        const std::string path = out + "/keyscan_control.bin";
        std::ofstream(path, std::ios::binary) << control;
        soak::CheckResult cr;
        soak::KeyScanResult cks;
        soak::scan_for_keys(plan, {path}, cks, cr);
        if (cr.by_invariant['g'] < 2)
            result.add('g', fmt::format("the key scanner's positive control found {} of 2 planted keys", cr.by_invariant['g']));
        fs::remove(path);
    }
    const double check_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    samples.push_back(rss("after the checks", frames));

    // (f) memory: peak RSS must not keep growing with the frame count
    double rss10 = 0, rss100 = 0;
    for (const RssSample& s : samples) {
        if (s.when.rfind("10%", 0) == 0) rss10 = s.peak_mb;
        if (s.when.rfind("100%", 0) == 0) rss100 = s.peak_mb;
    }
    if (max_growth_mb > 0 && rss100 - rss10 > max_growth_mb)
        result.add('f', fmt::format("peak RSS grew from {:.1f} MB at 10% to {:.1f} MB at 100% of the frames; expected at "
                                    "most {:.1f} MB of growth", rss10, rss100, max_growth_mb));

    // ---- report ----
    const soak::GenCounts& g = gen_counts;
    std::string mix;
    for (uint8_t k = 0; k < soak::kKinds; ++k) mix += fmt::format(" {} {},", soak::kind_name(k), g.kinds[k]);
    mix.pop_back();
    const auto& mac = stats["mac"];
    const auto& wb = stats["desc_wb"];
    std::cout << fmt::format(
        "generated:{}\n  algorithms (IPsec frames): gcm-128 {}, gcm-256 {}, cbc+sha1 {}, cbc+sha256 {}, ah-sha256 {};"
        " v6 {}, tunnel {}, esn {}; {:.1f} MB\n"
        "  frames sent while an OID for their SA was in flight: {} (NIC), {} more (stack only)\n",
        mix, g.by_alg[0], g.by_alg[1], g.by_alg[2], g.by_alg[3], g.by_alg[4], g.v6, g.tunnel, g.esn,
        double(g.bytes) / 1e6, g.race_nic, g.race_verdict);
    std::cout << fmt::format(
        "model: {} oob lines, {} indicated, {} dropped (rx_missed {}, capture_truncated {}); MAC FIFO high water {} B;"
        " writeback stalled {:.1f} us without a buffer, {:.1f} us completion ring full; {} OIDs ({} handles reused)\n",
        result.lines, result.indicated, result.dropped, result.missed, result.capture_truncated,
        mac.value("fifo_high_water_bytes", 0), wb.value("stalled_no_buffer_us", 0.0), wb.value("stalled_cpl_full_us", 0.0),
        result.oids_checked, result.handles_reused);
    std::string verdicts;
    for (const auto& [v, n] : result.verdicts) verdicts += fmt::format(" {} {},", v, n);
    if (!verdicts.empty()) verdicts.pop_back();
    std::cout << "  stack verdicts:" << verdicts << "\n";
    std::cout << fmt::format("speed: {:.2f} s simulation wall, {:.0f} frames/s; checks {:.2f} s\n", wall,
                             wall > 0 ? frames / wall : 0.0, check_wall);
    std::cout << "memory (peak RSS / current RSS):\n";
    for (const RssSample& s : samples)
        std::cout << fmt::format("  {:<36} {:>8.1f} MB / {:>8.1f} MB\n", s.when, s.peak_mb, s.current_mb);
    std::cout << fmt::format(
        "invariants:\n"
        "  (a) one line per frame: {} lines for {} frames, {} pcap records compared\n"
        "  (b) CryptoDone+SUCCESS only for frames made valid for an offloaded SA: {} frames traced\n"
        "  (c) corrupted/truncated frames never SUCCESS: {} checked\n"
        "  (d) deleted SAs never match: {} frames of deleted SAs checked\n"
        "  (e) handles: {} frames' handles checked, {} OIDs replayed, {} adds reused a handle\n"
        "  (f) peak RSS {:.1f} MB at 10%, {:.1f} MB at 100% ({:+.1f} MB)\n"
        "  (g) key material: {} files, {:.1f} MB scanned for {} keys ({} 8-byte windows, raw and hex)\n"
        "  (x) indicated bytes compared: {}\n",
        result.lines, frames, result.content_checked, result.success_checked, result.corrupt_checked,
        result.after_delete_checked, result.handle_checked, result.oids_checked, result.handles_reused, rss10, rss100,
        rss100 - rss10, ks.files, double(ks.bytes) / 1e6, ks.keys, ks.windows, result.content_checked);
    if (!result.race_outcomes.empty()) {
        std::cout << fmt::format("frames still in flight when an OID for their SA ran ({}; allowed either state), by outcome:\n",
                                 result.race_frames);
        for (const auto& [what, n] : result.race_outcomes) std::cout << fmt::format("  {:<60}{:>8}\n", what, n);
    }
    if (self_test) {
        std::map<char, uint64_t> want;
        bool ok = true;
        for (const Fault& f : faults) {
            std::cout << fmt::format("self-test: ({}) {}: {}\n", f.invariant, f.what, f.done ? "injected" : "NOT INJECTED");
            ok &= f.done;
            ++want[f.invariant];
        }
        for (const auto& [inv, n] : want) {
            const uint64_t got = result.by_invariant[inv];
            std::cout << fmt::format("self-test: invariant ({}): {} faults injected, {} violations reported: {}\n", inv,
                                     n, got, got >= n ? "detected" : "MISSED");
            ok &= got >= n;
        }
        for (const soak::Violation& v : result.first) std::cout << "  " << v.text << "\n";
        std::cout << (ok ? "SELF-TEST PASSED: every injected fault was reported\n" : "SELF-TEST FAILED\n");
        if (ok && temp && !keep) fs::remove_all(out);
        return ok ? 0 : 1;
    }
    if (result.violations) {
        std::string by;
        for (const auto& [inv, n] : result.by_invariant) by += fmt::format(" ({}) {},", inv, n);
        by.pop_back();
        std::cout << fmt::format("FAILED: {} violations:{}\n", result.violations, by);
        for (const soak::Violation& v : result.first) std::cout << "  " << v.text << "\n";
        if (result.first.size() < result.violations)
            std::cout << fmt::format("  ... {} more\n", result.violations - result.first.size());
        std::cout << "outputs kept in " << out << "\n";
        return 1;
    }
    std::cout << "PASSED: every invariant held\n";
    if (temp && !keep) fs::remove_all(out);
    return 0;
}

// The SystemC banner would precede every line; it is printed before sc_main runs.
int main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    return sc_core::sc_elab_and_sim(argc, argv);
}
