// ov2soak traffic generator: a deterministic plan of SA bundles (initial, added, deleted, re-added and
// ESN-updated mid-traffic through the driver's OID schedule) and an in-process FrameSource that builds
// every frame with Botan (independently of the model's code) and keeps the ground truth of each frame.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mac_rx.h"
#include "oid_script.h"
#include "ov2_types.h"

namespace soak {

using Bytes = std::vector<uint8_t>;

// Deterministic PRNG (xoshiro256**, seeded through splitmix64): the same seed gives the same frames on any
// platform (no std:: distributions, whose algorithms are implementation-defined).
class Rng {
public:
    explicit Rng(uint64_t seed);
    uint64_t next();
    uint32_t below(uint32_t n) { return uint32_t(next() % n); }  // [0, n)
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }  // [lo, hi]
    bool chance(uint32_t percent) { return below(100) < percent; }
    void fill(uint8_t* p, size_t n);

private:
    uint64_t s_[4];
};

enum class Alg : uint8_t { Gcm128, Gcm256, CbcSha1, CbcSha256, AhSha256 };
const char* alg_name(Alg a);

// One SA bundle instance: one ADD_SA of one SA (single sec_assoc). A re-add of a deleted SA is a new
// instance with the same SPI, addresses and keys (reuse_of = the instance it copies).
struct SaInst {
    uint32_t id = 0;
    std::string name;
    Alg alg = Alg::Gcm128;
    bool tunnel = false, v6 = false, esn = false;
    uint8_t icv = 16;  // ICV bytes
    uint32_t spi = 0;
    uint8_t dst_idx = 0, src_idx = 0;
    Bytes enc_key, salt, auth_key;
    uint32_t seq_hi = 0;                // initial SequenceNumberHighOrder (ESN)
    uint32_t add_frame = 0;             // 0: in the initial SA list; else before_frame of its add_sa
    uint32_t del_frame = UINT32_MAX;    // before_frame of its delete_sa
    uint32_t upd_frame = UINT32_MAX;    // before_frame of its update_sa (ESN only)
    uint32_t upd_seq_hi = 0;
    uint32_t reuse_of = UINT32_MAX;
    // generator state, kept in the first instance of a re-add chain (same SPI and keys)
    uint32_t seq = 0;    // last sequence number sent (low 32 bits)
    uint64_t iv_ctr = 0;
    bool is_esp() const { return alg != Alg::AhSha256; }
    // The CryptoStatus an authentication failure of this SA must give (docs/oob.md section 3).
    uint8_t auth_fail_status() const;
    ov2::AddSa to_add_sa() const;
    std::string describe() const;  // "soak-17 (aes-gcm-128 tunnel v4 spi 0x...)" (no key material)
};

// What a frame is (ground truth). The checker derives the allowed outcomes from it.
enum Kind : uint8_t {
    kValid,          // valid for SA inst, offloaded when sent
    kReplay,         // byte copy of an earlier valid frame (aux = its frame number)
    kIcvCorrupt,     // one bit of the ICV flipped
    kPayloadCorrupt, // one bit of the ciphertext (ESP) or payload (AH) flipped
    kTruncFixed,     // datagram cut short, IP length fields fixed: the ICV cannot verify
    kTruncRaw,       // frame cut short, IP header left: the datagram claims bytes the frame lacks
    kUnknownSpi,     // SPI no SA ever had
    kWrongDst,       // SPI of an offloaded SA, sent to another destination
    kNotYetAdded,    // valid frame of an SA whose add_sa comes later
    kAfterDelete,    // valid frame of an SA whose delete_sa completed earlier (not re-added)
    kNonIpsec,       // UDP/TCP/ICMP/IKE/NAT keepalive (flags kNotIp: ARP)
    kCaptureTrunc,   // capture record shorter than the wire frame (orig_len > bytes)
    kKinds
};
const char* kind_name(uint8_t kind);

enum Flag : uint8_t {
    kRaceNic = 1,      // an OID for this SA runs while the frame may still be before the crypto stage
    kRaceVerdict = 2,  // ... or still before the transport (delete: the stack may no longer know the SA)
    kNotIp = 4,        // kNonIpsec: not IP at all (nic_reason not_ip)
    kCheckBytes = 8,   // hash = FNV-1a of the frame as it must be indicated
    kEspDecrypted = 16 // a valid ESP frame: header_info must carry nh/pad
};

// 12 bytes per frame: N = 1M frames is 12 MB, allocated and touched once before the run.
struct Truth {
    uint8_t kind = 0;
    uint8_t flags = 0;
    uint8_t nh = 0;      // ESP trailer next header (kEspDecrypted)
    uint8_t pad = 0;     // ESP pad length (kEspDecrypted)
    uint16_t inst = 0xFFFF;
    uint16_t reserved = 0;
    uint32_t hash_or_aux = 0;  // kCheckBytes: hash; kReplay: the frame replayed
};
static_assert(sizeof(Truth) == 12, "ground truth must stay compact");

struct GenConfig {
    uint32_t frames = 1000000;
    uint64_t seed = 1;
    uint32_t sas = 256;
    uint32_t crypto_margin = 0;   // frames that can sit between the wire and the crypto stage
    uint32_t verdict_margin = 0;  // frames that can sit between the wire and the transport
    double host_ns = 150;         // host time per packet: the pacing phases are built around it
    uint32_t churn_interval = 0;  // frames between SA churn points (0 = from frames)
};

struct Plan {
    std::vector<SaInst> inst;
    std::vector<ov2::AddSa> initial;     // instances with add_frame 0, in id order
    std::vector<uint32_t> initial_ids;
    std::vector<ov2::OidEvent> oids;     // sorted by before_frame
    std::vector<std::vector<uint32_t>> oid_added_ids;  // per oids[i] (AddSa): instance ids in list order
};

Plan make_plan(const GenConfig& cfg);

// Frames as the generator made them, by kind.
struct GenCounts {
    uint64_t kinds[kKinds] = {};
    uint64_t race_nic = 0, race_verdict = 0;
    uint64_t by_alg[5] = {};
    uint64_t v6 = 0, tunnel = 0, esn = 0, bytes = 0;
};

class Generator : public ov2::FrameSource {
public:
    Generator(const GenConfig& cfg, Plan& plan, std::vector<Truth>& truth);
    ~Generator() override;
    bool next(ov2::WireFrame& frame) override;
    const GenCounts& counts() const { return counts_; }
    // Called with the frame number just produced (for RSS samples at 10/50/100 %).
    std::function<void(uint32_t)> on_frame;

private:
    struct Crypto;
    struct Recent {
        uint32_t frame = 0;
        uint32_t inst = 0;
        Bytes bytes;
        uint32_t hash = 0;
    };
    void advance_plan(uint32_t n);
    uint32_t pick_active();
    SaInst& lineage_root(SaInst& s);
    uint8_t race_flags(const SaInst& s, uint32_t n) const;
    // Builds a valid frame of s (next sequence number) into out; expected = the frame as indicated after a
    // successful decryption (ESP: plaintext in place). Returns the ESP trailer's next header and pad length.
    void build_ipsec(SaInst& s, uint32_t n, Bytes& out, Bytes* expected, uint8_t& nh, uint8_t& pad);
    void build_non_ipsec(Bytes& out, bool& not_ip);
    void build_unknown(Bytes& out, bool wrong_dst);
    uint64_t timestamp(uint32_t n);

    GenConfig cfg_;
    Plan& plan_;
    std::vector<Truth>& truth_;
    Rng rng_;
    std::unique_ptr<Crypto> crypto_;
    uint32_t n_ = 0;
    size_t next_event_ = 0;
    std::vector<uint32_t> active_, active_pos_;   // instances offloaded now (swap-remove)
    std::vector<uint32_t> deleted_;               // deleted, root not offloaded again (for kAfterDelete)
    std::vector<uint32_t> pending_;               // added later (for kNotYetAdded)
    std::vector<Recent> recent_;                  // ring of recent valid frames (replays)
    size_t recent_next_ = 0;
    std::vector<uint32_t> readd_frame_;           // per instance: add_frame of its re-add (UINT32_MAX: none)
    Bytes frame_, expected_, payload_, pt_;
    uint64_t ts_ns_ = 0;
    GenCounts counts_;
};

uint32_t fnv1a(const uint8_t* p, size_t n);

}  // namespace soak
