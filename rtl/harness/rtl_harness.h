// Lockstep harness for the Verilated RTL blocks: a clocked wrapper around a plain Verilated C++ model
// (no SystemC kernel), the valid/ready protocol checker, the first-mismatch record and the run-size knobs.
// Used by tb/<block>/test_<block>_rtl.cpp; the method is described in docs/rtl.md.
#pragma once

// libsystemc's headers (pulled in by hw_model blocks) and verilated.h both declare sc_time_stamp:
// toolchain.md pitfall 7.
#include <systemc>
using sc_core::sc_time_stamp;

#include <verilated.h>
#include <verilated_vcd_c.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace ov2::rtl {

// Run sizes come from the environment so that CI stays short and a long run needs no rebuild.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    return std::strtoull(v, nullptr, 0);
}

// The first difference found in a run. The run stops there and the test replays it with a VCD window.
struct Mismatch {
    bool found = false;
    uint64_t cycle = 0;
    std::string signal, expected, actual;

    template <typename A, typename B>
    bool check(uint64_t at, const std::string& name, const A& want, const B& got) {
        if (found || want == got) return want == got;
        found = true;
        cycle = at;
        signal = name;
        expected = show(want);
        actual = show(got);
        return false;
    }
    void fail(uint64_t at, const std::string& name, const std::string& want, const std::string& got) {
        if (found) return;
        found = true;
        cycle = at;
        signal = name;
        expected = want;
        actual = got;
    }
    std::string str() const {
        return "cycle " + std::to_string(cycle) + ": " + signal + " expected " + expected + ", RTL " + actual;
    }

    template <typename T>
    static std::string show(const T& v) {
        std::ostringstream s;
        if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
            s << "0x";
            for (size_t i = v.size(); i-- > 0;) {
                s.width(8);
                s.fill('0');
                s << std::hex << v[i];
            }
        } else if constexpr (std::is_same_v<T, std::string>) {
            s << v;
        } else {
            s << "0x" << std::hex << uint64_t(v);
        }
        return s.str();
    }
};

// A Verilated model on its own VerilatedContext, clocked by the harness. Each instance gets its own
// random seed for --x-initial unique / --x-assign unique, so two instances that differ in their outputs
// under the same inputs depend on uninitialised state.
template <typename Model>
class Dut {
public:
    Dut(int x_seed, const std::string& name) : ctx_(std::make_unique<VerilatedContext>()) {
        ctx_->randReset(2);  // random initial values (with --x-initial unique)
        ctx_->randSeed(x_seed);
        ctx_->traceEverOn(true);
        Verilated::threadContextp(ctx_.get());  // the model's reset values come from this context's seed
        m_ = std::make_unique<Model>(ctx_.get(), name.c_str());
        m_->clk = 0;
        m_->rst = 1;
        m_->eval();
    }
    ~Dut() {
        close_vcd();
        m_->final();
    }
    Model* operator->() { return m_.get(); }
    Model& model() { return *m_; }
    uint64_t cycle() const { return cycle_; }

    // Starts dumping into `path` (trace() is called once, before the file is opened).
    void open_vcd(const std::string& path) {
        if (!vcd_) {
            vcd_ = std::make_unique<VerilatedVcdC>();
            m_->trace(vcd_.get(), 99);
        }
        vcd_->open(path.c_str());
    }
    void close_vcd() {
        if (vcd_ && vcd_->isOpen()) vcd_->close();
    }
    bool tracing() const { return vcd_ && vcd_->isOpen(); }

    // Inputs changed within the cycle: settle the combinational outputs.
    void settle() { m_->eval(); }
    // The rising edge that ends the current cycle, then the falling edge; cycle() counts edges.
    void edge() {
        if (tracing()) vcd_->dump(2 * cycle_);
        m_->clk = 1;
        m_->eval();
        if (tracing()) vcd_->dump(2 * cycle_ + 1);
        m_->clk = 0;
        m_->eval();
        ++cycle_;
    }
    void reset(unsigned cycles = 2) {
        m_->rst = 1;
        for (unsigned i = 0; i < cycles; ++i) edge();
        m_->rst = 0;
        m_->eval();
    }

private:
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Model> m_;
    std::unique_ptr<VerilatedVcdC> vcd_;
    uint64_t cycle_ = 0;
};

// Valid/ready rules on one interface, checked once per cycle with the outputs settled (before the edge):
// once valid is up and not taken, valid stays up and the data stays the same until the transfer.
class HandshakeChecker {
public:
    explicit HandshakeChecker(std::string name) : name_(std::move(name)) {}

    void check(uint64_t cycle, bool valid, bool ready, const std::vector<uint32_t>& data, Mismatch& mm) {
        if (held_) {
            if (!valid) mm.fail(cycle, name_ + ".valid", "held high while stalled", "dropped");
            else if (data != held_data_)
                mm.fail(cycle, name_ + ".data", "stable while stalled: " + Mismatch::show(held_data_),
                        Mismatch::show(data));
        }
        held_ = valid && !ready;
        if (held_) held_data_ = data;
        if (valid && ready) ++transfers_;
        if (valid && !ready) ++stalls_;
    }
    uint64_t transfers() const { return transfers_; }
    uint64_t stalls() const { return stalls_; }

private:
    std::string name_;
    bool held_ = false;
    std::vector<uint32_t> held_data_;
    uint64_t transfers_ = 0, stalls_ = 0;
};

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

}  // namespace ov2::rtl
