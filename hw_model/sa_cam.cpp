#include "sa_cam.h"

#include <cstring>

#include "reg_access.h"

namespace ov2 {

SaCamTable::SaCamTable(uint32_t bundles)
    : entries_(size_t(bundles) * 2), holds_(bundles), retiring_(entries_.size()) {
    by_spi_.reserve(entries_.size());
}

void SaCamTable::write_register(uint32_t offset, uint32_t value) {
    if (offset >= reg::kSaData0 && offset < reg::kSaData0 + 4 * reg::kSaDataWords) {
        staging_[(offset - reg::kSaData0) / 4] = value;
        return;
    }
    switch (offset) {
    case reg::kSaCtrl: ctrl_ = value; break;
    case reg::kSaCaps: caps_ = value; break;
    case reg::kSaAuthMask: auth_mask_ = value; break;
    case reg::kSaEncMask: enc_mask_ = value; break;
    case reg::kSaUdpEspMask: udp_esp_mask_ = value; break;
    case reg::kSaCmd: execute(value); break;
    default: break;  // writes to read-only or unmapped registers are ignored, as on real devices
    }
}

uint32_t SaCamTable::read_register(uint32_t offset) const {
    if (offset >= reg::kSaData0 && offset < reg::kSaData0 + 4 * reg::kSaDataWords)
        return staging_[(offset - reg::kSaData0) / 4];
    switch (offset) {
    case reg::kSaCtrl: return ctrl_;
    case reg::kSaCaps: return caps_;
    case reg::kSaAuthMask: return auth_mask_;
    case reg::kSaEncMask: return enc_mask_;
    case reg::kSaUdpEspMask: return udp_esp_mask_;
    case reg::kSaStatus: return status_;
    case reg::kSaCapacity: return uint32_t(entries_.size());
    default: return 0;
    }
}

void SaCamTable::execute(uint32_t command) {
    const uint32_t index = command & 0xFFF;
    const uint32_t op = command >> 28;
    status_ = 0;
    if (index >= entries_.size()) {
        status_ = 1;
        ++stats_.bad_commands;
        return;
    }
    CamEntry& e = entries_[index];
    switch (op) {
    case reg::kSaCmdWrite: {
        if (retiring_[index]) {
            status_ = reg::kSaStatusBusy;
            ++stats_.busy_writes;
            return;
        }
        CamEntry next = unpack_cam_entry(staging_);
        if (next.enc_key_len > next.enc_key.size() || next.auth_key_len > next.auth_key.size() ||
            (next.ip_version != 4 && next.ip_version != 6)) {
            status_ = 1;
            ++stats_.bad_commands;
            return;
        }
        unlink(index);
        e = next;
        link(index);
        ++stats_.writes;
        break;
    }
    case reg::kSaCmdInvalidate:
        invalidate(index);
        return;
    case reg::kSaCmdSetSeqHi:
        e.seq_hi = staging_[0];
        ++stats_.seq_hi_updates;
        break;
    case reg::kSaCmdRead: {
        // Key material is write-only: a read returns the entry with its keys cleared.
        CamEntry copy = retiring_[index] ? CamEntry{} : e;
        copy.enc_key.fill(0);
        copy.auth_key.fill(0);
        copy.salt.fill(0);
        staging_ = pack_cam_entry(copy);
        return;
    }
    default:
        status_ = 1;
        ++stats_.bad_commands;
        return;
    }
    changed(index, reg::SaCmdOp(op), false);
}

void SaCamTable::changed(uint32_t index, reg::SaCmdOp op, bool deferred) {
    if (on_entry_changed) on_entry_changed(index, entries_[index], op);
    if (observer_) observer_->entry_changed(index, op, deferred);
}

void SaCamTable::invalidate(uint32_t index) {
    if (retiring_[index]) return;  // already invalidated; cleared when its frames are done
    ++stats_.invalidates;
    if (holds_[index / 2] > 0 && entries_[index].valid) {
        unlink(index);
        retiring_[index] = 1;
        ++stats_.deferred_invalidates;
        return;
    }
    clear(index);
}

void SaCamTable::clear(uint32_t index) {
    unlink(index);
    entries_[index] = CamEntry{};
    changed(index, reg::kSaCmdInvalidate, false);
}

void SaCamTable::release(uint32_t index) {
    uint32_t& holds = holds_[index / 2];
    if (holds > 0 && --holds == 0) {
        for (uint32_t i = index & ~1u; i <= (index | 1u); ++i) {
            if (!retiring_[i]) continue;
            retiring_[i] = 0;
            entries_[i] = CamEntry{};  // unlinked already, at the invalidate
            changed(i, reg::kSaCmdInvalidate, true);
        }
    }
    if (observer_) observer_->released(index);
}

void SaCamTable::unlink(uint32_t index) {
    CamEntry& e = entries_[index];
    if (!e.valid) return;
    last_.valid = false;
    auto range = by_spi_.equal_range(e.spi);
    for (auto it = range.first; it != range.second; ++it) {
        if (it->second == index) {
            by_spi_.erase(it);
            break;
        }
    }
    --valid_count_;
}

void SaCamTable::link(uint32_t index) {
    const CamEntry& e = entries_[index];
    if (!e.valid) return;
    last_.valid = false;
    ++valid_count_;
    if (e.inbound) by_spi_.emplace(e.spi, index);
}

std::optional<uint32_t> SaCamTable::lookup(uint32_t spi, const IpAddr& dst, CamPort port) {
    ++stats_.lookups;
    if (!(last_.valid && last_.spi == spi && last_.dst == dst)) last_ = match(spi, dst);
    if (last_.exact || last_.wildcard) ++stats_.hits;
    else ++stats_.misses;
    if (last_.wildcard) ++stats_.wildcard_hits;
    if (observer_) observer_->looked_up(spi, dst, last_.index, port);
    return last_.index;
}

// Among equal candidates the lowest index wins, as in a priority-encoded CAM (never the hash order).
SaCamTable::LastMatch SaCamTable::match(uint32_t spi, const IpAddr& dst) const {
    std::optional<uint32_t> exact, wildcard;
    auto range = by_spi_.equal_range(spi);
    for (auto it = range.first; it != range.second; ++it) {
        const CamEntry& e = entries_[it->second];
        if (e.ip_version != dst.version) continue;
        if (e.dst == dst && (!exact || it->second < *exact)) exact = it->second;
        else if (e.dst.is_zero() && (!wildcard || it->second < *wildcard)) wildcard = it->second;
    }
    LastMatch m;
    m.valid = true;
    m.spi = spi;
    m.dst = dst;
    m.exact = exact.has_value();
    m.wildcard = !exact && wildcard;
    m.index = exact ? exact : wildcard;
    return m;
}

// ---- SystemC wrapper ------------------------------------------------------------------------------------

SaCam::SaCam(sc_core::sc_module_name name, uint32_t bundles) : sc_module(name), regs("regs"), table_(bundles) {
    regs.register_b_transport(this, &SaCam::b_transport);
}

void SaCam::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time&) {
    serve_register_access(trans, [this](uint32_t off, uint32_t v) { table_.write_register(off, v); },
                          [this](uint32_t off) { return table_.read_register(off); });
}

}  // namespace ov2
