// Descriptor writeback: for each frame leaving the crypto engine, takes the next posted receive buffer from
// its descriptor cache, writes the frame into it by DMA in bus-sized pieces and queues the frame's 32-byte
// completion record. Two SC_THREADs (each blocks for its DMA) and two SC_METHODs:
//  - prefetch: refills the descriptor cache in the background (one DMA read of up to desc_prefetch
//    descriptors at a time) whenever it holds fewer than desc_prefetch_threshold, so that frames do not wait
//    for a read while the driver has buffers posted on the ring;
//  - frames (run, an SC_METHOD stepping through each frame: no stack switch a frame): buffer, frame DMA,
//    record queued;
//  - completions: writes the queued records back in batches (up to wb_batch_max records, or whatever is
//    queued once the oldest has waited wb_batch_timeout_ns): the records with their done bytes clear in one
//    DMA write per bus payload, then each done byte (as QEMU's igb does: done last), then one MSI, which
//    reaches the host when the done bytes have become visible (msi_method, an SC_METHOD, raises it then).
// Owns the ring registers (BAR0 0x000-0x0FF). Back-pressure: with no posted buffer or no free completion
// slot it stalls, and the pipeline behind it fills.
#pragma once

#include <array>
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
    uint64_t stalled_desc_fetch_ps = 0;  // a frame waited for a descriptor read while buffers were posted
    uint64_t batches = 0;                // completion writebacks (each ends with one MSI)
    uint64_t batch_high_water = 0;       // most records in one writeback
};

// The ring registers as the driver programmed them (BAR0 0x000-0x0FF).
struct RingRegs {
    uint32_t rx_ctrl = 0;
    uint64_t rx_base = 0, cpl_base = 0;
    uint32_t rx_size = 0, rx_tail = 0, cpl_size = 0, cpl_head = 0;
};

// A completion record as written back: the body with its done byte clear (the done byte goes last).
void encode_record_body(Completion& c, uint8_t* out);

// Encodes a completion record. The default is Completion::encode; `--rtl wb` puts the Verilated encoder in
// (hw_model/cpl2wb_bridge.h).
class RecordEncoder {
public:
    virtual ~RecordEncoder() = default;
    virtual std::array<uint8_t, Completion::kBytes> encode(const Completion& c) = 0;
};

class DescWb : public sc_core::sc_module {
public:
    sc_core::sc_port<sc_core::sc_fifo_in_if<RxPacket*>> in;
    tlm_utils::simple_target_socket<DescWb> regs;
    tlm_utils::simple_initiator_socket<DescWb> dma;
    sc_core::sc_event irq;  // MSI to the driver: new completions are in the ring
    std::function<void(const Completion&)> on_completion;  // after its done byte is written
    void set_encoder(RecordEncoder* e) { encoder_ = e; }

    // threads = false: only the registers (the fast mode moves the frames).
    DescWb(sc_core::sc_module_name name, const TimingParams& timing, RxPacketPool& pool, bool threads = true);
    RingRegs ring_regs() const {
        return RingRegs{rx_ctrl_, rx_base_, cpl_base_, rx_size_, rx_tail_, cpl_size_, cpl_head_};
    }

    const DescWbStats& stats() const { return stats_; }
    void trace(Tracer& t);  // waveform signals (docs/waveforms.md)

private:
    struct PendingRecord {
        Completion cpl;
        uint64_t queued_ps = 0;
    };
    void run();
    void step_writer();
    void prefetch_thread();
    void completion_thread();
    size_t records_queued_before(uint64_t ps) const;
    void wake_batcher(uint64_t at_ps);
    void wait_for_record(const sc_core::sc_time* timeout);
    void msi_method();
    void reg_write(uint32_t offset, uint32_t value);
    uint32_t reg_read(uint32_t offset) const;
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    enum class DmaRequester { Writer, Batcher, Prefetcher };  // each its own process, with its own payload
    bool dma_access(DmaRequester who, tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len);
    void dma_post(uint64_t addr, uint8_t* data, uint32_t len, sc_core::sc_time& delay);
    uint64_t wait_posted(const sc_core::sc_time& delay);
    void dma_write(uint64_t addr, uint8_t* data, uint32_t len, DmaRequester who);
    void after_same_edge_requests();
    // The frame writer's steps for one frame; each may have to wait for its time or its resource.
    enum class WriterStep { Take, Ready, Resources, StallEdge, Write };
    bool have_resources();
    bool next_buffer(uint64_t& addr, uint32_t& len);
    void take_buffer(RxPacket& pkt);
    void start_frame_write(RxPacket& pkt, uint64_t buffer_addr, uint32_t buffer_len);
    uint64_t post_next_piece(RxPacket& pkt);
    bool finish_early(uint64_t release_ps);
    void finish_frame(uint64_t at_ps);
    void queue_record(RxPacket& pkt, uint64_t at_ps);
    void end_of_elaboration() override;
    void write_batch(size_t count);
    void encode_record(Completion& c, uint8_t* out);

    const TimingParams& timing_;
    RxPacketPool& pool_;
    uint32_t rx_ctrl_ = 0;
    uint64_t rx_base_ = 0, cpl_base_ = 0;
    uint32_t rx_size_ = 0, rx_tail_ = 0, rx_head_ = 0;  // rx_head_: next descriptor to fetch
    uint32_t cpl_size_ = 0, cpl_head_ = 0;  // cpl_head_: the driver's
    uint32_t cpl_next_ = 0;   // slot of the next frame's record (records are queued before they are written)
    uint32_t cpl_tail_ = 0;   // next slot to write back
    // Descriptor cache: a ring of fetched descriptors, in ring order.
    std::vector<RxDescriptor> desc_cache_;
    uint32_t cache_first_ = 0, cache_count_ = 0;
    std::vector<uint8_t> fetch_buf_;  // one read's bytes
    bool fetching_ = false;
    uint64_t ring_generation_ = 0;    // bumped when the ring is reset: a read in flight is then discarded
    sc_core::sc_event regs_changed_, cache_filled_, cache_consumed_;
    bool prefetcher_idle_ = false;  // the prefetcher waits for a register write or a descriptor taken
    // Completion records waiting for their writeback, in slot order.
    std::deque<PendingRecord> pending_;
    std::vector<uint8_t> batch_buf_;
    sc_core::sc_event record_queued_;
    bool batcher_needs_record_ = false;  // the batcher waits for any record (none is ready yet)
    bool batcher_listens_ = false;       // the batcher waits for record_queued_ (or a timeout)
    uint64_t record_wake_ps_ = 0;        // record_queued_'s notification, pending while > now (wake_batcher)
    std::deque<uint64_t> msi_due_ps_;  // interrupts on their way to the host, in order
    sc_core::sc_event msi_pending_;
    std::array<tlm::tlm_generic_payload, 3> dma_trans_;  // by DmaRequester: reused, one transaction each at a time
    DescWbStats stats_;
    RecordEncoder* encoder_ = nullptr;
    WriterStep writer_step_ = WriterStep::Take;
    RxPacket* writer_pkt_ = nullptr;  // the frame the writer holds
    FrameFifo* in_fifo_ = nullptr;    // `in`'s channel, when a FrameFifo (finish_early)
    uint64_t write_addr_ = 0;         // its buffer
    uint32_t write_len_ = 0, write_off_ = 0;  // the bytes it writes there, and those posted so far
    uint64_t stall_from_ps_ = 0;              // a stall's start, and the statistic its time goes to
    uint64_t* stall_counter_ = nullptr;
    StageTrace tr_;
    TraceSignal tr_desc_fetch_, tr_cpl_slot_, tr_cpl_done_, tr_irq_;
};

}  // namespace ov2
