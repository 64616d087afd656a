// The pieces of the RTL harness that the model's bridges use too (hw_model/tlm2cam_bridge.h,
// hw_model/cpl2wb_bridge.h), without GoogleTest: a clocked Verilated model, the valid/ready protocol
// checker and the first-mismatch record. The lockstep benches get them through rtl_harness.h.
#pragma once

// libsystemc's headers (pulled in by hw_model blocks) and verilated.h both declare sc_time_stamp:
// toolchain.md pitfall 7.
#include <systemc>
using sc_core::sc_time_stamp;

#include <verilated.h>
#include <verilated_vcd_c.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace ov2::rtl {

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
        // The model's scopes unregister through Verilated::threadContextp(): it must be this model's
        // context, not another Dut's (already destroyed) one.
        Verilated::threadContextp(ctx_.get());
        close_vcd();
        m_->final();
        m_.reset();
    }
    Model* operator->() { return m_.get(); }
    Model& model() { return *m_; }
    const Model& model() const { return *m_; }
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

// For the bridges, two evaluations an edge instead of Dut::settle + Dut::edge's three (the RTL's
// combinational logic is most of a bridge's cost): the new inputs settle with clk low (a falling edge, which
// no register uses: docs/rtl.md, conventions), then the rising edge; clk stays high until the next edge's
// inputs settle. No VCD of its own (the bridges record their pins into the system's trace).
template <typename Model>
void settle_low(Model& m) {
    m.clk = 0;
    m.eval();
}
template <typename Model>
void rise(Model& m) {
    m.clk = 1;
    m.eval();
}

// Valid/ready rules on one interface, checked once per cycle with the outputs settled (before the edge):
// once valid is up and not taken, valid stays up and the data stays the same until the transfer.
class HandshakeChecker {
public:
    explicit HandshakeChecker(std::string name) : name_(std::move(name)) {}

    void check(uint64_t cycle, bool valid, bool ready, const std::vector<uint32_t>& data, Mismatch& mm) {
        check(cycle, valid, ready, data.data(), data.size(), mm);
    }
    // The same for a fixed-size array (no allocation: the bridges check every edge).
    template <size_t N>
    void check(uint64_t cycle, bool valid, bool ready, const std::array<uint32_t, N>& data, Mismatch& mm) {
        check(cycle, valid, ready, data.data(), N, mm);
    }
    void check(uint64_t cycle, bool valid, bool ready, const uint32_t* data, size_t words, Mismatch& mm) {
        if (held_) check_held(cycle, valid, data, words, mm);
        held_ = valid && !ready;
        if (held_) held_data_.assign(data, data + words);
        transfers_ += valid && ready;
        stalls_ += held_;
    }
    // Whether this cycle's check reads the data: only a stalled transfer (now or in the cycle before) has
    // its data compared. Otherwise check() may get no data (nullptr, 0), so a caller can skip gathering it.
    bool wants_data(bool valid, bool ready) const { return held_ || (valid && !ready); }
    uint64_t transfers() const { return transfers_; }
    uint64_t stalls() const { return stalls_; }

private:
    void check_held(uint64_t cycle, bool valid, const uint32_t* data, size_t words, Mismatch& mm) const {
        if (!valid) mm.fail(cycle, name_ + ".valid", "held high while stalled", "dropped");
        else if (!std::equal(data, data + words, held_data_.begin(), held_data_.end()))
            mm.fail(cycle, name_ + ".data", "stable while stalled: " + Mismatch::show(held_data_),
                    Mismatch::show(std::vector<uint32_t>(data, data + words)));
    }

    std::string name_;
    bool held_ = false;
    std::vector<uint32_t> held_data_;
    uint64_t transfers_ = 0, stalls_ = 0;
};

}  // namespace ov2::rtl
