// `--rtl parser`: the Verilated rtl/rx_parser.sv in the parser stage's place (docs/rtl.md, "Swap-in").
// Frames from the SystemC stage -> the RTL's s_* pins, beat by beat; its r_* record -> the ParseResult the
// rest of the pipeline uses.
//
// The stage takes a frame on a core clock edge E0, runs parse_frame() and parser_timing() (the one parser
// contract) and tells the bridge (ParserSwap::frame_taken). The frame's first beat enters the RTL on E0,
// the others back to back as s_ready allows; r_ready is 1 (below). The record must be on r_* in cycle
// E0 + result, the cycle the CAM stage reads the frame's parse (pkt.ready_ps): the bridge then writes the
// RTL's record into pkt.parse, which it cleared at the take, so the pipeline runs on the RTL's parse.
// parse_frame()'s result is the expected record; every field that differs, every cycle where s_ready or
// r_valid differ from the contract (ParserContract, as the lockstep bench checks it), a record that
// comes in another cycle than parser_timing says, and every handshake rule broken is counted (stats()).
//
// r_ready is always 1: the record's place is the frame's own RxPacket, which the stage hands on with the
// frame; the stage's back-pressure (the FIFO to the CAM stage full) holds the next frame in the MAC's FIFO,
// which the RTL sees as s_valid 0 before that frame's first beat, exactly as the contract's timing has it.
//
// Clocked only on edges with a beat to offer or a frame in flight, lazily (EdgeClock::settled, as
// tlm2cam_bridge) or when their inputs are known: when a frame is taken, its edges up to E0 + busy (the
// stage takes no other frame before), at finish(), and just after the edge after which a frame's record
// is due if it is not in its packet by then (a wake-up, cancelled when a frame taken earlier got it there).
// With a Tracer it also wakes on every edge with work (scope parser_rtl).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "parser_record.h"
#include "rtl_edges.h"
#include "rx_pipeline.h"
#include "timing_params.h"
#include "trace.h"

class Vrx_parser;

namespace ov2 {

class Rx2ParserBridge : public sc_core::sc_module, public ParserSwap {
public:
    // Throws InputError when datapath_bytes or parser_latency_cycles differ from the Verilated RTL's W and
    // LATENCY. x_check: a shadow instance with other X values gets the same inputs and must agree.
    Rx2ParserBridge(sc_core::sc_module_name name, const TimingParams& timing, bool x_check = false);
    ~Rx2ParserBridge() override;

    void frame_taken(RxPacket& pkt, const HeaderWalk& walk, const ParserTiming& timing) override;
    void trace(Tracer& t);  // the pins, scope parser_rtl (docs/waveforms.md)
    void finish();          // end of the run: clocks until nothing is in flight; leftovers are mismatches
    const RtlBridgeStats& stats() const { return stats_; }

    // For the tests that show a disagreement is reported. The RTL gets each IPsec frame with its SPI's
    // top bit flipped (its record's r_spi differs, and the pipeline runs on it: no SA matches).
    void plant_spi_fault() { spi_fault_ = true; }
    // Each frame's first beat enters the RTL one edge after the stage took the frame (as a parser one cycle
    // slower would take it): every record comes a cycle after parser_timing's, too late for the CAM stage.
    void plant_late_first_beat() { late_first_beat_ = true; }
    // The shadow instance gets the IPv4 protocol byte with its lowest bit flipped.
    void plant_shadow_fault() { shadow_fault_ = true; }

    static uint32_t rtl_width();
    static uint32_t rtl_latency();

private:
    struct Stream {  // a frame's bytes on their way in
        std::vector<uint8_t> bytes;
        uint64_t first_edge = 0;
    };
    struct InFlight {  // a frame whose record is not out yet
        RxPacket* pkt = nullptr;  // null once its record is overdue: the packet may be recycled after that
        uint32_t number = 0;
        uint16_t header_steps = 0;
        ParserRecord expected{};
        uint64_t result_edge = 0;  // the record is on r_* in this cycle (before this edge)
    };

    void catch_up();
    bool work_pending() const;
    void clock_edge();
    bool drive_inputs(uint64_t edge);  // returns whether a beat is offered
    void check_before_edge(uint64_t edge, bool offered);
    void check_shadow(uint64_t edge);
    void take_record(uint64_t cycle);
    void expire_overdue(uint64_t cycle);
    void trace_pins(uint64_t edge) const;
    void trace_outputs(uint64_t edge) const;
    void wake_method();
    void request_wake();
    void mismatch(uint64_t edge, const std::string& signal, const std::string& expected, const std::string& actual);
    void mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual);

    EdgeClock clock_;
    std::unique_ptr<rtl::Dut<Vrx_parser>> dut_, shadow_;
    std::unique_ptr<rtl::HandshakeChecker> s_check_, r_check_;
    ParserContract contract_;
    uint64_t next_edge_ = 0;  // the first edge not clocked yet
    std::deque<Stream> streams_;
    std::vector<std::vector<uint8_t>> spare_buffers_;  // frame buffers to reuse
    size_t beats_taken_ = 0;                           // of streams_.front()
    std::deque<InFlight> in_flight_;
    std::vector<uint32_t> s_words_;  // the beat as the s handshake checker sees it
    bool spi_fault_ = false, late_first_beat_ = false, shadow_fault_ = false;
    RtlBridgeStats stats_;
    sc_core::sc_event wake_;
    bool tracing_ = false;
    TraceSignal tr_s_valid_, tr_s_ready_, tr_s_last_, tr_s_bytes_;
    TraceSignal tr_r_valid_, tr_r_ready_, tr_r_kind_, tr_r_error_, tr_r_syntax_error_, tr_r_ip_version_,
        tr_r_l3_offset_, tr_r_ipsec_offset_, tr_r_spi_, tr_r_seq_, tr_r_dst_lo_, tr_r_dst_hi_;
};

}  // namespace ov2
