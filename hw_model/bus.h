// The bus between the device and the driver-shim socket: a TLM-2.0 interconnect that decodes MMIO (driver
// -> device registers in BAR0) and DMA (device -> host memory). The DMA direction is one shared link with a
// bandwidth and a per-transaction latency; transactions are serialised on it in the order they arrive.
// DMA writes are posted (as PCIe memory writes): the initiator is held only for the link time, and the data
// becomes visible in host memory one latency later, in order. Reads wait for the full round trip; their data
// returns on the other direction of the full-duplex link, so reads do not take write bandwidth.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "timing_params.h"
#include "trace.h"

namespace ov2 {

// The DMA link's arithmetic, shared by HostBus and the fast mode: transactions serialise on the
// device-to-host direction in issue order; read data returns on the other direction, one read after another.
struct DmaLink {
    uint64_t link_free_ps = 0;    // device-to-host direction: posted writes (and read requests)
    uint64_t return_free_ps = 0;  // host-to-device direction: read data
    uint64_t last_start_ps = 0;   // when the last transaction got the link
    // A posted write issued at issue_ps: returns when it has left the link (the initiator is held until
    // then); its data becomes visible one bus latency later.
    uint64_t write(uint64_t issue_ps, uint64_t transfer_ps) {
        last_start_ps = std::max(issue_ps, link_free_ps);
        link_free_ps = last_start_ps + transfer_ps;
        return link_free_ps;
    }
    // A read request issued at issue_ps (a header only on the link: it keeps its place behind earlier
    // writes); returns when its data is back.
    uint64_t read(uint64_t issue_ps, uint64_t transfer_ps, uint64_t latency_ps) {
        last_start_ps = std::max(issue_ps, link_free_ps);
        return_free_ps = std::max(last_start_ps + 2 * latency_ps, return_free_ps) + transfer_ps;
        return return_free_ps;
    }
};

struct BusStats {
    uint64_t dma_writes = 0, dma_reads = 0, dma_bytes = 0, dma_errors = 0, dma_too_large = 0;
    uint64_t mmio_writes = 0, mmio_reads = 0, mmio_errors = 0;
    uint64_t link_busy_ps = 0;       // device-to-host direction (writes)
    uint64_t posted_high_water = 0;  // posted writes in flight at once
};

class HostBus : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<HostBus> dma_in;        // from the device (descriptor writeback)
    tlm_utils::simple_target_socket<HostBus> mmio_in;       // from the driver shim
    tlm_utils::simple_initiator_socket<HostBus> host_mem;   // to host memory
    tlm_utils::simple_initiator_socket<HostBus> wb_regs;    // to BAR0 0x000-0x0FF
    tlm_utils::simple_initiator_socket<HostBus> cam_regs;   // to BAR0 0x100-0xFFF

    HostBus(sc_core::sc_module_name name, const TimingParams& timing);
    const BusStats& stats() const { return stats_; }
    // Lazy commit, for a system whose host-memory readers call commit_visible_now() before they look (the
    // cycle mode's Ov2System: the driver shim): posted writes land when someone looks or when the last one in
    // flight becomes visible, not each at its own time, which saves a wake-up a write. Off while traced.
    void set_lazy_commit(bool on) { lazy_commit_ = on; }
    void commit_visible_now();  // every posted write visible by now lands in host memory
    void trace(Tracer& t);  // waveform signals (docs/waveforms.md)

private:
    struct PostedWrite {
        uint64_t visible_ps = 0;
        uint64_t addr = 0;
        std::vector<uint8_t> data;  // keeps its capacity in its ring slot: no allocation per write once warm
    };
    // The posted writes in flight, oldest first, in a ring that only grows.
    class PostedRing {
    public:
        bool empty() const { return count_ == 0; }
        size_t size() const { return count_; }
        PostedWrite& front() { return slots_[first_]; }
        const PostedWrite& back() const { return slots_[index(count_ - 1)]; }
        PostedWrite& push_back();  // a slot at the end (its data keeps an earlier write's buffer)
        void pop_front() {
            first_ = index(1);
            --count_;
        }

    private:
        size_t index(size_t i) const { return (first_ + i) & (slots_.size() - 1); }
        std::vector<PostedWrite> slots_;  // a power of two of them
        size_t first_ = 0, count_ = 0;
    };
    void commit_process();
    tlm::tlm_response_status forward_to_memory(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len);
    void request_dmi(uint64_t addr);
    void dma_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    void mmio_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

    const TimingParams& timing_;
    DmaLink link_;
    PostedRing posted_;
    tlm::tlm_generic_payload memory_trans_;  // every access to host memory outside its DMI range
    // Host memory's direct pointer (TLM-2.0 DMI), asked for on the first access: what lies inside is copied
    // directly, as its b_transport would; anything else (an error) goes through b_transport.
    tlm::tlm_dmi dmi_;
    bool dmi_asked_ = false, dmi_valid_ = false;
    sc_core::sc_event posted_event_;
    bool lazy_commit_ = false;
    BusStats stats_;
    TraceSignal tr_wr_, tr_wr_addr_, tr_wr_len_, tr_rd_, tr_rd_addr_, tr_rd_len_, tr_posted_, tr_mmio_, tr_mmio_addr_;
};

}  // namespace ov2
