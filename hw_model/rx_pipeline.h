// The device's receive pipeline between the MAC and descriptor writeback: the parser, SA CAM lookup and
// crypto engine stages, between finite FrameFifos (back-pressure), each with an issue interval it waits and
// a latency it carries on the packet (RxPacket::ready_ps). Every stage, and the reorder buffer behind the
// crypto lanes, steps through its frame in an SC_METHOD (no stack switch a frame; the parser and the CAM
// stage share one, front_stages); each acts on the same edges a thread waiting for the same times would, and
// the parser and the CAM sleep through the end of their busy time when nothing happens then (hand_on_early).
// The per-packet decisions (the NDIS receive rules) are plain functions, shared with any other timing mode.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>

#include <systemc>

#include "crypto_engine.h"
#include "parser_contract.h"
#include "rx_packet.h"
#include "rx_parser.h"
#include "sa_cam.h"
#include "timing_params.h"
#include "trace.h"

namespace ov2 {

struct RxPathStats {
    std::array<uint64_t, 13> unprocessed{};  // by NicReason
    std::array<uint64_t, 8> status{};        // by CryptoStatus, for crypto_done packets
    uint64_t crypto_done = 0, next_crypto_done = 0, portions = 0, inner_lookups = 0, inner_misses = 0;
    uint64_t parser_malformed = 0, parser_frames = 0;
};

// NDIS rules 1-3: offload enabled, SA for SPI + destination, packet within the capabilities. Fills
// pkt.cam_index and, for a packet the NIC will not process, pkt.cpl.unprocessed_reason. Returns true when
// the crypto engine has work. A protocol mismatch is decided here too (CryptoDone with INVALID_PROTOCOL).
// lookup (optional): the CAM lookup's outcome, -2 = no lookup, -1 = miss, else the entry matched (also
// when the packet is then outside the capabilities).
bool decide_outer(RxPacket& pkt, SaCamTable& cam, RxPathStats& stats, int32_t* lookup = nullptr);

// The pieces of decide_outer, for a lookup whose answer comes from elsewhere (the RTL CAM, `--rtl cam`):
// the rules before the lookup (Processed = look it up); the rules on a known answer, filling pkt without
// counting; undoing that (back to a packet not yet decided); counting a decision in stats (or taking it
// back out, uncount = true).
NicReason reason_before_lookup(const ParseResult& p, const SaCamTable& cam);
bool decide_on_answer(RxPacket& pkt, const SaCamTable& cam, std::optional<uint32_t> index);
void clear_outer_decision(RxPacket& pkt);
void count_outer_decision(const RxPacket& pkt, RxPathStats& stats, bool uncount);

// NDIS rule 4: runs the crypto engine outside in over the outer SA (bundle), then, for a tunnel SA whose
// inner packet carries IPsec with an offloaded transport SA, over that one too. Fills pkt.cpl.
void process_ipsec(RxPacket& pkt, SaCamTable& cam, CryptoEngine& crypto, RxPathStats& stats);

// Cycles the crypto lanes are busy with a packet of `bytes` under the entry's algorithms.
uint32_t crypto_busy_cycles(const TimingParams& t, const CamEntry& e, size_t bytes);
uint32_t crypto_latency_cycles(const TimingParams& t, const CamEntry& e);
// The same in ps: a lane's busy time, and the latency of the result after it (with the transport portion's
// second lookup and pass when next_crypto_done).
uint64_t crypto_lane_busy_ps(const TimingParams& t, const CamEntry& e, size_t l3_bytes);
uint64_t crypto_result_latency_ps(const TimingParams& t, const CamEntry& e, bool next_crypto_done);

// `--rtl parser` (hw_model/rx2parser_bridge.h): told of each frame the parser stage takes, at the edge it
// takes it, after the SystemC parse (pkt.parse), its walk and its timing (pkt.ready_ps = now + result
// cycles). It may replace pkt.parse until pkt.ready_ps, when the CAM stage reads it.
class ParserSwap {
public:
    virtual ~ParserSwap() = default;
    virtual void frame_taken(RxPacket& pkt, const HeaderWalk& walk, const ParserTiming& timing) = 0;
};

class RxPipeline : public sc_core::sc_module, private FifoReaderPauses {
public:
    sc_core::sc_port<sc_core::sc_fifo_in_if<RxPacket*>> in;    // from the MAC
    sc_core::sc_port<sc_core::sc_fifo_out_if<RxPacket*>> out;  // to descriptor writeback

private:
    // front_stages' static sensitivity to `in` (a port: bound later); owned here, as the kernel does not
    // free an event finder.
    sc_core::sc_event_finder_t<sc_core::sc_fifo_in_if<RxPacket*>> in_written_{
        in, &sc_core::sc_fifo_in_if<RxPacket*>::data_written_event};

public:
    // threads = false: no stage runs (the fast mode computes them).
    RxPipeline(sc_core::sc_module_name name, const TimingParams& timing, SaCamTable& cam, CryptoEngine& crypto,
               bool threads = true);
    const RxPathStats& stats() const { return stats_; }
    std::function<void(const RxPacket&)> on_input_taken;  // the parser took a frame out of the MAC's FIFO
    void set_parser_swap(ParserSwap* swap) { parser_swap_ = swap; }  // null: the SystemC parse stands
    uint64_t crypto_busy_ps() const { return crypto_busy_ps_; }
    // Finished frames the reorder buffer wrote into the FIFO to writeback ahead of their result time
    // (plan_retire), and those written at it.
    uint64_t frames_retired_ahead() const { return retired_ahead_; }
    uint64_t frames_retired_on_time() const { return retired_on_time_; }
    // `--rtl cam`: each lookup's answer comes from `answers` on its result edge (cam_latency_cycles after the
    // lookup), before the crypto stage acts on the frame; the table's answer is only the model beside it.
    void take_cam_answers_from(CamAnswerSource* answers) { cam_answers_ = answers; }
    // Waveform signals (docs/waveforms.md): the three stages, the crypto lanes, then the input queue of
    // the stage it feeds.
    void trace(Tracer& t, const std::string& next_stage);

private:
    // The parser and the CAM stage step through a frame alike: take it, wait for it to be ready, do the
    // stage's work on that edge (which returns the end of its busy time), then hand it on. One SC_METHOD
    // (front_stages) runs both: each stage waits for one event (an input or output FIFO's, or its own timer)
    // and steps when that event is the one triggered.
    enum class StageStep { Take, Ready, Hand };
    struct Stage {
        sc_core::sc_fifo_in_if<RxPacket*>* input = nullptr;
        FrameFifo* input_fifo = nullptr;  // `input`'s channel, when a FrameFifo (hand_on_early)
        FrameFifo* output = nullptr;
        StageTrace* trace = nullptr;
        StageTrace* next_trace = nullptr;
        bool trace_take_on_read = false;  // else the work records the take, on the ready edge
        uint64_t (RxPipeline::*work)(RxPacket&) = nullptr;
        StageStep step = StageStep::Take;
        RxPacket* pkt = nullptr;  // the frame the stage holds
        const sc_core::sc_event* waits_for = nullptr;  // null: not started
        sc_core::sc_event timer;                        // the stage's timed waits
    };
    void front_stages();
    void step_stage(Stage& s);
    void stage_waits(Stage& s, const sc_core::sc_event& e) { s.waits_for = &e; }
    void stage_sleeps_until(Stage& s, uint64_t ps);
    void handed_on(Stage& s);
    uint64_t parse_taken_frame(RxPacket& pkt);
    uint64_t look_up(RxPacket& pkt);
    bool hand_on_early(RxPacket* pkt, FrameFifo& output, FrameFifo* input, uint64_t busy_end);
    void end_of_elaboration() override;
    // The crypto stage's steps for one frame; each may have to wait for its time or its resource.
    enum class CryptoStep { Take, LookedUp, Lane, Reorder };
    void crypto_stage();
    void start_crypto(RxPacket& pkt);
    void finish_crypto(RxPacket& pkt);
    void crypto_retire();
    void plan_retire();
    void arm_retirer(uint64_t wake_ps);
    void drop_departed(bool notify_stage);
    size_t reorder_occupancy() const { return reorder_.size() + departing_.size(); }
    void reader_paused(FrameFifo& fifo) override;
    void confirm_lookup(RxPacket& pkt);
    uint64_t cycles_ps(uint64_t cycles) const { return timing_.cycles_ps(cycles); }

    const TimingParams& timing_;
    SaCamTable& cam_;
    CryptoEngine& crypto_;
    CamAnswerSource* cam_answers_ = nullptr;
    FrameFifo parsed_;
    FrameFifo looked_up_;
    std::vector<uint64_t> lane_free_ps_;
    uint64_t last_crypto_ready_ps_ = 0;
    Stage parser_, cam_stage_;
    CryptoStep crypto_step_ = CryptoStep::Take;
    RxPacket* crypto_pkt_ = nullptr;  // the frame the crypto stage holds
    uint64_t crypto_start_ps_ = 0, crypto_lane_busy_ps_ = 0, crypto_ready_ps_ = 0;
    std::deque<RxPacket*> reorder_;  // frames in the lanes, in arrival order (not yet in the FIFO to writeback)
    // Result times of frames written into the FIFO to writeback ahead of them: they hold their reorder slot
    // until then.
    std::deque<uint64_t> departing_;
    FrameFifo* out_fifo_ = nullptr;    // `out`'s channel, when a FrameFifo (plan_retire)
    sc_core::sc_event retire_wake_;    // the retirer's static sensitivity: its next due time
    uint64_t retire_armed_ps_ = 0;     // retire_wake_'s pending notification, while >= now
    bool retire_blocked_ = false;      // the retirer waits for room in the FIFO to writeback
    uint64_t retired_ahead_ = 0, retired_on_time_ = 0;
    sc_core::sc_event retired_;
    uint64_t crypto_busy_ps_ = 0;
    RxPathStats stats_;
    HeaderWalk walk_;  // the parser's, reused frame after frame
    ParserTimingMemo parser_timing_;
    ParserSwap* parser_swap_ = nullptr;
    StageTrace tr_parser_, tr_cam_, tr_crypto_;
    QueueTrace tr_out_;
    TraceSignal tr_lookup_, tr_hit_, tr_entry_, tr_reorder_;
    std::vector<TraceSignal> tr_lane_busy_, tr_lane_frame_;
};

}  // namespace ov2
