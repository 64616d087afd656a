// `--rtl cam`: the Verilated rtl/sa_cam.sv beside the SystemC SaCamTable (docs/rtl.md, "Swap-in").
// TLM/SystemC side -> RTL pins. The bus's CAM register socket binds to `regs` here instead of SaCam's:
// register writes go to the table at once and to the RTL's register port on the next core clock edge;
// register reads are answered by the RTL (the bus counts the wait for the edge into the MMIO latency).
// The pipeline's lookups, holds and releases reach the bridge through CamObserver and enter the RTL on the
// edge at or after the moment the SystemC stage acts (the CAM stage's keys before the crypto stage's inner
// ones on a shared edge). The CAM stage's answers are the RTL's: the pipeline takes each from the bridge
// (CamAnswerSource) on its result edge, LATENCY cycles after the key, and decides the frame on it. The
// inner lookups' answers are compared only (the crypto stage uses the table's at once). The table stays
// the entry and key RAM (the crypto engine follows it) and the model the RTL is checked against: every
// disagreement is counted and the first one kept (stats()).
//
// The Verilated model is clocked only on edges with an input or something in flight, lazily: an edge is
// clocked once SystemC time has passed it (EdgeClock::settled), when the next input comes, a read waits,
// or at finish(). With a Tracer the bridge also wakes itself on those edges so the pins are recorded on
// time (scope cam_rtl, docs/waveforms.md).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "rtl_edges.h"
#include "sa_cam.h"
#include "timing_params.h"
#include "trace.h"

class Vsa_cam;

namespace ov2 {

class Tlm2CamBridge : public sc_core::sc_module, public CamObserver, public CamAnswerSource {
public:
    tlm_utils::simple_target_socket<Tlm2CamBridge> regs;       // from the bus
    tlm_utils::simple_initiator_socket<Tlm2CamBridge> to_cam;  // to SaCam's register socket

    // Throws std::invalid_argument when the model's settings differ from the Verilated RTL's parameters
    // (cam_latency_cycles vs LATENCY, bundles vs BUNDLES).
    // x_check: a second instance with other random values for X and uninitialised state gets the same
    // inputs; any output that differs (valids always, data under valid) is a disagreement.
    Tlm2CamBridge(sc_core::sc_module_name name, const TimingParams& timing, SaCamTable& table, uint32_t bundles,
                  bool x_check = false);
    ~Tlm2CamBridge() override;

    void trace(Tracer& t);  // the pins, scope cam_rtl (docs/waveforms.md)
    void finish();          // end of the run: clocks until nothing is in flight; leftovers are mismatches
    const RtlBridgeStats& stats() const { return stats_; }
    // For the test that shows a disagreement is reported: the RTL gets every lookup key with its SPI's
    // lowest bit flipped, so its answers differ from the table's.
    void plant_key_fault() { key_fault_ = true; }
    // For the test that shows the X check compares: the shadow instance gets the SPI with its lowest bit
    // flipped.
    void plant_shadow_fault() { shadow_fault_ = true; }
    // For the tests of the answers' own checks: each frame's answer is dropped before the pipeline takes it
    // (Lost), or a hit's index is moved beyond the table (BeyondTable).
    enum class AnswerFault { None, Lost, BeyondTable };
    void plant_answer_fault(AnswerFault fault) { answer_fault_ = fault; }

    static uint32_t rtl_latency();
    static uint32_t rtl_bundles();

    // CamObserver
    void looked_up(uint32_t spi, const IpAddr& dst, std::optional<uint32_t> result, CamPort port) override;
    void held(uint32_t index) override;
    void released(uint32_t index) override;
    void entry_changed(uint32_t index, reg::SaCmdOp op, bool deferred) override;

    // CamAnswerSource: the RTL's answer to the oldest CAM-stage lookup. An answer not there yet, or an
    // index beyond the table, is a disagreement; the first gives the table's answer, the second a miss.
    std::optional<uint32_t> take_answer(std::optional<uint32_t> table_answer) override;

private:
    struct RegOp {
        bool write = false;
        uint32_t addr = 0, value = 0, expected = 0;  // expected: the table's read answer
    };
    struct Lookup {
        uint32_t spi = 0;
        uint8_t version = 0;
        std::array<uint32_t, 4> dst{};  // as lk_dst carries it: byte i at bits 8 * (i % 4) of word i / 4
        bool hit = false, wildcard = false, inner = false;
        uint32_t index = 0;
        uint64_t accepted = 0;  // the edge the RTL took it on
    };
    struct Pulse {
        uint32_t index = 0, op = 0;  // upd: entry, op; clr: bundle, mask
    };

    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    uint32_t read_rtl(uint32_t offset, uint32_t expected);
    void catch_up();
    bool work_pending() const;
    void clock_edge();
    void drive_inputs(uint64_t edge);
    void check_outputs(uint64_t edge);
    void keep_stage_answer(std::optional<uint32_t> answer);
    void check_shadow(uint64_t edge);
    void trace_pins(uint64_t edge) const;
    void wake_method();
    void request_wake();
    void mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual);

    const uint32_t latency_;
    SaCamTable& table_;
    EdgeClock clock_;
    std::unique_ptr<rtl::Dut<Vsa_cam>> dut_, shadow_;
    std::unique_ptr<rtl::HandshakeChecker> lk_check_, res_check_;
    uint64_t next_edge_ = 0;  // the first edge not clocked yet
    std::deque<RegOp> reg_q_;
    std::deque<Lookup> key_q_, in_flight_;
    std::deque<std::optional<uint32_t>> stage_answers_;  // the RTL's, not yet taken by the pipeline
    std::deque<uint32_t> hold_q_, rel_q_;
    std::deque<Pulse> upd_expected_, clr_expected_;
    uint32_t clr_mask_ = 0;            // deferred clears of the release being reported
    std::optional<RegOp> read_driven_;  // the read on the edge just clocked
    std::optional<uint32_t> read_answer_;
    bool key_fault_ = false, shadow_fault_ = false;
    AnswerFault answer_fault_ = AnswerFault::None;
    RtlBridgeStats stats_;
    sc_core::sc_event wake_;
    bool tracing_ = false;
    TraceSignal tr_reg_wr_, tr_reg_rd_, tr_reg_addr_, tr_reg_wdata_, tr_reg_rvalid_, tr_reg_rdata_;
    TraceSignal tr_lk_valid_, tr_lk_ready_, tr_lk_spi_, tr_lk_version_, tr_lk_dst_lo_, tr_lk_dst_hi_;
    TraceSignal tr_res_valid_, tr_res_hit_, tr_res_wildcard_, tr_res_index_;
    TraceSignal tr_upd_valid_, tr_upd_index_, tr_upd_op_;
    TraceSignal tr_hold_valid_, tr_hold_index_, tr_rel_valid_, tr_rel_index_;
    TraceSignal tr_clr_valid_, tr_clr_bundle_, tr_clr_mask_;
};

}  // namespace ov2
