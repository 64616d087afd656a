#include "desc_wb.h"

#include <algorithm>
#include <cstring>

#include "reg_access.h"

namespace ov2 {

using sc_core::sc_time;
using sc_core::SC_PS;

void encode_record_body(Completion& c, uint8_t* out) {
    c.done = false;
    const std::array<uint8_t, Completion::kBytes> record = c.encode();
    std::copy(record.begin(), record.end(), out);
}

DescWb::DescWb(sc_core::sc_module_name name, const TimingParams& timing, RxPacketPool& pool, bool threads)
    : sc_module(name), in("in"), regs("regs"), dma("dma"), timing_(timing), pool_(pool),
      desc_cache_(timing.desc_cache_entries),
      fetch_buf_(size_t(std::min(timing.desc_prefetch, timing.desc_cache_entries)) * RxDescriptor::kBytes) {
    regs.register_b_transport(this, &DescWb::b_transport);
    SC_HAS_PROCESS(DescWb);
    if (!threads) return;
    SC_METHOD(run);
    SC_THREAD(prefetch_thread);
    SC_THREAD(completion_thread);
    SC_METHOD(msi_method);
}

void DescWb::trace(Tracer& t) {
    tr_.attach(t, "desc_wb");
    tr_desc_fetch_.attach(t, "desc_wb.desc_fetch", 1, TraceFormat::Bin);
    tr_cpl_slot_.attach(t, "desc_wb.cpl_slot", 32);
    tr_cpl_done_.attach(t, "desc_wb.cpl_done", 1, TraceFormat::Bin);
    tr_irq_.attach(t, "desc_wb.irq", 1, TraceFormat::Bin);
}

void DescWb::reg_write(uint32_t offset, uint32_t value) {
    switch (offset) {
    case reg::kRxCtrl: rx_ctrl_ = value; break;
    case reg::kRxRingBaseLo: rx_base_ = (rx_base_ & ~0xFFFFFFFFULL) | value; break;
    case reg::kRxRingBaseHi: rx_base_ = (rx_base_ & 0xFFFFFFFFULL) | uint64_t(value) << 32; break;
    case reg::kRxRingSize:
        rx_size_ = value;
        rx_head_ = rx_tail_ = 0;
        cache_first_ = cache_count_ = 0;
        ++ring_generation_;
        break;
    case reg::kRxRingTail: rx_tail_ = rx_size_ ? value % rx_size_ : 0; break;
    case reg::kCplRingBaseLo: cpl_base_ = (cpl_base_ & ~0xFFFFFFFFULL) | value; break;
    case reg::kCplRingBaseHi: cpl_base_ = (cpl_base_ & 0xFFFFFFFFULL) | uint64_t(value) << 32; break;
    case reg::kCplRingSize: cpl_size_ = value; cpl_head_ = cpl_tail_ = cpl_next_ = 0; break;
    case reg::kCplRingHead: cpl_head_ = cpl_size_ ? value % cpl_size_ : 0; break;
    default: return;
    }
    regs_changed_.notify(sc_core::SC_ZERO_TIME);
}

uint32_t DescWb::reg_read(uint32_t offset) const {
    switch (offset) {
    case reg::kRxCtrl: return rx_ctrl_;
    case reg::kRxRingBaseLo: return uint32_t(rx_base_);
    case reg::kRxRingBaseHi: return uint32_t(rx_base_ >> 32);
    case reg::kRxRingSize: return rx_size_;
    case reg::kRxRingTail: return rx_tail_;
    case reg::kRxRingHead: return rx_head_;
    case reg::kCplRingBaseLo: return uint32_t(cpl_base_);
    case reg::kCplRingBaseHi: return uint32_t(cpl_base_ >> 32);
    case reg::kCplRingSize: return cpl_size_;
    case reg::kCplRingHead: return cpl_head_;
    default: return 0;
    }
}

void DescWb::b_transport(tlm::tlm_generic_payload& trans, sc_time&) {
    serve_register_access(trans, [this](uint32_t off, uint32_t v) { reg_write(off, v); },
                          [this](uint32_t off) { return reg_read(off); });
}

bool DescWb::dma_access(DmaRequester who, tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len) {
    sc_time delay = sc_core::SC_ZERO_TIME;
    const tlm::tlm_response_status status = transact(dma, dma_trans_[size_t(who)], cmd, addr, data, len, delay);
    if (cmd == tlm::TLM_WRITE_COMMAND) {
        wait_posted(delay);
    } else {
        sc_core::wait(delay);
        wait_for_edge(timing_);  // the data arrived off the core clock
    }
    if (status == tlm::TLM_OK_RESPONSE) return true;
    ++stats_.dma_errors;
    return false;
}

// A posted write holds the writer for its link time (`delay`), up to TimingParams::writer_release_ps, so
// waiting for edges never leaves the link idle. Returns when the link is free.
uint64_t DescWb::wait_posted(const sc_time& delay) {
    const uint64_t link_free = now_ps() + delay.value();
    wait_until_ps(timing_.writer_release_ps(now_ps(), link_free));
    return link_free;
}

// A posted write issued `delay` from now without waiting for it (loosely timed): the bus adds its link time
// to `delay`, and the caller waits once after a run of such writes.
void DescWb::dma_post(uint64_t addr, uint8_t* data, uint32_t len, sc_time& delay) {
    const size_t batcher = size_t(DmaRequester::Batcher);
    if (transact(dma, dma_trans_[batcher], tlm::TLM_WRITE_COMMAND, addr, data, len, delay) != tlm::TLM_OK_RESPONSE)
        ++stats_.dma_errors;
}

// The DMA arbiter's fixed order on one edge: the completion batcher's requests go after those of the frame
// writer and the prefetcher, whatever order SystemC runs the three processes in. (Only the batcher waits for
// the others, so the waiting always ends.)
void DescWb::after_same_edge_requests() {
    while (sc_core::sc_pending_activity_at_current_time()) sc_core::wait(sc_core::SC_ZERO_TIME);
}

// Posted writes never exceed the bus's maximum payload: larger ones go in pieces, in order.
void DescWb::dma_write(uint64_t addr, uint8_t* data, uint32_t len, DmaRequester who) {
    for (uint32_t off = 0; off < len; off += timing_.bus_max_payload_bytes) {
        if (who == DmaRequester::Batcher) after_same_edge_requests();
        const uint32_t piece = std::min(timing_.bus_max_payload_bytes, len - off);
        dma_access(who, tlm::TLM_WRITE_COMMAND, addr + off, data + off, piece);
    }
}

// A buffer to write into and a completion slot to report in; both rings are full when one slot is left,
// so that head == tail always means empty. Slots are counted as the frames take them (cpl_next_), before
// their records are written back. False: the writer stalls (triggered again on a register write or a
// descriptor read coming back), and `stall_counter_` is the statistic its stall time goes to.
bool DescWb::have_resources() {
    const bool enabled = (rx_ctrl_ & 1) && rx_size_ && cpl_size_;
    const bool buffer = enabled && cache_count_ > 0;
    const bool posted = enabled && (fetching_ || rx_head_ != rx_tail_);  // the prefetcher is on it
    const bool slot = enabled && (cpl_next_ + 1) % cpl_size_ != cpl_head_;
    if (buffer && slot) {
        tr_.stall.set(0);
        return true;
    }
    stall_from_ps_ = now_ps();
    tr_.stall.set(1);
    stall_counter_ = !buffer ? (posted ? &stats_.stalled_desc_fetch_ps : &stats_.stalled_no_buffer_ps)
                             : &stats_.stalled_cpl_full_ps;
    sc_core::next_trigger(regs_changed_ | cache_filled_);
    return false;
}

// The frame goes into its buffer (truncated to the buffer's length) in posted writes of at most the bus's
// maximum payload; its completion record says how much of it did.
void DescWb::start_frame_write(RxPacket& pkt, uint64_t buffer_addr, uint32_t buffer_len) {
    const uint32_t len = uint32_t(std::min<size_t>(pkt.data.size(), buffer_len));
    if (len < pkt.data.size()) {
        pkt.cpl.ipsec_flags |= kCplTruncated;
        ++stats_.truncated;
    }
    write_addr_ = buffer_addr;
    write_len_ = len;
    write_off_ = 0;
}

void DescWb::end_of_elaboration() { in_fifo_ = dynamic_cast<FrameFifo*>(in.get_interface()); }

// Issues the frame's next piece; returns the writer's release edge (TimingParams::writer_release_ps, so
// waiting for edges never leaves the link idle), now when it is not held.
uint64_t DescWb::post_next_piece(RxPacket& pkt) {
    const uint32_t piece = std::min(timing_.bus_max_payload_bytes, write_len_ - write_off_);
    sc_time delay = sc_core::SC_ZERO_TIME;
    const tlm::tlm_response_status status = transact(dma, dma_trans_[size_t(DmaRequester::Writer)],
                                                     tlm::TLM_WRITE_COMMAND, write_addr_ + write_off_,
                                                     pkt.data.data() + write_off_, piece, delay);
    write_off_ += timing_.bus_max_payload_bytes;
    if (status != tlm::TLM_OK_RESPONSE) ++stats_.dma_errors;
    const uint64_t now = now_ps();
    return timing_.writer_release_ps(now, now + delay.value());
}

// The frame's last piece holds the writer until `release_ps`, when it would queue the record and read its
// input, which is empty now: with the input a FrameFifo, the record is queued now for `release_ps` (the
// batcher counts a record from its queued_ps on) and the FIFO reads for the writer then
// (FrameFifo::read_later), so the writer does not wake at `release_ps`. Off with the waveform on (it shows
// the writer done at `release_ps`).
bool DescWb::finish_early(uint64_t release_ps) {
    if (!in_fifo_ || tr_.on() || in_fifo_->num_available() != 0) return false;
    finish_frame(release_ps);
    in_fifo_->read_later(release_ps);
    sc_core::next_trigger(in->data_written_event());
    return true;
}

// Takes the next descriptor from the cache (wait_for_resources made sure there is one). A descriptor with
// address 0 (a failed read is cached as zeros) gives no buffer.
bool DescWb::next_buffer(uint64_t& addr, uint32_t& len) {
    const RxDescriptor& d = desc_cache_[cache_first_];
    addr = d.buffer_addr;
    len = d.buffer_len;
    cache_first_ = (cache_first_ + 1) % uint32_t(desc_cache_.size());
    --cache_count_;
    // Only an idle prefetcher waits for it (a fetching one looks at the cache again when its read is back).
    if (prefetcher_idle_ && cache_count_ < timing_.desc_prefetch_threshold)
        cache_consumed_.notify(sc_core::SC_ZERO_TIME);
    return addr != 0;
}

// Background descriptor prefetch: one read in flight at a time, started whenever the cache holds fewer
// than desc_prefetch_threshold descriptors and the driver has posted more; each read takes up to
// desc_prefetch descriptors, no more than the cache has room for, and stops at the tail and at the end of
// the ring.
void DescWb::prefetch_thread() {
    const uint32_t capacity = uint32_t(desc_cache_.size());
    for (;;) {
        const bool enabled = (rx_ctrl_ & 1) && rx_size_;
        const uint32_t posted = enabled ? (rx_tail_ + rx_size_ - rx_head_) % rx_size_ : 0;
        if (!posted || cache_count_ >= timing_.desc_prefetch_threshold || cache_count_ == capacity) {
            prefetcher_idle_ = true;
            sc_core::wait(regs_changed_ | cache_consumed_);
            prefetcher_idle_ = false;
            wait_for_edge(timing_);
            continue;
        }
        const uint32_t from = rx_head_;
        const uint32_t n = std::min({timing_.desc_prefetch, capacity - cache_count_, posted, rx_size_ - from});
        const uint64_t generation = ring_generation_;
        ++stats_.desc_fetches;
        fetching_ = true;
        tr_desc_fetch_.set(1);
        const bool ok = dma_access(DmaRequester::Prefetcher, tlm::TLM_READ_COMMAND,
                                   rx_base_ + uint64_t(from) * RxDescriptor::kBytes, fetch_buf_.data(),
                                   n * uint32_t(RxDescriptor::kBytes));
        tr_desc_fetch_.set(0);
        fetching_ = false;
        if (generation == ring_generation_) {  // else the ring was set up again meanwhile: drop what was read
            rx_head_ = (from + n) % rx_size_;
            for (uint32_t i = 0; i < n; ++i) {
                RxDescriptor d;  // a failed read leaves zeros: no buffer
                if (ok) {
                    const uint8_t* p = fetch_buf_.data() + size_t(i) * RxDescriptor::kBytes;
                    std::memcpy(&d.buffer_addr, p, 8);
                    std::memcpy(&d.buffer_len, p + 8, 4);
                }
                desc_cache_[(cache_first_ + cache_count_) % capacity] = d;
                ++cache_count_;
            }
        }
        cache_filled_.notify(sc_core::SC_ZERO_TIME);
    }
}

// The record body with its done byte clear, through the RTL encoder under `--rtl wb`.
void DescWb::encode_record(Completion& c, uint8_t* out) {
    if (!encoder_) return encode_record_body(c, out);
    c.done = false;
    const std::array<uint8_t, Completion::kBytes> record = encoder_->encode(c);
    std::copy(record.begin(), record.end(), out);
}

// Writes back the oldest `count` queued records (slots cpl_tail_ on): per stretch of contiguous slots, the
// records with their done bytes clear in bus-sized writes, then each record's done byte, in slot order; one
// MSI for the batch, ordered behind the done bytes.
void DescWb::write_batch(size_t count) {
    ++stats_.batches;
    stats_.batch_high_water = std::max<uint64_t>(stats_.batch_high_water, count);
    size_t written = 0;
    uint64_t link_free = 0;
    while (written < count) {
        const uint32_t first = cpl_tail_;
        const size_t n = std::min<size_t>(count - written, cpl_size_ - first);  // up to the end of the ring
        const uint64_t first_addr = cpl_base_ + uint64_t(first) * Completion::kBytes;
        batch_buf_.resize(n * Completion::kBytes);
        for (size_t i = 0; i < n; ++i)
            encode_record(pending_[written + i].cpl, batch_buf_.data() + i * Completion::kBytes);
        tr_cpl_slot_.set(first);
        // The last record's done byte is left out of the body: it is only ever written as 1, last.
        dma_write(first_addr, batch_buf_.data(), uint32_t(n * Completion::kBytes - 1), DmaRequester::Batcher);
        after_same_edge_requests();
        sc_time delay = sc_core::SC_ZERO_TIME;
        uint8_t done = 1;
        for (size_t i = 0; i < n; ++i)
            dma_post(first_addr + i * Completion::kBytes + Completion::kBytes - 1, &done, 1, delay);
        link_free = wait_posted(delay);
        cpl_tail_ = uint32_t((first + n) % cpl_size_);
        written += n;
    }
    for (size_t i = 0; i < count; ++i) {
        pending_.front().cpl.done = true;
        if (on_completion) on_completion(pending_.front().cpl);
        pending_.pop_front();
    }
    tr_cpl_done_.pulse();  // one pulse a batch: its done bytes went out
    stats_.completions += count;
    ++stats_.interrupts;
    // The MSI is a posted write too, ordered behind the done bytes: it reaches the host when the batch has
    // become visible, one bus latency after the done bytes left the link.
    msi_due_ps_.push_back(link_free + timing_.bus_latency_ps());
    if (msi_due_ps_.size() == 1) msi_pending_.notify(sc_core::SC_ZERO_TIME);  // else already due at the front's time
    tr_irq_.pulse();
}

// A batch is written when it is full (wb_batch_max records) or when its oldest record has waited
// wb_batch_timeout_ns, whichever comes first. The records queue is a register: a record queued on an edge is
// the batcher's from the next edge on, so the order of two processes on one edge changes nothing.
void DescWb::completion_thread() {
    const uint64_t timeout_ps = timing_.wb_batch_timeout_ps();
    for (;;) {
        const uint64_t now = now_ps();
        const size_t ready = records_queued_before(now);
        if (!ready && !pending_.empty()) {  // queued on this edge (or later): the batcher's from the next one
            sc_core::wait(ps_time(pending_.front().queued_ps + timing_.clock_ps() - now));
            continue;
        }
        if (!ready) {
            batcher_needs_record_ = true;
            wait_for_record(nullptr);
            batcher_needs_record_ = false;
            continue;
        }
        const uint64_t due = timing_.edge_at_or_after(pending_.front().queued_ps + timeout_ps);
        if (ready >= timing_.wb_batch_max || now >= due) {
            write_batch(std::min<size_t>(ready, timing_.wb_batch_max));
        } else {
            const sc_time timeout = ps_time(due - now);
            wait_for_record(&timeout);
        }
    }
}

// record_queued_ is notified (a kernel event) only while the batcher waits for it: one notified while the
// batcher is busy is kept here, as sc_event would keep it (an earlier pending notification stands, a later
// one is replaced), and handed to the event when the batcher starts waiting, if still ahead. The batcher
// then wakes exactly when it would have: a notification due while it was busy woke nobody.
void DescWb::wake_batcher(uint64_t at_ps) {
    const uint64_t now = now_ps();
    if (record_wake_ps_ <= now || at_ps < record_wake_ps_) record_wake_ps_ = at_ps;
    if (batcher_listens_) record_queued_.notify(ps_time(at_ps - now));
}

void DescWb::wait_for_record(const sc_time* timeout) {
    const uint64_t now = now_ps();
    if (record_wake_ps_ > now) record_queued_.notify(ps_time(record_wake_ps_ - now));
    batcher_listens_ = true;
    if (timeout) sc_core::wait(*timeout, record_queued_);
    else sc_core::wait(record_queued_);
    batcher_listens_ = false;
}

size_t DescWb::records_queued_before(uint64_t ps) const {
    size_t n = 0;
    while (n < pending_.size() && pending_[n].queued_ps < ps) ++n;
    return n;
}

// An SC_METHOD: raises each MSI when it reaches the host, then sleeps until the next one is due (or, with
// none on its way, until a batch queues one).
void DescWb::msi_method() {
    const uint64_t now = now_ps();
    while (!msi_due_ps_.empty()) {
        if (msi_due_ps_.front() > now) {
            sc_core::next_trigger(ps_time(msi_due_ps_.front() - now));
            return;
        }
        msi_due_ps_.pop_front();
        irq.notify();
    }
    sc_core::next_trigger(msi_pending_);
}

// An SC_METHOD: the writer's steps, then, as the reader of its input FIFO, the end of its activation
// (FrameFifo::reader_paused: the crypto stage's retirer may have asked to look at the FIFO then).
void DescWb::run() {
    step_writer();
    if (in_fifo_) in_fifo_->reader_paused();
}

// One step at a time (WriterStep), on the edges a thread waiting for the same times would wake on: take the
// frame, wait for its ready time, for a buffer and a completion slot (then for the next edge), write it into
// its buffer piece by piece, then queue its record.
void DescWb::step_writer() {
    for (;;) {
        switch (writer_step_) {
        case WriterStep::Take:
            if (!nb_read_via(in_fifo_, in, writer_pkt_)) {
                sc_core::next_trigger(in->data_written_event());
                return;
            }
            tr_.take(writer_pkt_->frame);
            writer_step_ = WriterStep::Ready;
            break;
        case WriterStep::Ready:
            if (trigger_at(writer_pkt_->ready_ps)) return;
            writer_step_ = WriterStep::Resources;
            break;
        case WriterStep::Resources:
            if (!have_resources()) {
                writer_step_ = WriterStep::StallEdge;
                return;
            }
            take_buffer(*writer_pkt_);
            writer_step_ = WriterStep::Write;
            break;
        case WriterStep::StallEdge:  // woken off the core clock: the writer acts on the next edge
            if (trigger_at(timing_.edge_at_or_after(now_ps()))) return;
            *stall_counter_ += now_ps() - stall_from_ps_;
            writer_step_ = WriterStep::Resources;
            break;
        case WriterStep::Write:
            if (write_off_ < write_len_) {
                const uint64_t release = post_next_piece(*writer_pkt_);
                if (release > now_ps() && write_off_ >= write_len_ && finish_early(release)) return;
                if (trigger_at(release)) return;
                break;
            }
            finish_frame(now_ps());
            break;
        }
    }
}

// The frame takes the next descriptor and completion slot, and its buffer writes begin.
void DescWb::take_buffer(RxPacket& pkt) {
    uint64_t buffer_addr = 0;
    uint32_t buffer_len = 0;
    if (!next_buffer(buffer_addr, buffer_len)) {
        // The descriptor read failed (bad ring address): the frame cannot be delivered. Write its
        // completion without data so the driver still accounts for it.
        buffer_len = 0;
    }
    cpl_next_ = (cpl_next_ + 1) % cpl_size_;
    start_frame_write(pkt, buffer_addr, buffer_len);
}

// The writer is done with its frame: the record is queued at `at_ps`, and the writer takes the next frame.
void DescWb::finish_frame(uint64_t at_ps) {
    queue_record(*writer_pkt_, at_ps);
    writer_pkt_ = nullptr;
    writer_step_ = WriterStep::Take;
}

// The frame is in its buffer: its record joins the batcher's queue at `at_ps` (now or, finish_early, the
// writer's release edge) and its context goes back to the pool.
void DescWb::queue_record(RxPacket& pkt, uint64_t at_ps) {
    pkt.cpl.length = uint16_t(write_len_);
    stats_.dma_bytes += write_len_;
    pending_.push_back(PendingRecord{pkt.cpl, at_ps});
    // The batcher's next edge, when it can act on the record: it waits for any record, or this one
    // fills a batch (else it only goes back to waiting for the same due time; a record queued early may
    // wake it once more for nothing: it then finds the same due time).
    if (batcher_needs_record_ || pending_.size() >= timing_.wb_batch_max) wake_batcher(at_ps + timing_.clock_ps());
    pool_.release(&pkt);
    tr_.done();
}

}  // namespace ov2
