// Model of the TCP/IP transport above the miniport: takes each indication, checks sequence numbers
// (anti-replay, ESN aware) after the NIC's checks, decides what the stack does with the packet, and on
// SaDeleteReq issues DELETE_SA for the inbound SA and then for its outbound pair (spec 1.3).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ov2_types.h"

namespace ov2 {

// What the indication carries (NDIS_IPSEC_OFFLOAD_V2_NET_BUFFER_LIST_INFO and its header slot) plus the
// frame as indicated.
struct Indication {
    uint32_t frame = 0;
    const uint8_t* data = nullptr;
    uint32_t length = 0;
    uint32_t nbl_info = 0;     // Receive bitfield: SaDeleteReq bit 0, CryptoDone 1, NextCryptoDone 2, status 16-31
    uint32_t header_info = 0;  // Receive: NextHeader 0-7, PadLength 8-15, HeaderInfoSet 16
    uint32_t offload_handle = 0;  // the SA the NIC checked (the stack finds it by SPI + destination itself)
    bool truncated = false;       // cut to the receive buffer: the stack cannot use it
};

enum class StackVerdict : uint8_t {
    Accepted, Replay, AuthFailed, InvalidProtocol, BadSyntax, GenericError, DummyDropped, SoftwareIpsec, NotIpsec,
    UnknownSa, Truncated,
};
const char* stack_verdict_name(StackVerdict v);

// Anti-replay window (RFC 4303 3.4.3 and Appendix A), 64-bit sequence numbers with ESN.
class ReplayWindow {
public:
    ReplayWindow(uint32_t window, uint64_t highest, bool esn);
    // Full 64-bit sequence number for the low 32 bits on the wire (ESN: Appendix A inference).
    uint64_t infer(uint32_t seq_low) const;
    bool check_and_update(uint32_t seq_low);  // false: replayed or older than the window
    uint64_t highest() const { return top_; }

private:
    bool seen(uint64_t seq) const;
    void mark(uint64_t seq);
    uint32_t window_;
    uint64_t top_;
    bool esn_;
    std::vector<uint64_t> bits_;  // bit (top_ - seq) set = seq received
};

struct TransportStats {
    uint64_t indications = 0, accepted = 0, replay = 0, auth_failed = 0, invalid_protocol = 0, bad_syntax = 0;
    uint64_t generic_error = 0, dummy_dropped = 0, software_ipsec = 0, not_ipsec = 0, unknown_sa = 0, truncated = 0;
    uint64_t sa_delete_requests = 0, delete_sa_issued = 0, delete_without_pair = 0;
};

class TransportModel {
public:
    // The stack learns of each offloaded inbound SA (and its outbound pair's handle, 0 = none).
    void sa_offloaded(uint32_t handle, const AddSa& sa, uint32_t pair_handle);
    void sa_deleted(uint32_t handle);
    StackVerdict on_indication(const Indication& ind);
    std::function<void(uint32_t handle)> delete_sa;  // OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA
    const TransportStats& stats() const { return stats_; }

private:
    struct SaState {
        ReplayWindow replay;
        uint32_t pair_handle;
        bool replay_check;
        bool tunnel;
        uint32_t esp_iv_bytes;  // explicit IV in front of the ESP payload
        bool delete_issued = false;
    };
    StackVerdict verdict_for(const Indication& ind);
    bool inner_needs_software(const Indication& ind, const ParseResult& outer, const SaState& sa) const;
    void count(StackVerdict v);

    SaState* find_sa(uint32_t handle);
    void forget_found() { found_ = nullptr; }

    std::unordered_map<uint32_t, SaState> sas_;
    // The SA find_sa found last: an indication usually comes from the same SA as the one before (a hash
    // lookup per frame, twice with a delete request, otherwise). Cleared whenever sas_ changes.
    uint32_t found_handle_ = 0;
    SaState* found_ = nullptr;
    TransportStats stats_;
};

}  // namespace ov2
