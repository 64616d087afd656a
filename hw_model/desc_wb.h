// Descriptor writeback: for each frame leaving the crypto engine, takes the next posted receive buffer
// (reads its descriptor by DMA), writes the frame into it by DMA in bus-sized pieces, then writes the
// 32-byte completion record into the completion ring with the done bit clear, and the done byte last
// (as QEMU's igb does), and raises the interrupt. Owns the ring registers (BAR0 0x000-0x0FF).
// Back-pressure: with no posted buffer or no free completion slot it stalls, and the pipeline behind it fills.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "rx_packet.h"
#include "timing_params.h"
#include "trace.h"

namespace ov2 {

struct DescWbStats {
    uint64_t completions = 0, dma_bytes = 0, truncated = 0, dma_errors = 0;
    uint64_t stalled_no_buffer_ps = 0, stalled_cpl_full_ps = 0, interrupts = 0, desc_fetches = 0;
};

class DescWb : public sc_core::sc_module {
public:
    sc_core::sc_port<sc_core::sc_fifo_in_if<RxPacket*>> in;
    tlm_utils::simple_target_socket<DescWb> regs;
    tlm_utils::simple_initiator_socket<DescWb> dma;
    sc_core::sc_event irq;  // MSI to the driver: new completions are in the ring
    std::function<void(const RxPacket&)> on_completion;  // after the done byte is written

    DescWb(sc_core::sc_module_name name, const TimingParams& timing, RxPacketPool& pool);
    const DescWbStats& stats() const { return stats_; }
    void trace(Tracer& t);  // waveform signals (docs/waveforms.md)

private:
    void run();
    void reg_write(uint32_t offset, uint32_t value);
    uint32_t reg_read(uint32_t offset) const;
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    bool dma_access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len);
    void dma_write(uint64_t addr, uint8_t* data, uint32_t len);
    void wait_for_resources();
    bool next_buffer(uint64_t& addr, uint32_t& len);
    void write_frame(RxPacket& pkt, uint64_t buffer_addr, uint32_t buffer_len);
    void write_completion(RxPacket& pkt);

    const TimingParams& timing_;
    RxPacketPool& pool_;
    uint32_t rx_ctrl_ = 0;
    uint64_t rx_base_ = 0, cpl_base_ = 0;
    uint32_t rx_size_ = 0, rx_tail_ = 0, rx_head_ = 0;
    uint32_t cpl_size_ = 0, cpl_head_ = 0, cpl_tail_ = 0;  // cpl_head_: driver's, cpl_tail_: next to write
    std::vector<uint8_t> desc_cache_;                       // prefetched descriptors
    uint32_t desc_cached_ = 0, desc_used_ = 0;
    sc_core::sc_event regs_changed_;
    std::deque<uint64_t> msi_due_ps_;  // interrupts on their way to the host, in order
    sc_core::sc_event msi_pending_;
    void msi_thread();
    DescWbStats stats_;
    StageTrace tr_;
    TraceSignal tr_desc_fetch_, tr_cpl_slot_, tr_cpl_done_, tr_irq_;
};

}  // namespace ov2
