// What a run leaves in its output directory: oob.jsonl (one line per input frame, in indication order),
// indicated.pcap (one record per indicated frame, as indicated) and, at the end, stats.json.
// Per-frame times live in a fixed ring indexed by frame number, so memory stays flat however long the run;
// a frame still waiting for its line when its slot comes round again (a slow host keeps it while the MAC
// drops thousands of later frames) moves to a small map until its line is written.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "driver_shim.h"
#include "mac_rx.h"
#include "pcap_io.h"

namespace ov2 {

struct RunCounts {
    uint64_t lines = 0, indicated = 0, dropped = 0, crypto_done = 0, next_crypto_done = 0, sa_delete_req = 0;
    std::array<uint64_t, 8> status{};
    // Transparent comparator: counting by a const char* name allocates nothing once the key exists.
    std::map<std::string, uint64_t, std::less<>> verdicts, nic_reasons, drops;
    uint64_t latency_sum_ps = 0, latency_max_ps = 0, latency_count = 0;
    uint64_t last_indication_ps = 0;
    uint64_t indicated_bytes = 0;
    // Latency (last bit on the wire -> indication) in logarithmic bins 1 % wide: percentiles without
    // keeping every sample.
    std::vector<uint64_t> latency_bins = std::vector<uint64_t>(kLatencyBins, 0);
    static constexpr size_t kLatencyBins = 2048;
    // The same for last bit on the wire -> the done byte of its completion written (the device's part).
    std::vector<uint64_t> completion_latency_bins = std::vector<uint64_t>(kLatencyBins, 0);
    uint64_t completion_latency_max_ps = 0;
    static size_t latency_bin(uint64_t ps);         // the bin of latency_bin_by_log, from a table
    static size_t latency_bin_by_log(uint64_t ps);  // the definition: floor(log(ns) / log(1.01))
    double latency_percentile_ns(double fraction) const { return percentile_ns(latency_bins, fraction); }
    double completion_latency_percentile_ns(double fraction) const {
        return percentile_ns(completion_latency_bins, fraction);
    }
    static double percentile_ns(const std::vector<uint64_t>& bins, double fraction);
};

class RunOutput {
public:
    explicit RunOutput(const std::string& dir);  // creates dir; throws InputError when it cannot
    struct CountsOnly {};
    explicit RunOutput(CountsOnly);  // no files: counters and latencies only (benchmarks, sweeps)
    ~RunOutput();
    RunOutput(const RunOutput&) = delete;
    RunOutput& operator=(const RunOutput&) = delete;

    void frame_arrived(const RxPacket& pkt);
    void completion_written(const RxPacket& pkt);
    void completion_written(uint32_t frame);  // the done byte of the frame's completion was written (now)
    void completion_written(uint32_t frame, uint64_t at_ps);  // ... at at_ps (timing modes ahead of SystemC)
    void dropped(const RxPacket& pkt, MacDrop reason);
    void indicated(const IndicationEvent& ev);  // at ev.at_ps
    void close();  // flushes both files; throws InputError on a write error
    // A progress line on stderr every two seconds of wall time (for long runs on a terminal).
    void enable_progress() { progress_ = true; progress_start_ = std::chrono::steady_clock::now(); }

    const RunCounts& counts() const { return counts_; }
    const std::string& dir() const { return dir_; }

private:
    struct FrameTimes {
        uint32_t frame = 0;
        bool waiting = false;  // its oob.jsonl line is still to be written
        uint64_t wire_start_ps = 0, wire_end_ps = 0, completion_ps = 0;
    };
    void maybe_report_progress(uint32_t frame);
    // A counter of one of RunCounts' named maps per code (a MacDrop, StackVerdict or NicReason byte),
    // found in its map by name on the code's first count (map nodes never move).
    using CounterIndex = std::array<uint64_t*, 256>;
    CounterIndex drop_index_{}, verdict_index_{}, reason_index_{};
    static constexpr size_t kTimeSlots = 1 << 16;  // a frame leaves its slot before 65 536 more arrive, mostly
    FrameTimes& slot(uint32_t frame) { return times_[frame & (kTimeSlots - 1)]; }
    FrameTimes* find_times(uint32_t frame);  // null for a frame that never arrived
    bool take_times(uint32_t frame, FrameTimes& out);  // copies and frees them: the frame's line is written
    void finish_line();

    std::string dir_;
    std::FILE* oob_ = nullptr;
    std::vector<char> oob_buffer_;
    fmt::memory_buffer line_;  // one line at a time, reused: no allocation per frame
    PcapWriter pcap_;
    std::vector<FrameTimes> times_;
    std::unordered_map<uint32_t, FrameTimes> displaced_;  // waiting frames whose slot a later frame took
    RunCounts counts_;
    bool progress_ = false;
    std::chrono::steady_clock::time_point progress_start_, progress_last_;
};

}  // namespace ov2
