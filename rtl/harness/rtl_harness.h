// Lockstep harness for the Verilated RTL blocks: a clocked wrapper around a plain Verilated C++ model
// (no SystemC kernel), the valid/ready protocol checker, the first-mismatch record, the run-size knobs, the
// stimulus files, the reference pipeline of a latency contract, the bench skeleton (main and shadow
// instance, VCD window) and the runner that replays a mismatch with a VCD window.
// Used by tb/<block>/test_<block>_rtl.cpp (GoogleTest binaries made with ov2_add_gtest, which define
// OV2_SOURCE_DIR and OV2_SHARED_DIR); the method is described in docs/rtl.md.
#pragma once

#include <gtest/gtest.h>

#include "rtl_dut.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pcap_io.h"

namespace ov2::rtl {

// Run sizes come from the environment so that CI stays short and a long run needs no rebuild.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    return std::strtoull(v, nullptr, 0);
}
// The random tests' seed: OV2_RTL_SEED (7). The run sizes are per block (docs/rtl.md).
inline uint64_t seed() { return env_u64("OV2_RTL_SEED", 7); }

// ---- stimulus files ------------------------------------------------------------------------------------

using Path = std::filesystem::path;

// The files below tb/scenarios that `pick` accepts, sorted.
inline std::vector<Path> scenario_files(const std::function<bool(const Path&)>& pick) {
    std::vector<Path> out;
    for (const auto& d : std::filesystem::recursive_directory_iterator(std::string(OV2_SOURCE_DIR) + "/tb/scenarios"))
        if (d.is_regular_file() && pick(d.path())) out.push_back(d.path());
    std::sort(out.begin(), out.end());
    return out;
}
inline Path published_pcap() { return std::string(OV2_SHARED_DIR) + "/vectors/published/published_vectors.pcap"; }
// Every frame of a capture, read with the project's reader.
inline std::vector<Frame> read_frames(const Path& pcap) {
    std::vector<Frame> frames;
    PcapReader reader(pcap.string());
    Frame f;
    while (reader.next(f)) frames.push_back(f);
    return frames;
}
inline std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Back-pressure and gap pattern: phases of always-ready / always-valid (full rate, where the issue interval
// and latency contract is checked exactly) alternate with random phases.
class Traffic {
public:
    explicit Traffic(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 1) {}
    uint64_t next() {  // splitmix64: fast, seedable, the same on every platform
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(unsigned percent) { return below(100) < percent; }
    // Call once per cycle: picks the percentages for the next phase every 256 cycles.
    void tick() {
        if ((tick_++ & 255) == 0) {
            const unsigned mode = unsigned(below(4));
            ready_pct_ = mode == 0 ? 100 : mode == 1 ? 50 : mode == 2 ? 85 : 10;
            valid_pct_ = mode == 0 ? 100 : unsigned(30 + below(71));
        }
    }
    bool ready() { return chance(ready_pct_); }
    bool valid() { return chance(valid_pct_); }

private:
    uint64_t state_;
    uint64_t tick_ = 0;
    unsigned ready_pct_ = 100, valid_pct_ = 100;
};

// Where a mismatch's VCD window goes: the test's working directory (the ctest build folder).
inline std::string vcd_window_path(const std::string& test) { return test + "_mismatch.vcd"; }
constexpr uint64_t kVcdHalfWindow = 200;  // cycles dumped on each side of a mismatch
// The VCD time stamp that ends the window around `m` (two time steps a cycle).
inline std::string vcd_window_end(const Mismatch& m) {
    return "#" + std::to_string(2 * (m.cycle + kVcdHalfWindow));
}

// The reference of a latency contract: `latency` slots that advance together and hold while the last one
// is valid and not taken. Slot has a `valid` member.
template <typename Slot>
class RefPipeline {
public:
    explicit RefPipeline(size_t latency) : slots_(latency) {}
    const Slot& out() const { return slots_.back(); }
    // The pipeline moves on this edge (and so must the input ready).
    bool advances(bool out_ready) const { return !out().valid || out_ready; }
    void shift_in(const Slot& in) {
        std::rotate(slots_.rbegin(), slots_.rbegin() + 1, slots_.rend());
        slots_.front() = in;
    }
    size_t in_flight() const {
        return size_t(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.valid; }));
    }

private:
    std::vector<Slot> slots_;
};

// How a bench runs: its seed, and for a replay the VCD file and the window of cycles it dumps.
struct BenchConfig {
    uint64_t seed = 1;
    std::string vcd_path;  // non-empty: a replay that dumps [vcd_from, vcd_to]
    uint64_t vcd_from = 0, vcd_to = 0;
};

// The skeleton of a lockstep bench: the main instance and a shadow with other X seeds (named `name` and
// `name`_shadow), the traffic pattern, the first mismatch and the VCD window of a replay. Derived provides
// `bool done() const` and `void cycle(uint64_t now)`: the inputs of cycle `now`, settled and checked, and
// the C++ core's transfers; the base opens the VCD, ticks the traffic and clocks both instances around it.
template <typename Derived, typename Model>
class LockstepBench {
public:
    using Config = BenchConfig;
    using Dut = rtl::Dut<Model>;

    // Runs until Derived::done() (or the first mismatch, or past the replay window).
    void run() {
        while (!self().done() && !mm_.found && !past_window()) step();
        // A little more after a mismatch in a replay, so the window has its second half.
        if (!cfg_.vcd_path.empty() && mm_.found)
            while (!past_window()) step();
    }
    Mismatch& mismatch() { return mm_; }
    uint64_t cycles() const { return dut_.cycle(); }

protected:
    LockstepBench(const Config& cfg, const std::string& name)
        : cfg_(cfg), dut_(int(cfg.seed * 2 + 1), name), shadow_(int(cfg.seed * 2 + 2), name + "_shadow"),
          traffic_(cfg.seed) {}
    // Sets this cycle's inputs on both instances, `drive(Dut&, bool ready)` setting them and settling,
    // and checks that the outputs do not depend on the ready input (docs/rtl.md, ready-independence): the
    // main instance driven first with `ready` flipped must show the same `valid(Model&)` and, while that is
    // up, the same `data(Model&)` (a std::vector<uint32_t>). Returns the main instance, driven with `ready`.
    template <typename Drive, typename Valid, typename Data>
    Model& drive_both(uint64_t now, bool ready, const Drive& drive, const Valid& valid, const Data& data,
                      const char* valid_name, const char* data_name) {
        drive(dut_, !ready);
        const bool v_other = valid(dut_.model());
        const std::vector<uint32_t> d_other = data(dut_.model());
        drive(dut_, ready);
        drive(shadow_, ready);
        Model& m = dut_.model();
        mm_.check(now, valid_name, v_other, valid(m));
        if (valid(m)) mm_.check(now, data_name, d_other, data(m));
        return m;
    }
    // Both instances: `idle` sets the inputs, then the reset.
    template <typename Idle>
    void reset_both(const Idle& idle) {
        for (Dut* d : {&dut_, &shadow_}) {
            idle(*d);
            d->reset();
        }
    }

    Config cfg_;
    Dut dut_, shadow_;
    Traffic traffic_;
    Mismatch mm_;

private:
    Derived& self() { return static_cast<Derived&>(*this); }
    bool past_window() const { return !cfg_.vcd_path.empty() && dut_.cycle() > cfg_.vcd_to; }
    void step() {
        const uint64_t now = dut_.cycle();
        if (!cfg_.vcd_path.empty() && now >= cfg_.vcd_from && !vcd_started_) {
            dut_.open_vcd(cfg_.vcd_path);
            vcd_started_ = true;
        }
        traffic_.tick();
        self().cycle(now);
        dut_.edge();
        shadow_.edge();
        if (dut_.tracing() && dut_.cycle() > cfg_.vcd_to) dut_.close_vcd();
    }
    bool vcd_started_ = false;
};

// The VCD a replay wrote and the cycles it covers.
struct VcdWindow {
    std::string path;  // absolute
    uint64_t from = 0, to = 0;
    std::string str() const {
        return path + " (cycles " + std::to_string(from) + ".." + std::to_string(to) + ")";
    }
};

// Replays `body` on a new bench with a VCD window of kVcdHalfWindow cycles on each side of `first`, into
// vcd_window_path(name).
template <typename Bench>
VcdWindow replay_with_vcd(const std::string& name, BenchConfig cfg, const Mismatch& first,
                          const std::function<void(Bench&)>& body) {
    cfg.vcd_path = vcd_window_path(name);
    cfg.vcd_from = first.cycle > kVcdHalfWindow ? first.cycle - kVcdHalfWindow : 0;
    cfg.vcd_to = first.cycle + kVcdHalfWindow;
    Bench again(cfg);
    body(again);
    return {std::filesystem::absolute(cfg.vcd_path).string(), cfg.vcd_from, cfg.vcd_to};
}

// Runs `body` on a bench; on a mismatch runs it again with a VCD window around the mismatch cycle and
// fails the test with the report. Returns the bench of the run for the caller's counts.
template <typename Bench>
std::unique_ptr<Bench> run_lockstep(const std::string& name, uint64_t seed,
                                    const std::function<void(Bench&)>& body) {
    BenchConfig cfg;
    cfg.seed = seed;
    auto bench = std::make_unique<Bench>(cfg);
    body(*bench);
    if (bench->mismatch().found)
        ADD_FAILURE() << name << ": " << bench->mismatch().str() << "; VCD window in "
                      << replay_with_vcd(name, cfg, bench->mismatch(), body).str();
    return bench;
}

// The mismatch self-check of a bench: `body` run once with `seed` (it is meant to mismatch), and if it
// did, replayed with the VCD window of vcd_window_path(name); `vcd` is that file's text.
struct SelfCheck {
    Mismatch first;
    VcdWindow window;
    std::string vcd;
};
template <typename Bench>
SelfCheck self_check(const std::string& name, uint64_t seed, const std::function<void(Bench&)>& body) {
    BenchConfig cfg;
    cfg.seed = seed;
    Bench b(cfg);
    body(b);
    SelfCheck r;
    r.first = b.mismatch();
    if (!r.first.found) return r;
    r.window = replay_with_vcd(name, cfg, r.first, body);
    r.vcd = read_text(r.window.path);
    return r;
}

}  // namespace ov2::rtl
