// Crypto engine: verifies and decrypts one AH or ESP header in place with Botan (every IPsecOV2 algorithm).
// The functional core is the class CryptoEngine; the SystemC/timing wrapper lives in the pipeline top level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ov2_types.h"

namespace ov2 {

// Result of one AH or ESP header (one "portion" when it is the only header of its SA).
struct PortionResult {
    CryptoStatus status = CryptoStatus::Success;
    bool header_info_set = false;  // ESP decrypted and the trailer read: next_header/pad_length valid
    uint8_t next_header = 0;       // ESP trailer next header, or the AH next header
    uint8_t pad_length = 0;
    uint64_t seq64 = 0;            // sequence number with the inferred ESN high bits (low bits without ESN)
    uint32_t payload_offset = 0;   // offset in the buffer of what the header protected: ESP decrypted data
                                   // (after the IV), AH the following header
    uint32_t payload_length = 0;   // ESP: bytes of payload without padding, pad length, next header and ICV;
                                   // AH: bytes from payload_offset to the end of the IP datagram
};

class CryptoEngine {
public:
    explicit CryptoEngine(size_t entries);
    ~CryptoEngine();
    CryptoEngine(const CryptoEngine&) = delete;
    CryptoEngine& operator=(const CryptoEngine&) = delete;

    // Key schedule at programming time (as hardware expands keys when the SA is written). Returns false
    // and leaves the slot empty when the entry names an algorithm or key length it cannot run.
    bool install(size_t index, const CamEntry& entry);
    void remove(size_t index);
    // UPDATE_SA: new ESN high-order bits for the SA in this slot.
    void set_seq_hi(size_t index, uint32_t seq_hi);

    // Verify (and for ESP decrypt in place) the AH or ESP header at p.ipsec_offset of the IP datagram
    // described by p (offsets are into buf, the datagram ends at p.l3_offset + p.l3_length).
    // `tunnel_portion` selects the TUNNEL_ or TRANSPORT_ auth-failed codes. AH: mutable fields of the IP
    // header, IPv4 options and IPv6 extension headers are zeroed in a scratch copy, never in buf.
    // ESN: high bits inferred as RFC 4303 Appendix A from the highest authenticated sequence number of the
    // slot, which is advanced only on success. No allocation on the hot path after install().
    PortionResult process(size_t index, uint8_t* buf, size_t len, const ParseResult& p, bool tunnel_portion);

private:
    struct Slot;
    struct Workspace;  // Botan-typed scratch (secure_vector for AEAD finish()), sized at construction
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<uint8_t> scratch_;  // AH: copy of the IP header .. AH header with mutable fields zeroed
    std::unique_ptr<Workspace> work_;
};

}  // namespace ov2
