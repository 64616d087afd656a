#include "desc_wb.h"

#include <algorithm>
#include <cstring>

#include "reg_access.h"

namespace ov2 {

using sc_core::sc_time;
using sc_core::SC_PS;

DescWb::DescWb(sc_core::sc_module_name name, const TimingParams& timing, RxPacketPool& pool)
    : sc_module(name), in("in"), regs("regs"), dma("dma"), timing_(timing), pool_(pool),
      desc_cache_(size_t(timing.desc_prefetch) * RxDescriptor::kBytes) {
    regs.register_b_transport(this, &DescWb::b_transport);
    SC_HAS_PROCESS(DescWb);
    SC_THREAD(run);
    SC_THREAD(msi_thread);
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
    case reg::kRxRingSize: rx_size_ = value; rx_head_ = rx_tail_ = 0; desc_cached_ = desc_used_ = 0; break;
    case reg::kRxRingTail: rx_tail_ = rx_size_ ? value % rx_size_ : 0; break;
    case reg::kCplRingBaseLo: cpl_base_ = (cpl_base_ & ~0xFFFFFFFFULL) | value; break;
    case reg::kCplRingBaseHi: cpl_base_ = (cpl_base_ & 0xFFFFFFFFULL) | uint64_t(value) << 32; break;
    case reg::kCplRingSize: cpl_size_ = value; cpl_head_ = cpl_tail_ = 0; break;
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

bool DescWb::dma_access(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len) {
    tlm::tlm_generic_payload trans;
    sc_time delay = sc_core::SC_ZERO_TIME;
    trans.set_command(cmd);
    trans.set_address(addr);
    trans.set_data_ptr(data);
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    dma->b_transport(trans, delay);
    sc_core::wait(delay);
    if (trans.get_response_status() == tlm::TLM_OK_RESPONSE) return true;
    ++stats_.dma_errors;
    return false;
}

// Posted writes never exceed the bus's maximum payload: larger ones go in pieces, in order.
void DescWb::dma_write(uint64_t addr, uint8_t* data, uint32_t len) {
    for (uint32_t off = 0; off < len; off += timing_.bus_max_payload_bytes) {
        const uint32_t piece = std::min(timing_.bus_max_payload_bytes, len - off);
        dma_access(tlm::TLM_WRITE_COMMAND, addr + off, data + off, piece);
    }
}

// A buffer to write into and a completion slot to report in; both rings are full when one slot is left,
// so that head == tail always means empty.
void DescWb::wait_for_resources() {
    for (;;) {
        const bool enabled = (rx_ctrl_ & 1) && rx_size_ && cpl_size_;
        const bool buffer = enabled && (desc_used_ < desc_cached_ || rx_head_ != rx_tail_);
        const bool slot = enabled && (cpl_tail_ + 1) % cpl_size_ != cpl_head_;
        if (buffer && slot) {
            tr_.stall.set(0);
            return;
        }
        const uint64_t from = now_ps();
        tr_.stall.set(1);
        sc_core::wait(regs_changed_);
        (buffer ? stats_.stalled_cpl_full_ps : stats_.stalled_no_buffer_ps) += now_ps() - from;
    }
}

void DescWb::write_frame(RxPacket& pkt, uint64_t buffer_addr, uint32_t buffer_len) {
    const uint32_t len = uint32_t(std::min<size_t>(pkt.data.size(), buffer_len));
    if (len < pkt.data.size()) {
        pkt.cpl.ipsec_flags |= kCplTruncated;
        ++stats_.truncated;
    }
    dma_write(buffer_addr, pkt.data.data(), len);
    pkt.cpl.length = uint16_t(len);
    stats_.dma_bytes += len;
}

void DescWb::write_completion(RxPacket& pkt) {
    const uint64_t slot_addr = cpl_base_ + uint64_t(cpl_tail_) * Completion::kBytes;
    pkt.cpl.done = false;
    tr_cpl_slot_.set(cpl_tail_);
    std::array<uint8_t, Completion::kBytes> record = pkt.cpl.encode();
    dma_write(slot_addr, record.data(), Completion::kBytes - 1);
    uint8_t done = 1;
    dma_access(tlm::TLM_WRITE_COMMAND, slot_addr + Completion::kBytes - 1, &done, 1);
    tr_cpl_done_.pulse();
    cpl_tail_ = (cpl_tail_ + 1) % cpl_size_;
}

// Takes the next posted buffer, fetching up to desc_prefetch descriptors in one read when the cache is empty.
bool DescWb::next_buffer(uint64_t& addr, uint32_t& len) {
    if (desc_used_ == desc_cached_) {
        const uint32_t available = (rx_tail_ + rx_size_ - rx_head_) % rx_size_;
        const uint32_t n = std::min({timing_.desc_prefetch, available, rx_size_ - rx_head_});
        ++stats_.desc_fetches;
        tr_desc_fetch_.set(1);
        const bool ok = dma_access(tlm::TLM_READ_COMMAND, rx_base_ + uint64_t(rx_head_) * RxDescriptor::kBytes,
                                   desc_cache_.data(), n * RxDescriptor::kBytes);
        tr_desc_fetch_.set(0);
        rx_head_ = (rx_head_ + n) % rx_size_;
        desc_cached_ = n;
        desc_used_ = 0;
        if (!ok) std::fill(desc_cache_.begin(), desc_cache_.end(), 0);
    }
    const uint8_t* d = desc_cache_.data() + size_t(desc_used_++) * RxDescriptor::kBytes;
    std::memcpy(&addr, d, 8);
    std::memcpy(&len, d + 8, 4);
    return addr != 0;
}

void DescWb::msi_thread() {
    for (;;) {
        while (msi_due_ps_.empty()) sc_core::wait(msi_pending_);
        wait_until_ps(msi_due_ps_.front());
        msi_due_ps_.pop_front();
        irq.notify();
    }
}

void DescWb::run() {
    for (;;) {
        RxPacket* pkt = in->read();
        tr_.take(pkt->frame);
        wait_until_ps(pkt->ready_ps);
        wait_for_resources();
        uint64_t buffer_addr = 0;
        uint32_t buffer_len = 0;
        if (!next_buffer(buffer_addr, buffer_len)) {
            // The descriptor read failed (bad ring address): the frame cannot be delivered. Write its
            // completion without data so the driver still accounts for it.
            buffer_len = 0;
        }
        write_frame(*pkt, buffer_addr, buffer_len);
        write_completion(*pkt);
        ++stats_.completions;
        if (on_completion) on_completion(*pkt);
        pool_.release(pkt);
        ++stats_.interrupts;
        // The MSI is a posted write too, ordered behind the done byte: it reaches the host when the
        // completion has become visible, one bus latency from now.
        msi_due_ps_.push_back(now_ps() + uint64_t(timing_.bus_latency_ns * 1000.0));
        msi_pending_.notify(sc_core::SC_ZERO_TIME);
        tr_irq_.pulse();
        tr_.done();
    }
}

}  // namespace ov2
