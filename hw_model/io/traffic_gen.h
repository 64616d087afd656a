// Synthetic ESP traffic for benchmarks and sweeps: a pool of valid frames built once with Botan (AES-GCM
// or AES-CBC + HMAC-SHA1, transport mode, IPv4), replayed in a cycle at a chosen offered load, with the SAs
// that decrypt them. The SAs have no replay window, so any number of frames stays valid traffic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mac_rx.h"
#include "ov2_types.h"

namespace ov2 {

struct TrafficSpec {
    std::string algorithm = "aes-gcm-128";  // aes-gcm-128, aes-gcm-256, aes-cbc-128-sha1
    uint32_t payload_bytes = 1500;          // ESP payload (plaintext) per frame
    uint32_t frames = 100000;               // frames the source delivers
    uint32_t sas = 1;                       // SAs the frames are spread over (round robin)
    uint32_t distinct_frames = 256;         // size of the pre-built pool
    double offered_gbps = 0;                // 0 = back to back at line rate; else paced by timestamps
    double line_rate_gbps = 100;            // for the wire time of each frame when paced
};

class TrafficGenerator : public FrameSource {
public:
    explicit TrafficGenerator(const TrafficSpec& spec);  // throws std::invalid_argument on a bad spec
    bool next(WireFrame& frame) override;

    const std::vector<AddSa>& sas() const { return sas_; }
    const std::vector<std::vector<uint8_t>>& pool() const { return pool_; }
    uint32_t frame_bytes() const { return uint32_t(pool_.front().size()); }
    // For a Botan-alone baseline: the frames' ESP layout (offsets into each pool frame).
    static constexpr size_t kEspOffset = 14 + 20;

private:
    std::vector<uint8_t> build_frame(uint32_t sa_index, uint32_t seq) const;

    TrafficSpec spec_;
    std::vector<AddSa> sas_;
    std::vector<std::vector<uint8_t>> pool_;
    uint32_t delivered_ = 0;
    double gap_ns_ = 0;
};

}  // namespace ov2
