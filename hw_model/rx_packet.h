// The context of one frame inside the device pipeline, and the fixed pool the MAC takes them from.
// Buffers keep their capacity between frames, so the hot path does not allocate after warm-up.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <systemc>

#include "ov2_types.h"
#include "timing_params.h"

namespace ov2 {

struct RxPacket {
    uint32_t frame = 0;              // 1-based index of the frame in the input (the device's frame tag)
    std::vector<uint8_t> data;       // frame bytes without FCS; decrypted in place by the crypto engine
    uint64_t wire_start_ps = 0;      // first bit on the wire
    uint64_t wire_end_ps = 0;        // last bit on the wire
    uint64_t ready_ps = 0;           // when the stage that produced it is done with it (its latency)
    ParseResult parse;               // outer headers, from the parser
    int32_t cam_index = -1;          // outer CAM entry hit by the lookup, -1 = none
    int32_t cam_lookup = -2;         // the lookup's answer: -2 no lookup, -1 miss, else the entry matched
    Completion cpl;                  // IPsec result, filled in as the stages go

    void reset(uint32_t frame_index) {
        frame = frame_index;
        data.clear();
        wire_start_ps = wire_end_ps = ready_ps = 0;
        parse = ParseResult{};
        cam_index = -1;
        cam_lookup = -2;
        cpl = Completion{};
        cpl.frame_tag = frame_index;
    }
};

// A duration of `ps` picoseconds (the default 1 ps resolution), inline: the hot paths build one or more a
// frame, and sc_time(double, SC_PS) converts units, sc_time::from_value is a library call. One picosecond
// times a whole number below 2^53 is exact.
__attribute__((always_inline)) inline sc_core::sc_time ps_time(uint64_t ps) {
    static const sc_core::sc_time one_ps = sc_core::sc_time::from_value(1);
    return one_ps * double(ps);
}

inline uint64_t now_ps() { return sc_core::sc_get_curr_simcontext()->time_stamp().value(); }  // sc_time_stamp(), inline

// Waits until simulated time `ps`; returns at once when it has passed (a stage's latency is carried on the
// packet as ready_ps, so a stage can take the next packet before the previous one left the pipeline).
inline void wait_until_ps(uint64_t ps) {
    const uint64_t now = now_ps();
    if (ps > now) sc_core::wait(ps_time(ps - now));
}

// The same for an SC_METHOD: true, and the method triggered then, while simulated time `ps` is still ahead.
inline bool trigger_at(uint64_t ps) {
    const uint64_t now = now_ps();
    if (ps <= now) return false;
    sc_core::next_trigger(ps_time(ps - now));
    return true;
}

// Device blocks act on core clock edges only (cycle mode, docs/timing.md): a block woken by anything that is
// not on the core clock (a register write over MMIO, a DMA finishing on the bus) waits for the next edge.
inline void wait_for_edge(const TimingParams& t) { wait_until_ps(t.edge_at_or_after(now_ps())); }

// The FIFO of frames at a block boundary (valid/ready), for the cycle mode's blocks; a drop-in for
// sc_fifo<RxPacket*> with the same timing at every simulated picosecond, and fewer process wake-ups:
//  - a reader waiting on an empty FIFO takes the next frame the moment it is written (as an sc_fifo reader
//    would, a delta later), so that frame never holds a slot;
//  - with wake_at_ready (the default), that reader is woken only at the frame's ready_ps rather than at once:
//    every reader waits for ready_ps right after taking a frame, so nothing it does changes. Off for a
//    reader that records the take on the waveform (`--vcd`) before it waits.
//  - a read frees its slot at once (an sc_fifo frees it in the update phase of the same picosecond) and
//    wakes a blocked writer a delta later;
//  - a stage that will hand its frame on at the end of its busy time, to a reader that waits for it and wakes
//    only at the frame's later ready_ps anyway, can write it early (write_early) and, with its own input
//    empty, let that FIFO read for it at its busy end (read_later): the stage sleeps through its busy end.
//  - a writer that knows now that a frame will be written at a later time (the MAC running ahead of the
//    wire) can write it for that time (write_at): the FIFO acts from then on as if the frame were written
//    then; a reader sees it only from then on.
//  - a writer whose next frame is due later can ask whether the reader will look only after that
//    (reader_reads_after: then write_at now is the same as the write then) and, while the reader is asleep
//    until a wake the FIFO gave it, to be called back when the reader is done acting on that wake
//    (call_back_when_reader_pauses; the reader calls reader_paused() at the end of each activation).
class FrameFifo;

// The writer side's call-back (FrameFifo::call_back_when_reader_pauses).
class FifoReaderPauses {
public:
    virtual void reader_paused(FrameFifo& fifo) = 0;

protected:
    ~FifoReaderPauses() = default;
};

class FrameFifo final : public sc_core::sc_prim_channel,
                  public sc_core::sc_fifo_in_if<RxPacket*>,
                  public sc_core::sc_fifo_out_if<RxPacket*> {
public:
    FrameFifo(const char* name, int size) : sc_core::sc_prim_channel(name), size_(size) {}
    void set_wake_at_ready(bool on) { wake_at_ready_ = on; }

    bool nb_read(RxPacket*& pkt) override {
        arrive_due_writes();
        if (handed_) {
            pkt = handed_;
            handed_ = nullptr;
            silent_ = false;
            return true;
        }
        if (queue_.empty()) {
            reader_waiting_ = true;  // the next write hands its frame over
            deliver_next_timed_write();
            return false;
        }
        pkt = queue_.front();
        queue_.pop_front();
        if (writer_waiting_) {
            writer_waiting_ = false;
            read_event_.notify(sc_core::SC_ZERO_TIME);
        }
        return true;
    }
    void read(RxPacket*& pkt) override {
        while (!nb_read(pkt)) sc_core::wait(written_event_);
    }
    RxPacket* read() override {
        RxPacket* pkt = nullptr;
        read(pkt);
        return pkt;
    }
    int num_available() const override { return int(queue_.size()) + (handed_ ? 1 : 0) + timed_writes_due(); }
    const sc_core::sc_event& data_written_event() const override { return written_event_; }

    bool nb_write(RxPacket* const& pkt) override {
        arrive_due_writes();
        const uint64_t now = now_ps();
        if (reader_waiting_) {
            to_waiting_reader(pkt, now);
            return true;
        }
        if (num_free() == 0) {
            writer_waiting_ = true;
            // A slot held until the reader's read frees then, with no read to wake the writer.
            if (held_until_ps_ > now) read_event_.notify(ps_time(held_until_ps_ - now));
            return false;
        }
        queue_.push_back(pkt);
        return true;
    }
    // A stage busy until `back_ps` that will find this FIFO empty then, without waking at back_ps to look:
    // from now on the FIFO acts as if the reader had read it at back_ps. A frame written before back_ps waits
    // in the FIFO and wakes the reader at back_ps (when the read would have found it), or, with wake_at_ready,
    // goes to the reader at its later ready_ps and holds its slot until back_ps; one written from back_ps on
    // goes to the reader as to any waiting reader. The FIFO must be empty now.
    void read_later(uint64_t back_ps) {
        reader_waiting_ = true;
        reader_back_ps_ = back_ps;
        deliver_next_timed_write();
    }
    // The frame is written at `at_ps` (> now, and not at a time the reader acts on), by the FIFO's one writer,
    // which has made sure it fits then (num_free counts frames written for later) and writes nothing else
    // before then. A reader waiting now stays waiting until the FIFO wakes it (it holds no frame), so the
    // write goes to it now, exactly as it would then; otherwise the frame joins the queue at `at_ps`, the
    // first time the FIFO is used from then on.
    void write_at(RxPacket* pkt, uint64_t at_ps) {
        timed_writes_.push_back(TimedWrite{pkt, at_ps});
        if (reader_waiting_) deliver_next_timed_write();
    }
    // With wake_at_ready, whether a frame written at `at_ps` by the FIFO's one writer would go to the reader,
    // which waits now (and reads from at_ps on or earlier), and wake it at its ready_ps > at_ps: then
    // write_early(pkt) now is the same for the reader as that write.
    bool reader_waits_for(const RxPacket& pkt, uint64_t at_ps) const {
        return wake_at_ready_ && reader_waiting_ && !handed_ && reader_back_ps_ <= at_ps && pkt.ready_ps > at_ps;
    }
    void write_early(RxPacket* pkt) {
        reader_waiting_ = false;
        hand_over(pkt, pkt->ready_ps);
    }
    // The reader's process is also statically sensitive to `other`'s written event (one SC_METHOD reads
    // both FIFOs): a frame handed over for a time at which that event is due anyway needs no notification
    // of its own, and the reader finds it due by handed_due_now().
    void share_wake_with(const FrameFifo* other) { wake_shared_with_ = other; }
    bool handed_due_now() const { return silent_ && handed_->ready_ps == now_ps(); }

    // Whether the reader looks at the FIFO only after `at_ps` (> now): it waits, the FIFO is empty, and the
    // reader reads from a later time on (read_later). A frame written at at_ps would wait in the FIFO for that
    // read, untouched until then: the one writer, writing nothing else before at_ps, may write_at it now.
    bool reader_reads_after(uint64_t at_ps) const {
        return reader_waiting_ && !handed_ && queue_.empty() && timed_writes_.empty() && at_ps < reader_back_ps_ &&
               at_ps > now_ps();
    }
    // When the FIFO will wake its reader (a timed notification of the written event is pending), else 0. The
    // FIFO notifies only a reader waiting for that event, which stays asleep until then.
    uint64_t reader_wake_ps() const { return pending_ps_ > now_ps() ? pending_ps_ : 0; }
    // `who` is called (once) when the reader next calls reader_paused(), at the end of its next activation.
    void call_back_when_reader_pauses(FifoReaderPauses* who) { call_back_ = who; }
    void reader_paused() {
        if (!call_back_) return;
        FifoReaderPauses* who = call_back_;
        call_back_ = nullptr;
        who->reader_paused(*this);
    }

    void write(RxPacket* const& pkt) override {
        while (!nb_write(pkt)) sc_core::wait(read_event_);
    }
    int num_free() const override {
        return size_ - int(queue_.size()) - int(timed_writes_.size()) - (held_until_ps_ > now_ps() ? 1 : 0);
    }
    const sc_core::sc_event& data_read_event() const override { return read_event_; }
    const char* kind() const override { return "FrameFifo"; }

private:
    struct TimedWrite {
        RxPacket* pkt;
        uint64_t at_ps;
    };
    // A write at `at_ps` (now, or write_at's time) that finds the reader waiting.
    void to_waiting_reader(RxPacket* pkt, uint64_t at_ps) {
        reader_waiting_ = false;
        if (at_ps < reader_back_ps_) {  // the reader reads at reader_back_ps_ and finds it
            if (wake_at_ready_ && pkt->ready_ps > reader_back_ps_) {
                // It would wait for ready_ps after that read: it gets the frame then, which holds its slot
                // until the read.
                held_until_ps_ = reader_back_ps_;
                hand_over(pkt, pkt->ready_ps);
            } else {
                queue_.push_back(pkt);
                notify_reader(reader_back_ps_);
            }
            return;
        }
        hand_over(pkt, wake_at_ready_ && pkt->ready_ps > at_ps ? pkt->ready_ps : at_ps);
    }
    // Timed writes whose time has come, written as they would have been then: to a reader that was busy
    // since (one waiting would have taken the first at once).
    void arrive_due_writes() {
        const uint64_t now = now_ps();
        while (!timed_writes_.empty() && timed_writes_.front().at_ps <= now) {
            queue_.push_back(timed_writes_.front().pkt);
            timed_writes_.pop_front();
        }
    }
    int timed_writes_due() const {
        const uint64_t now = now_ps();
        int n = 0;
        for (const TimedWrite& w : timed_writes_) {
            if (w.at_ps > now) break;
            ++n;
        }
        return n;
    }
    // The reader has just started waiting: the next timed write, if any, finds it so.
    void deliver_next_timed_write() {
        if (timed_writes_.empty()) return;
        const TimedWrite w = timed_writes_.front();
        timed_writes_.pop_front();
        to_waiting_reader(w.pkt, w.at_ps);
    }
    void hand_over(RxPacket* pkt, uint64_t wake_ps) {
        handed_ = pkt;
        if (wake_shared_with_ && wake_ps == pkt->ready_ps && wake_shared_with_->reader_woken_at(wake_ps)) {
            silent_ = true;
            return;
        }
        notify_reader(wake_ps);
    }
    // Notifies the reader at `at_ps` (>= now), keeping track of the notification sc_event keeps: a delta
    // one cancels a timed one and discards those that follow it in its delta; an earlier timed one stands.
    void notify_reader(uint64_t at_ps) {
        const uint64_t now = now_ps();
        written_event_.notify(ps_time(at_ps - now));
        if (at_ps == now) {
            pending_ps_ = 0;
            delta_notified_ = sc_core::sc_delta_count();
        } else if (delta_notified_ != sc_core::sc_delta_count() && (pending_ps_ <= now || at_ps < pending_ps_)) {
            pending_ps_ = at_ps;
        }
    }
    // Whether the written event is due at `ps` (> now): its timed notification for then is pending.
    bool reader_woken_at(uint64_t ps) const { return pending_ps_ == ps && ps > now_ps(); }

    const int size_;
    std::deque<RxPacket*> queue_;
    std::deque<TimedWrite> timed_writes_;  // write_at's frames not yet due, in order
    RxPacket* handed_ = nullptr;    // taken by the waiting reader, which wakes at its time
    bool reader_waiting_ = false, writer_waiting_ = false;
    uint64_t reader_back_ps_ = 0;   // a waiting reader reads from then on (read_later)
    uint64_t held_until_ps_ = 0;    // handed_ holds a slot until then (read_later)
    bool wake_at_ready_ = true;
    const FrameFifo* wake_shared_with_ = nullptr;
    bool silent_ = false;           // handed_ went over without a notification (share_wake_with)
    FifoReaderPauses* call_back_ = nullptr;  // to call at the reader's next reader_paused()
    uint64_t pending_ps_ = 0;       // the written event's pending timed notification, if > now
    uint64_t delta_notified_ = ~uint64_t(0);  // the delta count of its last delta notification
    sc_core::sc_event written_event_, read_event_;
};

// A read or write through a port (or interface pointer) whose channel may be a FrameFifo: `fifo`, that
// channel found once at elaboration (null when it is another channel), is called directly, without the
// port's virtual interface, on the stages' per-frame paths.
template <typename Port>
bool nb_read_via(FrameFifo* fifo, Port&& port, RxPacket*& pkt) {
    return fifo ? fifo->nb_read(pkt) : port->nb_read(pkt);
}
template <typename Port>
bool nb_write_via(FrameFifo* fifo, Port&& port, RxPacket* pkt) {
    return fifo ? fifo->nb_write(pkt) : port->nb_write(pkt);
}

class RxPacketPool {
public:
    RxPacketPool(size_t count, size_t reserve_bytes) {
        storage_.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            storage_.push_back(std::make_unique<RxPacket>());
            storage_.back()->data.reserve(reserve_bytes);
            free_.push_back(storage_.back().get());
        }
    }
    // Blocks the calling SC_THREAD until a context is free.
    RxPacket* acquire() {
        while (free_.empty()) {
            ++waiters_;
            sc_core::wait(released_);
            --waiters_;
        }
        RxPacket* p = free_.back();
        free_.pop_back();
        return p;
    }
    RxPacket* try_acquire() {  // nullptr when every context is in use
        if (free_.empty()) return nullptr;
        RxPacket* p = free_.back();
        free_.pop_back();
        return p;
    }
    void release(RxPacket* p) {
        free_.push_back(p);
        if (waiters_) released_.notify(sc_core::SC_ZERO_TIME);  // no event a frame when nobody waits
    }
    size_t in_use() const { return storage_.size() - free_.size(); }

private:
    std::vector<std::unique_ptr<RxPacket>> storage_;
    std::vector<RxPacket*> free_;
    sc_core::sc_event released_;
    uint32_t waiters_ = 0;  // threads blocked in acquire()
};

}  // namespace ov2
