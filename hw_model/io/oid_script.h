// OIDs issued while traffic runs (`--oids FILE`): ADD_SA, DELETE_SA and UPDATE_SA, each completed by the
// miniport before a given frame's first bit reaches the wire (the wire stays idle while it runs, so the
// order of OIDs and frames is exact and repeatable). docs/usage.md describes the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ov2_types.h"

namespace ov2 {

struct OidEvent {
    enum class Kind { AddSa, DeleteSa, UpdateSa };
    Kind kind = Kind::AddSa;
    uint32_t before_frame = 1;   // 1-based frame index in the input
    std::vector<AddSa> sas;      // AddSa: the list handed to OID_..._ADD_SA
    std::string sa;              // DeleteSa/UpdateSa: the SA's name (from the SA file or an earlier add_sa)
    bool spi_given = false;      // UpdateSa: which SA of the bundle (default: its first)
    uint32_t spi = 0;
    IpsecOperation operation = IpsecOperation::Esp;
    uint32_t seq_hi = 0;         // UpdateSa: new SequenceNumberHighOrder
    std::string origin;          // "FILE: /oids/3" for messages
};

const char* oid_event_name(OidEvent::Kind kind);

// Throws InputError naming the file and the JSON pointer of the field. Events come back sorted by frame
// (stable: the file's order among events for the same frame).
std::vector<OidEvent> load_oid_script(const std::string& path);

}  // namespace ov2
