#include "fast_path.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "rx_parser.h"

namespace ov2 {

namespace {

enum WriterState { kWIdle, kWTake, kWResources, kWPiece };
enum BatcherState { kBCheck, kBBody, kBDone };
enum PrefetchState { kPCheck, kPRead };
enum IsrState { kISleep, kILoop, kIHandle, kITail, kITop };

// (i + step) mod n for i < n and step <= n, without a division (this runs several times a frame).
template <typename T, typename N>
T ring_add(T i, uint64_t step, N n) {
    const uint64_t r = uint64_t(i) + step;
    return T(r >= uint64_t(n) ? r - uint64_t(n) : r);
}

uint64_t pow2_at_least(uint64_t n) {
    uint64_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace

FastPath::FastPath(sc_core::sc_module_name name, const FastBlocks& b)
    : sc_module(name), t_(b.timing), mac_config_(b.mac), source_(b.source), cam_(b.cam), crypto_(b.crypto),
      memory_(b.memory), driver_(b.driver), wb_(b.wb), contexts_(b.contexts), pacer_(b.timing, b.mac),
      fifo_frames_(MacRx::fifo_frames(b.timing, b.mac)), depth_(b.timing.stage_fifo_depth),
      reorder_depth_(uint64_t(b.timing.crypto_lanes) * 2), parser_timing_(b.timing), lane_free_ps_(b.timing.crypto_lanes, 0),
      desc_cache_(b.timing.desc_cache_entries), cycle_ps_(b.timing.cycles_ps(1)),
      cam_latency_ps_(b.timing.cycles_ps(b.timing.cam_latency_cycles)),
      full_piece_ps_(b.timing.bus_transfer_ps(b.timing.bus_max_payload_bytes)),
      bus_latency_ps_(b.timing.bus_latency_ps()), batch_timeout_ps_(b.timing.wb_batch_timeout_ps()),
      irq_latency_ps_(b.timing.host_irq_latency_ps()), per_packet_ps_(b.timing.host_per_packet_ps()),
      mmio_latency_ps_(b.timing.mmio_latency_ps()) {
    tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(double(kFastQuantumPs), sc_core::SC_PS));
    qk_.reset();
    fifo_.resize(fifo_frames_ + 1);
    const uint64_t history = pow2_at_least(std::max(depth_, reorder_depth_) + 1);
    hist_.resize(history);
    hist_mask_ = history - 1;
    // A frame's context is free once writeback copied it: at most depth_ + 2 frames wait for that.
    const uint64_t contexts = pow2_at_least(depth_ + 4);
    ctx_.resize(contexts);
    for (RxPacket& p : ctx_) p.data.reserve(2048);
    ctx_mask_ = contexts - 1;
    in_retire_ps_.resize(contexts);
    scratch_.data.reserve(2048);
    SC_HAS_PROCESS(FastPath);
    SC_THREAD(run);
    SC_THREAD(oid_thread);
}

// ---- time ----------------------------------------------------------------------------------------------

void FastPath::sync_to(uint64_t ps) {
    const uint64_t now = now_ps();
    if (ps <= now) return;
    qk_.set(sc_core::sc_time(double(ps - now), sc_core::SC_PS));
    qk_.sync();
}

void FastPath::keep_quantum(uint64_t ps) {
    const uint64_t now = now_ps();
    if (ps < now + kFastQuantumPs) return;  // cheap test first: most frames stay within the quantum
    qk_.set(sc_core::sc_time(double(ps - now), sc_core::SC_PS));
    if (qk_.need_sync()) qk_.sync();
}

// ---- MAC and pipeline ----------------------------------------------------------------------------------

void FastPath::run() {
    sc_core::wait(driver_.ready);
    start_after_init();
    uint64_t start_ps = 0, end_ps = 0;
    while (next_frame(start_ps, end_ps)) {
        receive(start_ps, end_ps);
        keep_quantum(mac_now_);
    }
    run_oids(UINT32_MAX);
    advance_to(kNever - 1);
    sync_to(std::max(mac_now_, event_ps_));
}

// The rings as the driver set them up; the writeback side idle, the prefetcher already started.
void FastPath::start_after_init() {
    regs_ = wb_.ring_regs();
    visible_ps_.assign(std::max<uint32_t>(regs_.cpl_size, 1), kNever);
    pending_.resize(std::max<uint32_t>(regs_.cpl_size, 1));
    msi_ps_.resize(std::max<uint32_t>(regs_.cpl_size, 1) + 1);
    isr_.state = kISleep;
    b_waiting_ = true;
    // The driver's last init write (RX_CTRL enable, one MMIO before `ready`) woke the prefetcher.
    prefetch_.next = t_.edge_at_or_after(now_ps() >= t_.mmio_latency_ps() ? now_ps() - t_.mmio_latency_ps() : 0);
    mac_now_ = now_ps();
    pacer_.start(mac_now_);
}

// MacRx::receive: the frame's last bit is in; checked, then dropped or on into the pipeline.
void FastPath::receive(uint64_t start_ps, uint64_t end_ps) {
    RxPacket& pkt = ctx_[admitted_ & ctx_mask_];
    pkt.reset(++frames_);
    pkt.data.swap(wire_.bytes);  // no copy: the source refills the other buffer
    pkt.wire_start_ps = start_ps;
    pkt.wire_end_ps = end_ps;
    mac_count_arrival(stats_.mac, pkt, pkt.data.size());
    if (on_arrival) on_arrival(pkt);
    advance_to(end_ps);  // the device as the last bit arrives
    MacDrop reason;
    if (!mac_check(mac_config_, wire_.orig_len, pkt, stats_.mac, reason)) {
        drop(pkt, reason);
    } else if (!admit(pkt, end_ps)) {
        ++stats_.mac.rx_missed;
        drop(pkt, MacDrop::Missed);
    } else {
        pipeline(pkt);
    }
}

// The next frame and its place on the wire: read ahead already, or from the source after the OIDs due
// before it (the wire waits for them, as in MacRx).
bool FastPath::next_frame(uint64_t& start_ps, uint64_t& end_ps) {
    if (!ahead_.empty()) {
        Ahead& a = ahead_.front();
        wire_.bytes.swap(a.wire.bytes);
        wire_.orig_len = a.wire.orig_len;
        wire_.ts_ns = a.wire.ts_ns;
        start_ps = a.start_ps;
        end_ps = mac_now_ = a.end_ps;
        spare_.push_back(std::move(a.wire));
        ahead_.pop_front();
        return true;
    }
    if (!source_.next(wire_)) return false;
    run_oids(frames_ + 1);
    mac_now_ = std::max(mac_now_, oid_done_ps_);  // OIDs that ran meanwhile held the wire
    pacer_.place(wire_, frames_ == 0, mac_now_, start_ps, end_ps);
    mac_now_ = end_ps;
    return true;
}

// When the next scripted OIDs start: right after the last bit of the frame before the one they precede.
// Read ahead (placing frames on the wire) as far as needed, but no further than the frames the device can
// hold: a frame in the device now cannot still be there then. kNever: not in reach.
uint64_t FastPath::next_oid_start_ps() {
    const uint32_t m = driver_.next_oid_frame();
    if (m == oid_frame_) return oid_start_ps_;
    while (uint64_t(frames_) + ahead_.size() + 1 < m && !source_done_) {
        if (ahead_.size() >= contexts_) return kNever;
        Ahead a;
        if (!spare_.empty()) {
            a.wire = std::move(spare_.back());
            spare_.pop_back();
        }
        if (!source_.next(a.wire)) {
            source_done_ = true;
            break;
        }
        const uint64_t after = ahead_.empty() ? mac_now_ : ahead_.back().end_ps;
        pacer_.place(a.wire, frames_ + ahead_.size() == 0, after, a.start_ps, a.end_ps);
        ahead_.push_back(std::move(a));
    }
    oid_frame_ = m;
    oid_start_ps_ = ahead_.empty() ? mac_now_ : ahead_.back().end_ps;
    return oid_start_ps_;
}

// OIDs run in their own thread from their start (oid_thread), while this one computes the frames still in
// the device at their own times; the wire waits until they are done.
void FastPath::run_oids(uint32_t frame) {
    if (driver_.next_oid_frame() > frame && !oid_running_) return;
    if (!oid_running_) start_oids(mac_now_, frame);
    while (oid_running_) {  // the handler goes on meanwhile, in time order with the OIDs' MMIO
        uint64_t next = next_event();
        if (!releases_.empty()) next = std::min(next, releases_.front().first);
        const uint64_t now = now_ps();
        if (next <= now) {
            window_sync(now);
            const uint64_t due = next_event();
            if (due <= now) step(due);
            continue;
        }
        if (next == kNever) sc_core::wait(oid_done_);
        else sc_core::wait(sc_core::sc_time(double(next - now), sc_core::SC_PS), oid_done_);
    }
    flush_releases();
    mac_now_ = std::max(mac_now_, oid_done_ps_);
}

void FastPath::start_oids(uint64_t at_ps, uint32_t frame) {
    advance_to(at_ps);
    sync_to(at_ps);
    oid_run_frame_ = frame == UINT32_MAX ? UINT32_MAX : driver_.next_oid_frame();
    oid_running_ = true;
    oid_go_.notify();
}

void FastPath::oid_thread() {
    for (;;) {
        sc_core::wait(oid_go_);
        driver_.run_scheduled_oids(oid_run_frame_);
        oid_done_ps_ = now_ps();
        oid_running_ = false;
        oid_frame_ = UINT32_MAX - 1;  // the next OIDs' start is computed afresh
        oid_done_.notify();
    }
}

// The CAM lookup of a frame at lookup_ps: while OIDs change the table, at that SystemC time (first the
// crypto stage's releases due by then, at theirs).
void FastPath::reach_lookup(uint64_t lookup_ps) {
    if (!oid_running_ && driver_.has_scheduled_oids()) {
        const uint64_t start = next_oid_start_ps();
        if (lookup_ps >= start) start_oids(start, driver_.next_oid_frame());
    }
    advance_to(lookup_ps);  // indications (and the SA deletes they cause) before the lookup come first
    if (oid_running_) window_sync(lookup_ps);
}

void FastPath::window_sync(uint64_t ps) {
    while (!releases_.empty() && releases_.front().first <= ps) {
        sync_to(releases_.front().first);
        cam_.release(releases_.front().second);
        releases_.pop_front();
    }
    sync_to(ps);
}

// After the OIDs nothing else looks at the holds: the rest go now.
void FastPath::flush_releases() {
    for (const auto& r : releases_) cam_.release(r.second);
    releases_.clear();
}

void FastPath::drop(const RxPacket& pkt, MacDrop reason) {
    if (on_drop) on_drop(pkt, reason);
}

// The MAC FIFO when the frame's last bit arrives: frames leave it when the parser takes them.
bool FastPath::admit(const RxPacket& pkt, uint64_t end_ps) {
    while (fifo_count_ && fifo_[fifo_first_].take_ps <= end_ps) {
        fifo_bytes_ -= fifo_[fifo_first_].bytes;
        fifo_first_ = ring_add(fifo_first_, 1, fifo_.size());
        --fifo_count_;
    }
    const size_t bytes = pkt.data.size();
    const bool context = admitted_ - released_ < contexts_;
    return context && fifo_bytes_ + bytes <= t_.mac_fifo_bytes && fifo_count_ < fifo_frames_;
}

// Parser, CAM lookup, crypto and retire times of an admitted frame (RxPipeline's arithmetic), with the
// functional work done at its place in that order; then the frame goes to writeback.
void FastPath::pipeline(RxPacket& pkt) {
    const uint64_t s = admitted_++;
    StageTimes& h = hist_[s & hist_mask_];
    const uint64_t end = pkt.wire_end_ps;
    const uint32_t bytes = uint32_t(pkt.data.size());
    fifo_bytes_ += bytes;
    stats_.mac.fifo_high_water_bytes = std::max(stats_.mac.fifo_high_water_bytes, fifo_bytes_);
    ++stats_.mac.passed;
    pkt.cpl.timestamp_ps = end;

    const uint64_t p0 = std::max(parser_free_, t_.mac_ready_ps(end));  // the edge the parser takes it on
    fifo_[ring_add(fifo_first_, fifo_count_++, fifo_.size())] = FifoEntry{p0, bytes};
    pkt.parse = parse_frame(pkt.data.data(), pkt.data.size(), &walk_);
    ++stats_.rx.parser_frames;
    if (pkt.parse.kind == L4Kind::Malformed) ++stats_.rx.parser_malformed;
    const ParserTiming& pt = parser_timing_.of(walk_, bytes);
    const StageTimes* d = behind(s, depth_);
    parser_free_ = std::max(p0 + t_.cycles_ps(pt.busy), d ? d->cam_take : 0);

    h.cam_take = std::max(parser_free_, cam_free_);
    const uint64_t c0 = std::max(h.cam_take, p0 + t_.cycles_ps(pt.result));
    reach_lookup(c0);
    decide_outer(pkt, cam_, stats_.rx);
    if (pkt.cam_index >= 0) cam_.hold(uint32_t(pkt.cam_index));
    cam_free_ = std::max(c0 + cycle_ps_, d ? d->crypto_take : 0);

    h.crypto_take = std::max(cam_free_, crypto_free_);
    uint64_t start = 0;
    const uint64_t ready = crypto_stage(pkt, std::max(h.crypto_take, c0 + cam_latency_ps_), start);
    const StageTimes* r = behind(s, reorder_depth_);
    crypto_free_ = std::max(start, r ? r->retire_done : 0);  // the reorder buffer has room

    if (d) advance_until_taken(s - depth_);  // the FIFO to writeback has room once it took frame s - depth
    h.retire_done = std::max({crypto_free_, retire_prev_, ready, d ? d->wb_take : 0});
    retire_prev_ = h.retire_done;
    feed(s, h.retire_done);
}

// The crypto stage from `at_ps` (frame taken, lookup result ready): the earliest free lane, then the
// result latency; results leave in arrival order. Returns the ready time; start_ps: when the stage let go.
uint64_t FastPath::crypto_stage(RxPacket& pkt, uint64_t at_ps, uint64_t& start_ps) {
    start_ps = at_ps;
    uint64_t ready = at_ps + cycle_ps_;
    if (pkt.cam_index >= 0 && !(pkt.cpl.ipsec_flags & kCplCryptoDone)) {
        const CamEntry& e = cam_.entry(uint32_t(pkt.cam_index));
        auto lane = std::min_element(lane_free_ps_.begin(), lane_free_ps_.end());
        start_ps = std::max(at_ps, *lane);
        const uint64_t busy = crypto_lane_busy_ps(t_, e, pkt.parse.l3_length);
        *lane = start_ps + busy;
        stats_.crypto_busy_ps += busy;
        process_ipsec(pkt, cam_, crypto_, stats_.rx);
        ready = start_ps + busy + crypto_result_latency_ps(t_, e, pkt.cpl.ipsec_flags & kCplNextCryptoDone);
    }
    if (pkt.cam_index >= 0) {  // the stage lets go of the entry when the lane starts: OIDs may see it held
        const bool during_oids =
            oid_running_ || (driver_.has_scheduled_oids() && start_ps >= next_oid_start_ps());
        if (during_oids) releases_.emplace_back(start_ps, uint32_t(pkt.cam_index));
        else cam_.release(uint32_t(pkt.cam_index));
    }
    ready = std::max(ready, last_ready_);
    last_ready_ = ready;
    return ready;
}

// ---- writeback side: the event order ------------------------------------------------------------------

uint64_t FastPath::next_event() const {
    return std::min({writer_.next, batcher_.next, prefetch_.next, isr_.next});
}

// One step of the process with the earliest event (ties: writer, prefetch, batcher, handler: the DMA
// arbitration of DescWb::write_batch, whose requests go after the others' of the same edge).
void FastPath::step(uint64_t now) {
    event_ps_ = now;
    if (oid_running_) window_sync(now);  // OIDs are changing the SA table: keep SystemC time with us
    if (writer_.next == now) writer_step(now);
    else if (prefetch_.next == now) prefetch_step(now);
    else if (batcher_.next == now) batcher_step(now);
    else isr_step(now);
}

void FastPath::advance_to(uint64_t ps) {
    for (uint64_t next = next_event(); next <= ps; next = next_event()) step(next);
}

void FastPath::advance_until_taken(uint64_t s) {
    while (taken_ <= s) {
        const uint64_t next = next_event();
        if (next == kNever)
            throw std::logic_error("fast mode: writeback can never take frame " + std::to_string(s + 1));
        step(next);
    }
}

void FastPath::feed(uint64_t s, uint64_t retire_ps) {
    in_retire_ps_[s & ctx_mask_] = retire_ps;
    ++fed_;
    if (writer_.state == kWIdle) {
        writer_.state = kWTake;
        writer_.next = std::max(writer_idle_ps_, retire_ps);
    }
}

// A ring register write reaches the device: the writer and the prefetcher look again.
// The device sees the write on the next core clock edge.
void FastPath::regs_changed(uint64_t now) {
    if (w_waiting_regs_) writer_.next = t_.edge_at_or_after(now);
    if (p_waiting_) prefetch_.next = t_.edge_at_or_after(now);
}

// A posted write of `bytes` issued at issue_ps: returns when it has left the link.
uint64_t FastPath::post_write(uint64_t issue_ps, uint32_t bytes) {
    const uint64_t transfer = bytes == t_.bus_max_payload_bytes ? full_piece_ps_ : t_.bus_transfer_ps(bytes);
    ++stats_.bus.dma_writes;
    stats_.bus.dma_bytes += bytes;
    stats_.bus.link_busy_ps += transfer;
    return link_.write(issue_ps, transfer);
}

// ---- DescWb::run: buffer, frame DMA, record queued ------------------------------------------------------

void FastPath::writer_step(uint64_t now) {
    if (writer_.state == kWTake) {
        hist_[taken_ & hist_mask_].wb_take = now;
        ++taken_;
        writer_.state = kWResources;
    }
    if (writer_.state == kWResources && !writer_take_buffer(now)) return;
    if (w_off_ < w_len_) return write_pieces(now);
    RxPacket& pkt = ctx_[(taken_ - 1) & ctx_mask_];
    pending_[ring_add(pending_first_, pending_count_++, pending_.size())] = Pending{pkt.cpl, now};
    if (b_waiting_) batcher_.next = std::min(batcher_.next, now + cycle_ps_);  // seen on the next edge
    ++released_;
    writer_idle_ps_ = now;
    if (fed_ > taken_) {
        writer_.state = kWTake;
        writer_.next = std::max(now, in_retire_ps_[taken_ & ctx_mask_]);
    } else {
        writer_.state = kWIdle;
        writer_.next = kNever;
    }
}

// The frame in bus-sized pieces, each waiting for the link. The next piece follows here, without the round
// through step(), when step() would run it next anyway: no other process has an event before it (the writer
// wins ties) and no OIDs keep SystemC time with each event. Nothing outside step() gives another process an
// earlier event meanwhile (feed() wakes only an idle writer), so the order is step()'s.
void FastPath::write_pieces(uint64_t now) {
    for (;;) {
        const uint32_t piece = uint32_t(std::min<uint64_t>(t_.bus_max_payload_bytes, w_len_ - w_off_));
        writer_.next = t_.writer_release_ps(now, post_write(now, piece));
        w_off_ += piece;
        if (w_off_ >= w_len_ || oid_running_) return;
        const uint64_t next = writer_.next;
        if (next > std::min({batcher_.next, prefetch_.next, isr_.next})) return;
        now = event_ps_ = next;
    }
}

// DescWb::wait_for_resources, next_buffer and write_frame: false = stalled until a register write or a
// descriptor read.
bool FastPath::writer_take_buffer(uint64_t now) {
    if (w_stall_from_ != kNever) *w_stall_counter_ += now - w_stall_from_;
    w_stall_from_ = kNever;
    const bool enabled = (regs_.rx_ctrl & 1) && regs_.rx_size && regs_.cpl_size;
    const bool buffer = enabled && cache_count_ > 0;
    const bool posted = enabled && (fetching_ || rx_head_ != regs_.rx_tail);
    const bool slot = enabled && ring_add(cpl_next_, 1, regs_.cpl_size) != regs_.cpl_head;
    if (!buffer || !slot) {
        w_stall_from_ = now;
        w_stall_counter_ = !buffer ? (posted ? &stats_.wb.stalled_desc_fetch_ps : &stats_.wb.stalled_no_buffer_ps)
                                   : &stats_.wb.stalled_cpl_full_ps;
        w_waiting_regs_ = true;
        writer_.next = kNever;
        return false;
    }
    w_waiting_regs_ = false;
    const RxDescriptor desc = desc_cache_[cache_first_];
    cache_first_ = ring_add(cache_first_, 1, desc_cache_.size());
    --cache_count_;
    if (cache_count_ < t_.desc_prefetch_threshold && p_waiting_) prefetch_.next = now;
    cpl_next_ = ring_add(cpl_next_, 1, regs_.cpl_size);
    RxPacket& pkt = ctx_[(taken_ - 1) & ctx_mask_];
    const uint32_t buffer_len = desc.buffer_addr ? desc.buffer_len : 0;
    const uint32_t len = uint32_t(std::min<size_t>(pkt.data.size(), buffer_len));
    if (len < pkt.data.size()) {
        pkt.cpl.ipsec_flags |= kCplTruncated;
        ++stats_.wb.truncated;
    }
    if (len && desc.buffer_addr + len <= memory_.size()) std::memcpy(memory_.at(desc.buffer_addr), pkt.data.data(), len);
    else if (len) ++stats_.wb.dma_errors;
    prefetch_next_buffer(len);
    pkt.cpl.length = uint16_t(len);
    stats_.wb.dma_bytes += len;
    w_off_ = 0;
    w_len_ = len;
    writer_.state = kWPiece;
    return true;
}

// The host buffers (16 KB apart, a ring of 1024) are out of the caches by the time the ring comes round:
// the copy into the next one waits on every line. Asking for its lines now overlaps those misses with the
// next frame's work (the crypto engine's above all). Only the host's caches see this, never the model.
void FastPath::prefetch_next_buffer(uint32_t last_len) {
    if (cache_count_ == 0) return;
    const RxDescriptor& next = desc_cache_[cache_first_];
    const uint64_t want = fed_ > taken_ ? ctx_[taken_ & ctx_mask_].data.size() : last_len;
    const uint64_t len = std::min<uint64_t>(want, next.buffer_addr ? next.buffer_len : 0);
    if (!len || next.buffer_addr + len > memory_.size()) return;
    const uint8_t* p = memory_.at(next.buffer_addr);
    for (uint64_t off = 0; off < len; off += 64) __builtin_prefetch(p + off, 1, 3);
    __builtin_prefetch(p + len - 1, 1, 3);  // the last line, when the buffer does not start on a line
}

// ---- DescWb::completion_thread and write_batch ----------------------------------------------------------

void FastPath::batcher_step(uint64_t now) {
    if (batcher_.state == kBBody) {
        if (b_off_ < b_body_) {
            const uint32_t piece = uint32_t(std::min<uint64_t>(t_.bus_max_payload_bytes, b_body_ - b_off_));
            batcher_.next = t_.writer_release_ps(now, post_write(now, piece));
            b_off_ += piece;
            return;
        }
        // Each record's done byte, posted back to back behind the bodies.
        uint64_t t = now;
        for (size_t i = 0; i < b_n_; ++i) {
            t = post_write(t, 1);
            visible_ps_[b_first_ + i] = t + bus_latency_ps_;
        }
        cpl_tail_ = ring_add(b_first_, b_n_, regs_.cpl_size);
        b_written_ += b_n_;
        batcher_.state = kBDone;
        b_link_free_ = t;
        batcher_.next = t_.writer_release_ps(now, t);
        return;
    }
    if (batcher_.state == kBDone) {
        if (b_written_ < b_count_) return begin_stretch(now);
        finish_batch(now);
    }
    // DescWb::completion_thread: a record is the batcher's from the edge after it was queued.
    const size_t ready = records_queued_before(now);
    const uint64_t fresh = pending_count_ > ready ? now + cycle_ps_ : kNever;  // queued on this edge
    if (ready == 0) {
        b_waiting_ = true;
        batcher_.next = fresh;
        return;
    }
    const uint64_t due = t_.edge_at_or_after(pending_[pending_first_].queued_ps + batch_timeout_ps_);
    if (ready < t_.wb_batch_max && now < due) {
        b_waiting_ = true;
        batcher_.next = std::min(due, fresh);
        return;
    }
    b_waiting_ = false;
    b_count_ = std::min<size_t>(ready, t_.wb_batch_max);
    b_written_ = 0;
    ++stats_.wb.batches;
    stats_.wb.batch_high_water = std::max<uint64_t>(stats_.wb.batch_high_water, b_count_);
    begin_stretch(now);
}

// Records are queued in time order and the batcher asks at growing times: the count found last time still
// holds, less the records a batch took since, and the scan goes on from there.
size_t FastPath::records_queued_before(uint64_t ps) {
    if (ps < queued_scan_ps_) queued_scan_ = 0;
    queued_scan_ps_ = ps;
    while (queued_scan_ < pending_count_ &&
           pending_[ring_add(pending_first_, queued_scan_, pending_.size())].queued_ps < ps)
        ++queued_scan_;
    return queued_scan_;
}

// One stretch of contiguous slots (up to the end of the ring): the records are written into host memory
// as the bus would leave them; the link carries the bodies, then the done bytes.
void FastPath::begin_stretch(uint64_t now) {
    b_first_ = cpl_tail_;
    b_n_ = std::min<size_t>(b_count_ - b_written_, regs_.cpl_size - b_first_);
    uint8_t* out = memory_.at(regs_.cpl_base + uint64_t(b_first_) * Completion::kBytes);
    for (size_t i = 0; i < b_n_; ++i) {
        uint8_t* record = out + i * Completion::kBytes;
        encode_record_body(pending_[ring_add(pending_first_, b_written_ + i, pending_.size())].cpl, record);
        record[Completion::kBytes - 1] = 1;
    }
    b_body_ = b_n_ * Completion::kBytes - 1;
    b_off_ = 0;
    batcher_.state = kBBody;
    batcher_step(now);
}

void FastPath::finish_batch(uint64_t now) {
    for (size_t i = 0; i < b_count_; ++i) {
        const Pending& p = pending_[pending_first_];
        if (on_completion) on_completion(p.cpl.frame_tag, now);
        pending_first_ = ring_add(pending_first_, 1, pending_.size());
        --pending_count_;
    }
    queued_scan_ -= std::min(queued_scan_, b_count_);
    stats_.wb.completions += b_count_;
    ++stats_.wb.interrupts;
    const uint64_t msi = b_link_free_ + bus_latency_ps_;  // a posted write behind the done bytes
    if (msi_count_ == msi_ps_.size()) {  // more on their way than ever before: make room, in order
        std::vector<uint64_t> grown(msi_ps_.size() * 2);
        for (size_t i = 0; i < msi_count_; ++i) grown[i] = msi_ps_[ring_add(msi_first_, i, msi_ps_.size())];
        msi_ps_.swap(grown);
        msi_first_ = 0;
    }
    msi_ps_[ring_add(msi_first_, msi_count_++, msi_ps_.size())] = msi;
    if (isr_.state == kISleep && isr_.next == kNever) isr_.next = msi;
    batcher_.state = kBCheck;
}

// ---- DescWb::prefetch_thread ---------------------------------------------------------------------------

void FastPath::prefetch_step(uint64_t now) {
    const uint32_t capacity = uint32_t(desc_cache_.size());
    if (prefetch_.state == kPRead) {
        fetching_ = false;
        rx_head_ = ring_add(p_from_, p_n_, regs_.rx_size);
        for (uint32_t i = 0; i < p_n_; ++i) {
            const uint8_t* p = memory_.at(regs_.rx_base + uint64_t(p_from_ + i) * RxDescriptor::kBytes);
            RxDescriptor d;
            std::memcpy(&d.buffer_addr, p, 8);
            std::memcpy(&d.buffer_len, p + 8, 4);
            desc_cache_[ring_add(cache_first_, cache_count_, capacity)] = d;
            ++cache_count_;
        }
        if (w_waiting_regs_) writer_.next = now;  // cache filled (now is an edge)
        prefetch_.state = kPCheck;
    }
    const bool enabled = (regs_.rx_ctrl & 1) && regs_.rx_size;
    const uint32_t posted = enabled ? (regs_.rx_tail + regs_.rx_size - rx_head_) % regs_.rx_size : 0;
    if (!posted || cache_count_ >= t_.desc_prefetch_threshold || cache_count_ == capacity) {
        p_waiting_ = true;
        prefetch_.next = kNever;
        return;
    }
    p_waiting_ = false;
    p_from_ = rx_head_;
    p_n_ = std::min({t_.desc_prefetch, capacity - cache_count_, posted, regs_.rx_size - p_from_});
    ++stats_.wb.desc_fetches;
    fetching_ = true;
    const uint32_t bytes = p_n_ * uint32_t(RxDescriptor::kBytes);
    ++stats_.bus.dma_reads;
    stats_.bus.dma_bytes += bytes;
    // The data is back off the core clock: the prefetcher goes on at the next edge.
    prefetch_.next = t_.edge_at_or_after(link_.read(now, t_.bus_transfer_ps(bytes), bus_latency_ps_));
    prefetch_.state = kPRead;
}

// ---- DriverShim::isr_thread ----------------------------------------------------------------------------

// Interrupts that came while the handler was busy are lost (it checks the ring before it sleeps).
void FastPath::drop_lost_msis(uint64_t now) {
    while (msi_count_ && msi_ps_[msi_first_] <= now) {
        msi_first_ = ring_add(msi_first_, 1, msi_ps_.size());
        --msi_count_;
    }
}

void FastPath::isr_sleep(uint64_t now) {
    drop_lost_msis(now);
    isr_.state = kISleep;
    isr_.next = msi_count_ ? msi_ps_[msi_first_] : kNever;
}

void FastPath::isr_step(uint64_t now) {
    if (isr_.state != kISleep) drop_lost_msis(now);
    switch (isr_.state) {
    case kISleep:  // an MSI arrived
        msi_first_ = ring_add(msi_first_, 1, msi_ps_.size());
        --msi_count_;
        driver_.count_interrupt();
        handled_ = 0;
        isr_.state = kILoop;
        isr_.next = now + irq_latency_ps_;
        return;
    case kILoop:
        if (completion_visible(now)) {
            isr_.state = kIHandle;
            isr_.next = now + per_packet_ps_;
            return;
        }
        if (!handled_) return isr_sleep(now);
        {
            const RingGiveBack rb = driver_.give_back(handled_);
            regs_.cpl_head = rb.cpl_head % regs_.cpl_size;
            give_back_tail_ = rb.rx_tail;
        }
        ++stats_.bus.mmio_writes;
        regs_changed(now);
        isr_.state = kITail;
        isr_.next = now + mmio_latency_ps_;
        return;
    case kIHandle: {
        const uint64_t before = now_ps();
        driver_.handle_next_completion(now);
        visible_ps_[drv_head_] = kNever;
        drv_head_ = ring_add(drv_head_, 1, regs_.cpl_size);
        ++handled_;
        isr_.state = kILoop;
        // The stack deleted an SA over MMIO (SystemC time moved on from `now`): the handler goes on after it.
        isr_.next = now_ps() != before ? std::max(now, now_ps()) : now;
        // The loop's next look is due now. When no other process has an event by now (they would go first on
        // a tie) and no OIDs keep SystemC time with each event, step() would run it next: it runs here.
        if (isr_.next == now && !oid_running_ && std::min({writer_.next, prefetch_.next, batcher_.next}) > now)
            isr_step(now);
        return;
    }
    case kITail:
        regs_.rx_tail = give_back_tail_ % regs_.rx_size;
        ++stats_.bus.mmio_writes;
        regs_changed(now);
        isr_.state = kITop;
        isr_.next = now + mmio_latency_ps_;
        return;
    case kITop:
        if (!completion_visible(now)) return isr_sleep(now);
        handled_ = 0;
        isr_.state = kILoop;
        isr_.next = now;
        return;
    }
}

}  // namespace ov2
