// SA CAM: the table of offloaded SAs, keyed as NDIS says (SPI + destination address, the protocol then
// checked against the entry). Programmed only through its registers (reg::kSa*), which arrive over the bus
// on the `regs` TLM target socket. Capacity counts SA bundles; each bundle has two entries (AH + ESP).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "ov2_types.h"

namespace ov2 {

struct SaCamStats {
    uint64_t lookups = 0, hits = 0, misses = 0, wildcard_hits = 0;
    uint64_t writes = 0, invalidates = 0, seq_hi_updates = 0, bad_commands = 0;
    uint64_t deferred_invalidates = 0, busy_writes = 0;
};

// Who asks the table: the CAM stage for every frame's outer lookup, or the crypto stage for the transport
// portion inside a tunnel (its second lookup).
enum class CamPort : uint8_t { Stage, Inner };

// Sees what the pipeline does with the table: a co-simulated RTL CAM beside it gets the same lookups and
// holds on the same clock edges (hw_model/tlm2cam_bridge.h). entry_changed: after on_entry_changed;
// deferred = the clear at the last release of an invalidated held entry. released: after its clears.
class CamObserver {
public:
    virtual ~CamObserver() = default;
    virtual void looked_up(uint32_t spi, const IpAddr& dst, std::optional<uint32_t> result, CamPort port) = 0;
    virtual void held(uint32_t index) = 0;
    virtual void released(uint32_t index) = 0;
    virtual void entry_changed(uint32_t index, reg::SaCmdOp op, bool deferred) = 0;
};

// Where the CAM stage's answers come from when a co-simulated RTL CAM replaces the table's (`--rtl cam`):
// the answer to the oldest stage lookup not yet taken, read once its result edge has passed. `table_answer`
// is what the table said (used only when the RTL has no answer; that is counted as a disagreement).
class CamAnswerSource {
public:
    virtual ~CamAnswerSource() = default;
    virtual std::optional<uint32_t> take_answer(std::optional<uint32_t> table_answer) = 0;
};

// Functional core: register file + table + lookup. No SystemC inside, so it is unit-testable alone.
class SaCamTable {
public:
    explicit SaCamTable(uint32_t bundles);

    void write_register(uint32_t offset, uint32_t value);
    uint32_t read_register(uint32_t offset) const;

    // Index of the valid inbound entry for (spi, dst); an exact destination wins over a wildcard one.
    std::optional<uint32_t> lookup(uint32_t spi, const IpAddr& dst, CamPort port = CamPort::Stage);
    const CamEntry& entry(uint32_t index) const { return entries_[index]; }
    uint32_t entries() const { return uint32_t(entries_.size()); }
    uint32_t valid_entries() const { return valid_count_; }

    // Frames in flight hold the bundle of the entry they matched (both its entries: an AH+ESP bundle is
    // checked with both), from the lookup until the crypto stage is done with it. An invalidate of a held
    // entry stops new matches at once but keeps the entry (and its key schedule) until the last holder lets
    // go; a write to it meanwhile is refused with SA_STATUS busy. So a frame is always checked with the SA
    // it matched, and a slot is never reprogrammed under a frame.
    void hold(uint32_t index) {
        ++holds_[index / 2];
        if (observer_) observer_->held(index);
    }
    void release(uint32_t index);
    bool retiring(uint32_t index) const { return retiring_[index]; }

    bool offload_enabled() const { return ctrl_ & 1; }
    uint32_t caps() const { return caps_; }
    uint32_t auth_mask() const { return auth_mask_; }
    uint32_t enc_mask() const { return enc_mask_; }
    uint32_t udp_esp_mask() const { return udp_esp_mask_; }
    const SaCamStats& stats() const { return stats_; }

    // Called after an entry changed (written, invalidated, seq_hi updated): the crypto engine's key
    // schedule follows the table, as hardware expands a key when it is written.
    std::function<void(uint32_t index, const CamEntry& entry, reg::SaCmdOp op)> on_entry_changed;
    void set_observer(CamObserver* o) { observer_ = o; }

private:
    void execute(uint32_t command);
    void unlink(uint32_t index);
    void link(uint32_t index);
    void invalidate(uint32_t index);
    void clear(uint32_t index);
    void changed(uint32_t index, reg::SaCmdOp op, bool deferred);
    // The last lookup's answer: frames of one flow ask the same question again and again. Only link and
    // unlink change what a lookup finds (the SPI index and the linked entries' addresses): they clear it.
    struct LastMatch {
        bool valid = false, exact = false, wildcard = false;
        uint32_t spi = 0;
        IpAddr dst;
        std::optional<uint32_t> index;
    };
    LastMatch match(uint32_t spi, const IpAddr& dst) const;
    LastMatch last_;

    std::vector<CamEntry> entries_;
    std::vector<uint32_t> holds_;     // frames in flight holding each bundle (entry index / 2)
    std::vector<uint8_t> retiring_;   // invalidated while held: unlinked, cleared at the last release
    std::unordered_multimap<uint32_t, uint32_t> by_spi_;  // spi -> entry index (valid inbound entries)
    std::array<uint32_t, reg::kSaDataWords> staging_{};
    uint32_t ctrl_ = 0, caps_ = 0, auth_mask_ = 0, enc_mask_ = 0, udp_esp_mask_ = 0, status_ = 0;
    uint32_t valid_count_ = 0;
    SaCamStats stats_;
    CamObserver* observer_ = nullptr;
};

// SystemC wrapper: the register target on the bus.
class SaCam : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<SaCam> regs;

    SaCam(sc_core::sc_module_name name, uint32_t bundles);
    SaCamTable& table() { return table_; }

private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    SaCamTable table_;
};

}  // namespace ov2
