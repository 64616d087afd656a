// ov2soak checks: reads oob.jsonl (one nlohmann parse per line) and indicated.pcap back as streams after
// the run, and compares every frame with the generator's ground truth; scans every output for key material.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "soak_gen.h"

namespace soak {

// Invariant labels used in reports (docs/soak.md):
//   a conservation: one oob line per input frame, frames 1..N once each, one pcap record per indicated line
//   b a CryptoDone + CRYPTO_SUCCESS frame is a frame made valid for an SA offloaded at that time
//   c an ICV/payload-corrupted or truncated frame is never CRYPTO_SUCCESS
//   d after DELETE_SA completed, frames of that SA never match (crypto_done 0, no_sa)
//   e OffloadHandles: a checked frame carries its SA's handle; no handle held by two live SAs
//   g no key material in any output
//   o every other expected outcome (status code, nic_reason, verdict, header info, drop reason, OID status)
//   x indicated bytes (decrypted in place for valid ESP, unchanged otherwise)
struct Violation {
    char invariant;
    std::string text;
};

struct CheckResult {
    uint64_t lines = 0, indicated = 0, dropped = 0, missed = 0, capture_truncated = 0;
    uint64_t success_checked = 0;      // (b) frames with CryptoDone + SUCCESS, each traced to its SA
    uint64_t corrupt_checked = 0;      // (c) corrupted/truncated frames indicated
    uint64_t after_delete_checked = 0; // (d) frames of deleted SAs indicated
    uint64_t handle_checked = 0;       // (e) frames with CryptoDone whose handle was checked
    uint64_t content_checked = 0;      // (x) indicated frames compared byte for byte (hash)
    uint64_t oids_checked = 0;
    uint64_t handles_reused = 0;       // adds that got a handle an earlier (deleted) SA had
    uint64_t race_frames = 0;          // frames whose OID for their SA ran while they were in flight
    std::map<std::string, uint64_t> race_outcomes;  // frames sent while an OID for their SA was in flight
    std::map<std::string, uint64_t> verdicts;
    uint64_t violations = 0;
    std::map<char, uint64_t> by_invariant;
    std::vector<Violation> first;  // the first ones, in full
    void add(char invariant, std::string text);
};

struct CheckInput {
    const Plan* plan = nullptr;
    const std::vector<Truth>* truth = nullptr;
    uint32_t frames = 0;
    std::vector<uint32_t> handle_of_inst;  // from the driver's results (0 = not offloaded)
    // Filled by check_oid_log: the ADD_SA (its before_frame) that next gave an instance's handle to another SA
    // after the instance was deleted, and that SA (UINT32_MAX: never).
    std::vector<uint32_t> handle_reused_at, handle_reused_by;
    std::string out_dir;
};

// Streams out_dir/oob.jsonl and out_dir/indicated.pcap.
void check_outputs(const CheckInput& in, CheckResult& r);
// The OID log against the plan: every OID succeeded, every add got a handle no live SA holds.
void check_oid_log(CheckInput& in, const std::vector<uint32_t>& oid_status, CheckResult& r);

// Every 8-byte window of every key (raw, and as 16 hex digits in either case) searched in each file.
struct KeyScanResult {
    uint64_t files = 0, bytes = 0, keys = 0, windows = 0;
};
void scan_for_keys(const Plan& plan, const std::vector<std::string>& files, KeyScanResult& ks, CheckResult& r);

}  // namespace soak
