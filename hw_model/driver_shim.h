// Driver shim: the host side of the bus socket. A model of the IPsecOV2 miniport: it advertises its
// capabilities (NDIS_IPSEC_OFFLOAD_V2), owns the receive rings in host memory, handles
// OID_TCP_TASK_IPSEC_OFFLOAD_V2_{ADD_SA, ADD_SA_EX, DELETE_SA, UPDATE_SA} by programming the device through
// MMIO, and turns each completion into an indication carrying NDIS_IPSEC_OFFLOAD_V2_NET_BUFFER_LIST_INFO,
// which it hands to the transport model.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "host_memory.h"
#include "host_transport.h"
#include "oid_script.h"
#include "ov2_types.h"
#include "timing_params.h"
#include "trace.h"

namespace ov2 {

// NDIS_STATUS values the OID handlers return.
constexpr uint32_t kNdisStatusSuccess = 0x00000000;
constexpr uint32_t kNdisStatusFailure = 0xC0000001;
constexpr uint32_t kNdisStatusInvalidParameter = 0xC0010015;
constexpr uint32_t kNdisStatusResources = 0xC000009A;

struct AddSaResult {
    uint32_t offload_handle = 0;  // 0 = NULL: not offloaded
    std::string refused;          // why not, for the warning
};

// The bit layouts of the two receive OOB slots (spec 1.1 and 1.4).
uint32_t make_nbl_info(bool sa_delete_req, bool crypto_done, bool next_crypto_done, CryptoStatus status);
uint32_t make_header_info(uint8_t next_header, uint8_t pad_length, bool header_info_set);

// Why an SA cannot be offloaded with these capabilities ("" = it can). Independent of table space.
std::string offload_refusal(const AddSa& sa, const Capabilities& caps);
// The CAM entry for sec_assoc[slot] of an SA bundle with this handle.
CamEntry make_cam_entry(const AddSa& sa, size_t slot, uint32_t handle);

// One OID of the --oids script, as the miniport completed it.
struct OidLogEntry {
    uint32_t before_frame = 0;
    OidEvent::Kind kind = OidEvent::Kind::AddSa;
    std::string sa;
    uint32_t status = 0;         // NDIS_STATUS
    std::vector<AddSaResult> added;  // AddSa: one result per SA of the list
};

struct DriverStats {
    uint64_t oid_add_sa = 0, sa_offloaded = 0, sa_refused = 0, oid_delete_sa = 0, oid_update_sa = 0;
    uint64_t oid_failed = 0, interrupts = 0, completions = 0, sa_delete_req_set = 0, mmio_errors = 0;
    uint64_t sa_busy_retries = 0;  // SA_CMD writes retried because the slot still served frames in flight
};

struct DriverConfig {
    bool offload_enabled = true;  // IPsec offload configured on the adapter (NDIS rule 1)
    Capabilities caps;
};

// A completed indication: what the driver indicated and what the transport did with it.
struct IndicationEvent {
    const Indication& ind;
    const Completion& cpl;
    StackVerdict verdict;
    uint64_t at_ps;  // when the driver indicated it
};

// The ring registers the driver's handler writes after a run of completions.
struct RingGiveBack {
    uint32_t cpl_head = 0, rx_tail = 0;
};

class DriverShim : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<DriverShim> mmio;
    sc_core::sc_event ready;  // rings set up and the initial SAs offloaded
    std::function<void(const IndicationEvent&)> on_indication;
    // Called before the handler reads host memory (a completion record, a frame): lets posted DMA writes that
    // are visible by now land (HostBus::commit_visible_now).
    std::function<void()> before_host_read;

    DriverShim(sc_core::sc_module_name name, const TimingParams& timing, const DriverConfig& config,
               HostMemory& memory, const sc_core::sc_event& irq, TransportModel& transport,
               std::vector<AddSa> initial_sas, bool isr_thread = true);

    // The interrupt handler's steps, shared by its thread and the fast mode (which times them itself):
    void count_interrupt();
    // Indicates the completion at the ring head (its done byte must be set) at time at_ps; may block the
    // calling thread when the stack deletes an SA.
    void handle_next_completion(uint64_t at_ps);
    // After `handled` completions: the completion ring head and the receive ring tail to write back.
    RingGiveBack give_back(uint32_t handled);

    // OID handlers; they block the calling SC_THREAD for the MMIO they issue.
    std::vector<AddSaResult> oid_add_sa(const std::vector<AddSa>& list);  // ADD_SA (a linked list)
    AddSaResult oid_add_sa_ex(const AddSa& sa);                           // ADD_SA_EX (one SA)
    uint32_t oid_delete_sa(uint32_t offload_handle);
    uint32_t oid_update_sa(const UpdateSa& update);

    // Scripted OIDs: run_scheduled_oids(n) completes, in the calling thread, every event due before frame n.
    void schedule_oids(std::vector<OidEvent> events) { scheduled_ = std::move(events); }
    void run_scheduled_oids(uint32_t frame);
    bool has_scheduled_oids() const { return next_event_ < scheduled_.size(); }
    uint32_t next_oid_frame() const {  // the frame the next scripted OID comes before, UINT32_MAX = none
        return has_scheduled_oids() ? scheduled_[next_event_].before_frame : UINT32_MAX;
    }
    const std::vector<OidLogEntry>& oid_log() const { return oid_log_; }
    uint32_t handle_of(const std::string& sa_name) const;  // 0 = not offloaded (now)

    const std::vector<AddSaResult>& initial_results() const { return initial_results_; }
    const std::vector<AddSa>& initial_sas() const { return initial_sas_; }
    const DriverStats& stats() const { return stats_; }
    void trace(Tracer& t);  // waveform signals (docs/waveforms.md)
    uint32_t bundles_in_use() const { return in_use_; }

private:
    // OffloadHandle = generation << 16 | (slot + 1): a slot gets a new handle each time it is reused, so a
    // frame matched under a deleted SA never carries the handle of the SA that took its slot.
    static constexpr uint32_t kHandleSlotBits = 16;
    // SA_CMD writes to a slot whose frames are still in flight are retried this often (each an MMIO round
    // trip) before ADD_SA gives up.
    static constexpr uint32_t kMaxBusyRetries = 100000;

    struct Bundle {
        bool in_use = false;
        uint32_t handle = 0;
        uint32_t generation = 0;  // bumped when the SA in this slot is deleted
        AddSa sa;  // keys cleared after programming: the driver does not keep key material
        uint64_t packets = 0, bytes = 0;
        bool delete_requested = false;
    };

    void init_thread();
    void isr_thread();
    void setup_rings();
    void program_capabilities();
    bool mmio_write(uint32_t offset, const uint32_t* words, size_t count);
    uint32_t mmio_read(uint32_t offset);
    bool program_entry(uint32_t index, const CamEntry& entry);
    Bundle* bundle_of(uint64_t handle);  // nullptr unless handle names an SA offloaded now
    static uint32_t slot_of(uint32_t handle) { return (handle & ((1u << kHandleSlotBits) - 1)) - 1; }
    void handle_completion(uint32_t slot, uint64_t at_ps);
    bool sa_delete_due(Bundle& b, const Completion& c);
    void link_pairs(const std::vector<AddSa>& list, const std::vector<AddSaResult>& results);

    const TimingParams& timing_;
    DriverConfig config_;
    HostMemory& memory_;
    const sc_core::sc_event& irq_;
    TransportModel& transport_;
    std::vector<AddSa> initial_sas_;
    std::vector<AddSaResult> initial_results_;
    std::vector<Bundle> bundles_;          // index = slot_of(handle); CAM entries 2 * slot and 2 * slot + 1
    std::deque<uint32_t> free_slots_;      // FIFO: a freed slot is reused as late as possible
    std::unordered_map<std::string, uint32_t> handle_by_name_;
    std::vector<OidEvent> scheduled_;
    size_t next_event_ = 0;
    std::vector<OidLogEntry> oid_log_;
    uint32_t in_use_ = 0;
    uint64_t rx_ring_ = 0, buffers_ = 0, cpl_ring_ = 0;
    uint32_t rx_size_ = 0, cpl_size_ = 0, cpl_head_ = 0, rx_tail_ = 0, next_buffer_ = 0;
    DriverStats stats_;
    TraceSignal tr_irq_, tr_isr_, tr_indicate_, tr_frame_, tr_nbl_info_;
};

}  // namespace ov2
