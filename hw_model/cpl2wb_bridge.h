// `--rtl wb`: the Verilated completion-record encoder rtl/desc_wb.sv in DescWb's place of
// Completion::encode (docs/rtl.md, "Swap-in"). Completion -> RTL pins -> 32 record bytes.
//
// Timing: DescWb::write_batch encodes the records of a batch just before its DMA write. With the RTL, the
// batch's records enter the encoder one an edge from the first edge at or after that moment, and each
// record's bytes are taken LATENCY cycles later. The encoder's pipeline is overlapped with the DMA, not
// added to it: the bridge clocks it right away, up to batch size + LATENCY edges ahead of SystemC time
// (it has no state besides its pipeline, so no later input could change a byte), and the DMA leaves at the
// SystemC time as before, so oob.jsonl does not move. Each record is also encoded by Completion::encode;
// a difference is counted (stats()) and the RTL's bytes are the ones written.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "desc_wb.h"
#include "ov2_types.h"
#include "rtl_edges.h"
#include "timing_params.h"
#include "trace.h"

class Vdesc_wb;

namespace ov2 {

// The encoder's input pins from a Completion (also the lockstep bench's driver).
template <typename Model>
void set_completion_pins(Model& m, const Completion& c) {
    m.in_frame_tag = c.frame_tag;
    m.in_length = c.length;
    m.in_ipsec_flags = c.ipsec_flags;
    m.in_handle = c.handle;
    m.in_inner_handle = c.inner_handle;
    m.in_crypto_status = c.crypto_status;
    m.in_next_header = c.next_header;
    m.in_pad_length = c.pad_length;
    m.in_unprocessed_reason = c.unprocessed_reason;
    m.in_seq_low = c.seq_low;
    m.in_timestamp_ps = c.timestamp_ps;
    m.in_done = c.done;
}

class Cpl2WbBridge : public RecordEncoder {
public:
    // x_check: as for Tlm2CamBridge, a shadow instance with other X values must agree.
    explicit Cpl2WbBridge(const TimingParams& timing, bool x_check = false);
    ~Cpl2WbBridge() override;

    std::array<uint8_t, Completion::kBytes> encode(const Completion& c) override;
    void trace(Tracer& t);  // the pins, scope desc_wb_rtl (docs/waveforms.md)
    void finish();          // end of the run: the last record's output transfer
    const RtlBridgeStats& stats() const { return stats_; }
    // For the test that shows a disagreement is reported: the RTL gets every record with its pad_length + 1.
    void plant_record_fault() { record_fault_ = true; }

    static uint32_t rtl_latency();

private:
    void clock_edge(bool in_valid);
    void mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual);

    EdgeClock clock_;
    std::unique_ptr<rtl::Dut<Vdesc_wb>> dut_, shadow_;
    std::unique_ptr<rtl::HandshakeChecker> in_check_, cpl_check_;
    uint64_t next_edge_ = 0;
    bool record_fault_ = false;
    RtlBridgeStats stats_;
    TraceSignal tr_in_valid_, tr_in_ready_, tr_in_frame_tag_, tr_cpl_valid_, tr_cpl_ready_, tr_cpl_frame_tag_,
        tr_cpl_status_;
};

}  // namespace ov2
