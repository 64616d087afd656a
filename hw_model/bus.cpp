#include "bus.h"

#include <algorithm>
#include <cstring>

#include "ov2_types.h"
#include "reg_access.h"
#include "rx_packet.h"

namespace ov2 {

using sc_core::sc_time;
using sc_core::SC_PS;

HostBus::HostBus(sc_core::sc_module_name name, const TimingParams& timing)
    : sc_module(name), dma_in("dma_in"), mmio_in("mmio_in"), host_mem("host_mem"), wb_regs("wb_regs"),
      cam_regs("cam_regs"), timing_(timing) {
    dma_in.register_b_transport(this, &HostBus::dma_transport);
    mmio_in.register_b_transport(this, &HostBus::mmio_transport);
    SC_HAS_PROCESS(HostBus);
    SC_METHOD(commit_process);
}

void HostBus::trace(Tracer& t) {
    tr_wr_.attach(t, "bus.dma_wr", 1, TraceFormat::Bin);
    tr_wr_addr_.attach(t, "bus.dma_wr_addr", 64, TraceFormat::Hex);
    tr_wr_len_.attach(t, "bus.dma_wr_len", 32);
    tr_rd_.attach(t, "bus.dma_rd", 1, TraceFormat::Bin);
    tr_rd_addr_.attach(t, "bus.dma_rd_addr", 64, TraceFormat::Hex);
    tr_rd_len_.attach(t, "bus.dma_rd_len", 32);
    tr_posted_.attach(t, "bus.posted", 32);
    tr_mmio_.attach(t, "bus.mmio", 1, TraceFormat::Bin);
    tr_mmio_addr_.attach(t, "bus.mmio_addr", 32, TraceFormat::Hex);
}

HostBus::PostedWrite& HostBus::PostedRing::push_back() {
    if (count_ == slots_.size()) {  // full: double, oldest first again
        std::vector<PostedWrite> grown(std::max<size_t>(8, 2 * slots_.size()));
        for (size_t i = 0; i < count_; ++i) grown[i] = std::move(slots_[index(i)]);
        slots_ = std::move(grown);
        first_ = 0;
    }
    ++count_;
    return slots_[index(count_ - 1)];
}

// Asked once, at the first access's address (a refusal, e.g. for an address outside the memory, leaves
// every access to b_transport: slower, the same result).
void HostBus::request_dmi(uint64_t addr) {
    dmi_asked_ = true;
    tlm::tlm_generic_payload probe;
    probe.set_command(tlm::TLM_WRITE_COMMAND);
    probe.set_address(addr);
    dmi_valid_ = host_mem->get_direct_mem_ptr(probe, dmi_) && dmi_.is_read_write_allowed();
}

tlm::tlm_response_status HostBus::forward_to_memory(tlm::tlm_command cmd, uint64_t addr, uint8_t* data,
                                                   uint32_t len) {
    if (!dmi_asked_) request_dmi(addr);
    if (dmi_valid_ && addr >= dmi_.get_start_address() && addr <= dmi_.get_end_address() &&
        len <= dmi_.get_end_address() - addr + 1) {
        uint8_t* mem = dmi_.get_dmi_ptr() + (addr - dmi_.get_start_address());
        if (cmd == tlm::TLM_WRITE_COMMAND) std::memcpy(mem, data, len);
        else std::memcpy(data, mem, len);
        return tlm::TLM_OK_RESPONSE;
    }
    sc_time unused = sc_core::SC_ZERO_TIME;
    const tlm::tlm_response_status status = transact(host_mem, memory_trans_, cmd, addr, data, len, unused);
    if (status != tlm::TLM_OK_RESPONSE) ++stats_.dma_errors;
    return status;
}

void HostBus::commit_visible_now() {
    const uint64_t now = now_ps();
    while (!posted_.empty() && posted_.front().visible_ps <= now) {
        PostedWrite& w = posted_.front();
        forward_to_memory(tlm::TLM_WRITE_COMMAND, w.addr, w.data.data(), uint32_t(w.data.size()));
        posted_.pop_front();
        tr_posted_.set(posted_.size());
    }
}

// An SC_METHOD: commits every posted write that has become visible, then sleeps until the next one does
// (lazily: until the last one in flight does) or, with none in flight, until a write is posted.
void HostBus::commit_process() {
    commit_visible_now();
    if (posted_.empty()) {
        sc_core::next_trigger(posted_event_);
        return;
    }
    const bool lazy = lazy_commit_ && !tr_posted_.on();  // the waveform shows each write landing
    const PostedWrite& due = lazy ? posted_.back() : posted_.front();
    sc_core::next_trigger(ps_time(due.visible_ps - now_ps()));
}

void HostBus::dma_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
    const uint32_t len = trans.get_data_length();
    if (trans.get_byte_enable_ptr() || (len > timing_.bus_max_payload_bytes && trans.is_write())) {
        ++stats_.dma_too_large;  // the initiator must split writes at the maximum payload size
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    // Serialise on the link: a transaction starts when the link is free. A write takes len / bandwidth of the
    // device-to-host direction; a read request is a header only there (its data comes back on the other
    // direction of the full-duplex link, below), so it only keeps its place behind earlier writes.
    const uint64_t issue_ps = now_ps() + delay.value();
    const uint64_t transfer_ps = timing_.bus_transfer_ps(len);
    stats_.dma_bytes += len;
    const uint64_t latency_ps = timing_.bus_latency_ps();
    if (trans.is_write()) {
        const uint64_t link_free_ps = link_.write(issue_ps, transfer_ps);
        const uint64_t start_ps = link_.last_start_ps;
        stats_.link_busy_ps += transfer_ps;
        ++stats_.dma_writes;
        PostedWrite& w = posted_.push_back();
        w.data.assign(trans.get_data_ptr(), trans.get_data_ptr() + len);
        w.addr = trans.get_address();
        w.visible_ps = link_free_ps + latency_ps;
        stats_.posted_high_water = std::max<uint64_t>(stats_.posted_high_water, posted_.size());
        if (tr_wr_.on()) {  // on the link from start_ps for its transfer time
            tr_wr_.set_at(start_ps, 1);
            tr_wr_addr_.set_at(start_ps, trans.get_address());
            tr_wr_len_.set_at(start_ps, len);
            tr_wr_.set_at(link_free_ps, 0);
            tr_posted_.set(posted_.size());
        }
        // Only an idle committer waits for the event; a busy one is already due at the front's time.
        if (posted_.size() == 1) posted_event_.notify(sc_core::SC_ZERO_TIME);
        delay += ps_time(link_free_ps - issue_ps);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    // A read: request latency, then the data comes back on the host-to-device direction, one read after the
    // other (posted writes before it are visible by then, since they were issued earlier on the same link and
    // have the same latency).
    ++stats_.dma_reads;
    const uint64_t data_back_ps = link_.read(issue_ps, transfer_ps, latency_ps);
    if (tr_rd_.on()) {  // from its start on the link until the data is back
        tr_rd_.set_at(link_.last_start_ps, 1);
        tr_rd_addr_.set_at(link_.last_start_ps, trans.get_address());
        tr_rd_len_.set_at(link_.last_start_ps, len);
        tr_rd_.set_at(data_back_ps, 0);
    }
    sc_core::wait(ps_time(data_back_ps - issue_ps) + delay);
    delay = sc_core::SC_ZERO_TIME;
    if (lazy_commit_) commit_visible_now();  // the posted writes before it have landed
    trans.set_response_status(
        forward_to_memory(tlm::TLM_READ_COMMAND, trans.get_address(), trans.get_data_ptr(), len));
}

void HostBus::mmio_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
    const uint64_t addr = trans.get_address();
    const uint64_t len = trans.get_data_length();
    const sc_time delay_in = delay;
    delay += sc_time(timing_.mmio_latency_ns * 1000.0, SC_PS);
    if (addr < reg::kMmioBase || addr + len > reg::kMmioBase + reg::kMmioSize) {
        ++stats_.mmio_errors;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const uint64_t offset = addr - reg::kMmioBase;
    if (tr_mmio_.on()) {  // the register access, for the MMIO latency the initiator waits
        const uint64_t start_ps = uint64_t((sc_core::sc_time_stamp() + delay_in).value());
        tr_mmio_.set_at(start_ps, 1);
        tr_mmio_addr_.set_at(start_ps, offset);
        tr_mmio_.set_at(uint64_t((sc_core::sc_time_stamp() + delay).value()), 0);
    }
    trans.set_address(offset);
    sc_time unused = sc_core::SC_ZERO_TIME;
    const sc_time before = sc_core::sc_time_stamp();
    if (offset < reg::kSaCtrl) wb_regs->b_transport(trans, unused);
    else cam_regs->b_transport(trans, unused);
    // A co-simulated register block answers a read on a clock edge (tlm2cam_bridge.h): that wait is part
    // of the MMIO round trip, not added to it.
    const sc_time waited = sc_core::sc_time_stamp() - before;
    delay = waited < delay ? delay - waited : sc_core::SC_ZERO_TIME;
    trans.set_address(addr);
    if (trans.is_write()) ++stats_.mmio_writes; else ++stats_.mmio_reads;
    if (trans.get_response_status() != tlm::TLM_OK_RESPONSE) ++stats_.mmio_errors;
}

}  // namespace ov2
