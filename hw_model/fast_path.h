// Fast mode (`--mode fast`): the work of MacRx, RxPipeline, DescWb and the driver's interrupt handler done
// by ONE SC_THREAD with no SystemC wait per frame (loosely timed, temporal decoupling with a quantum keeper).
// A second thread only runs scripted OIDs (--oids), from the moment the cycle mode's MAC would.
//
// Per frame, in input order: the MAC places it on the wire and checks it (WirePacer, mac_check), the FIFO
// model decides rx_missed from the times the parser takes frames, and the pipeline stages get their times
// from the threads' arithmetic (issue intervals, latencies, stage FIFO back-pressure, earliest free crypto
// lane, in-order retire); the functional work is the shared functions (parse_frame, decide_outer,
// process_ipsec). Behind the pipeline, writeback (descriptor cache and prefetch, frame DMA, completion
// batches), the DMA link and the driver's handler are four small state machines ordered by simulated time,
// advanced as far as the frames need. docs/timing.md ("Fast mode") says where times differ from the cycle
// mode and by how much.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "bus.h"
#include "crypto_engine.h"
#include "desc_wb.h"
#include "driver_shim.h"
#include "host_memory.h"
#include "mac_rx.h"
#include "parser_contract.h"
#include "rx_pipeline.h"
#include "sa_cam.h"

namespace ov2 {

// Global quantum: the fast thread runs at most this far ahead of SystemC time before it yields. Nothing
// else runs during a fast run except MMIO, so it only bounds how stale SystemC time may be (10 us is
// ~1500 minimum-size frames at 100 Gb/s: one context switch per 1500 frames).
constexpr uint64_t kFastQuantumPs = 10'000'000;

struct FastStats {
    MacStats mac;
    RxPathStats rx;
    DescWbStats wb;
    BusStats bus;  // the DMA side and the handler's ring register writes (the rest of MMIO is HostBus's)
    uint64_t crypto_busy_ps = 0;
};

struct FastBlocks {
    const TimingParams& timing;
    const MacConfig& mac;
    FrameSource& source;
    SaCamTable& cam;
    CryptoEngine& crypto;
    HostMemory& memory;
    DriverShim& driver;
    const DescWb& wb;  // its ring registers, as the driver programmed them
    size_t contexts;   // the cycle mode's frame contexts (RxPacketPool): a frame that finds none is missed
};

class FastPath : public sc_core::sc_module {
public:
    std::function<void(const RxPacket&, MacDrop)> on_drop;
    std::function<void(const RxPacket&)> on_arrival;
    std::function<void(uint32_t frame, uint64_t at_ps)> on_completion;  // its done byte was written

    FastPath(sc_core::sc_module_name name, const FastBlocks& blocks);
    const FastStats& stats() const { return stats_; }
    uint32_t frames_seen() const { return frames_; }
    // Brings SystemC time up to the event being computed, before a call that blocks (MMIO).
    void sync_for_blocking_call() { sync_to(event_ps_); }

private:
    static constexpr uint64_t kNever = UINT64_MAX;
    struct Proc {
        uint64_t next = kNever;
        int state = 0;
    };
    struct StageTimes {  // of an admitted frame, for the back-pressure of the FIFOs behind it
        uint64_t cam_take = 0, crypto_take = 0, retire_done = 0, wb_take = 0;
    };
    struct Pending {
        Completion cpl;
        uint64_t queued_ps = 0;
    };
    struct FifoEntry {
        uint64_t take_ps = 0;
        uint32_t bytes = 0;
    };

    void run();
    void start_after_init();
    void receive(uint64_t start_ps, uint64_t end_ps);
    bool next_frame(uint64_t& start_ps, uint64_t& end_ps);
    uint64_t next_oid_start_ps();
    void run_oids(uint32_t frame);
    void start_oids(uint64_t at_ps, uint32_t frame);
    void oid_thread();
    void reach_lookup(uint64_t lookup_ps);
    void window_sync(uint64_t ps);
    void flush_releases();
    bool admit(const RxPacket& pkt, uint64_t end_ps);
    void pipeline(RxPacket& pkt);
    uint64_t crypto_stage(RxPacket& pkt, uint64_t at_ps, uint64_t& start_ps);
    const StageTimes* behind(uint64_t s, uint64_t depth) const {
        return s >= depth ? &hist_[(s - depth) & hist_mask_] : nullptr;
    }
    void drop(const RxPacket& pkt, MacDrop reason);
    void sync_to(uint64_t ps);
    void keep_quantum(uint64_t ps);

    // The writeback side: state machines stepped in time order.
    uint64_t next_event() const;
    void step(uint64_t now);  // now: next_event()
    void advance_to(uint64_t ps);
    void advance_until_taken(uint64_t s);
    void feed(uint64_t s, uint64_t retire_ps);
    void writer_step(uint64_t now);
    void write_pieces(uint64_t now);
    bool writer_take_buffer(uint64_t now);
    void prefetch_next_buffer(uint32_t last_len);
    void batcher_step(uint64_t now);
    size_t records_queued_before(uint64_t ps);
    void begin_stretch(uint64_t now);
    void finish_batch(uint64_t now);
    void prefetch_step(uint64_t now);
    void isr_step(uint64_t now);
    void isr_sleep(uint64_t now);
    void drop_lost_msis(uint64_t now);
    bool completion_visible(uint64_t now) const { return visible_ps_[drv_head_] <= now; }
    uint64_t post_write(uint64_t issue_ps, uint32_t bytes);
    void regs_changed(uint64_t now);

    const TimingParams& t_;
    const MacConfig& mac_config_;
    FrameSource& source_;
    SaCamTable& cam_;
    CryptoEngine& crypto_;
    HostMemory& memory_;
    DriverShim& driver_;
    const DescWb& wb_;
    const size_t contexts_;
    WirePacer pacer_;
    const size_t fifo_frames_;
    const uint64_t depth_, reorder_depth_;
    tlm_utils::tlm_quantumkeeper qk_;
    FastStats stats_;
    WireFrame wire_;
    HeaderWalk walk_;  // the parser's log of the frame being parsed (parser_timing)
    ParserTimingMemo parser_timing_;
    RxPacket scratch_;
    uint32_t frames_ = 0;
    uint64_t event_ps_ = 0;  // time of the event being computed

    // ---- scripted OIDs ----
    struct Ahead {  // a frame read ahead of the loop, placed on the wire
        WireFrame wire;
        uint64_t start_ps = 0, end_ps = 0;
    };
    uint64_t mac_now_ = 0;
    std::deque<Ahead> ahead_;
    std::vector<WireFrame> spare_;
    bool source_done_ = false;
    uint32_t oid_frame_ = UINT32_MAX - 1, oid_run_frame_ = 0;  // oid_frame_: whose start oid_start_ps_ is
    uint64_t oid_start_ps_ = kNever, oid_done_ps_ = 0;
    bool oid_running_ = false;
    sc_core::sc_event oid_go_, oid_done_;
    std::deque<std::pair<uint64_t, uint32_t>> releases_;  // CAM releases due while OIDs run (time, entry)

    // ---- MAC and pipeline ----
    std::vector<FifoEntry> fifo_;  // MAC FIFO: admitted frames the parser has not taken, ring
    size_t fifo_first_ = 0, fifo_count_ = 0;
    uint64_t fifo_bytes_ = 0;
    std::vector<StageTimes> hist_;
    uint64_t hist_mask_ = 0;
    std::vector<RxPacket> ctx_;  // admitted frames until writeback copied them, ring
    uint64_t ctx_mask_ = 0;
    uint64_t admitted_ = 0, released_ = 0;
    uint64_t parser_free_ = 0, cam_free_ = 0, crypto_free_ = 0, retire_prev_ = 0, last_ready_ = 0;
    std::vector<uint64_t> lane_free_ps_;

    // ---- writeback, link, driver ----
    RingRegs regs_;
    DmaLink link_;
    Proc writer_, batcher_, prefetch_, isr_;
    std::vector<uint64_t> in_retire_ps_;  // retire time of each frame fed to the writer, by admitted index
    uint64_t fed_ = 0, taken_ = 0;
    uint64_t writer_idle_ps_ = 0;
    uint64_t w_off_ = 0, w_len_ = 0, w_stall_from_ = kNever;
    uint64_t* w_stall_counter_ = nullptr;
    bool w_waiting_regs_ = false;
    uint32_t rx_head_ = 0, cpl_next_ = 0, cpl_tail_ = 0;
    std::vector<RxDescriptor> desc_cache_;
    uint32_t cache_first_ = 0, cache_count_ = 0;
    bool fetching_ = false, p_waiting_ = false;
    uint32_t p_from_ = 0, p_n_ = 0;
    std::vector<Pending> pending_;  // ring of cpl_size
    size_t pending_first_ = 0, pending_count_ = 0;
    bool b_waiting_ = false;
    size_t queued_scan_ = 0;       // records_queued_before: records found queued before queued_scan_ps_
    uint64_t queued_scan_ps_ = 0;
    size_t b_count_ = 0, b_written_ = 0, b_n_ = 0;
    uint32_t b_first_ = 0;
    uint64_t b_off_ = 0, b_body_ = 0, b_link_free_ = 0;
    std::vector<uint64_t> visible_ps_;  // per completion slot: when its done byte is visible, kNever = not
    std::vector<uint64_t> msi_ps_;      // interrupts on their way, ring
    size_t msi_first_ = 0, msi_count_ = 0;
    uint32_t drv_head_ = 0, handled_ = 0, give_back_tail_ = 0;
    // TimingParams' conversions of the constant latencies, computed once.
    const uint64_t cycle_ps_, cam_latency_ps_, full_piece_ps_;
    const uint64_t bus_latency_ps_, batch_timeout_ps_, irq_latency_ps_, per_packet_ps_, mmio_latency_ps_;
};

}  // namespace ov2
