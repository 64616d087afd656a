#include "run_output.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "rx_packet.h"

namespace ov2 {

namespace {
[[gnu::noinline]] uint64_t& counter(std::map<std::string, uint64_t, std::less<>>& counts, const char* key) {
    auto it = counts.find(key);
    if (it == counts.end()) it = counts.emplace(key, 0).first;
    return it->second;
}

// counts[name_of(code)] += 1, without a string compare once the code has been counted.
template <typename Code, typename NameOf>
inline void bump(std::map<std::string, uint64_t, std::less<>>& counts, std::array<uint64_t*, 256>& index,
                 Code code, NameOf name_of) {
    uint64_t*& value = index[uint8_t(code)];
    if (__builtin_expect(!value, 0)) value = &counter(counts, name_of(code));
    ++*value;
}
}

RunOutput::RunOutput(const std::string& dir) : dir_(dir), oob_buffer_(1 << 20), times_(kTimeSlots) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw InputError(dir, "", "cannot create the output directory (" + ec.message() + ")", "a writable path");
    const std::string oob_path = dir + "/oob.jsonl";
    oob_ = std::fopen(oob_path.c_str(), "w");
    if (!oob_) throw InputError(oob_path, "", std::string("cannot create (") + std::strerror(errno) + ")", "a writable directory");
    std::setvbuf(oob_, oob_buffer_.data(), _IOFBF, oob_buffer_.size());
    pcap_.open(dir + "/indicated.pcap");
}

RunOutput::RunOutput(CountsOnly) : times_(kTimeSlots) {}

size_t RunCounts::latency_bin_by_log(uint64_t ps) {
    // bin i covers [1.01^i, 1.01^(i+1)) ns; 2048 bins reach past 800 ms
    const double ns = std::max(1.0, double(ps) / 1000.0);
    return std::min<size_t>(kLatencyBins - 1, size_t(std::log(ns) / std::log(1.01)));
}

namespace {

// latency_bin_by_log without a log per sample: the first latency (ps) of every bin, found once with the
// log itself, and per octave and 1/64 of an octave the bin its lowest latency falls in. Exact because the
// log's bin never decreases as the latency grows (one ps moves log(ns)/log(1.01) by far more than its
// rounding error, even at 800 ms).
class LatencyBinTable {
public:
    LatencyBinTable() {
        constexpr size_t n = RunCounts::kLatencyBins;
        first_ps_[0] = 0;
        for (size_t b = 1; b < n; ++b) {
            uint64_t ps = std::max<uint64_t>(first_ps_[b - 1] + 1, uint64_t(std::ceil(1000.0 * std::pow(1.01, double(b)))));
            while (ps > first_ps_[b - 1] + 1 && RunCounts::latency_bin_by_log(ps - 1) >= b) --ps;
            while (RunCounts::latency_bin_by_log(ps) < b) ++ps;
            first_ps_[b] = ps;
        }
        for (unsigned octave = kSubBits; octave < 64; ++octave)
            for (uint64_t sub = 0; sub < kSubs; ++sub) {
                const uint64_t lowest = (kSubs + sub) << (octave - kSubBits);
                start_[(octave - kSubBits) * kSubs + sub] = uint16_t(
                    std::upper_bound(first_ps_.begin(), first_ps_.end(), lowest) - first_ps_.begin() - 1);
            }
    }
    size_t bin(uint64_t ps) const {
        size_t b = 0;
        if (ps >= kSubs) {
            const unsigned octave = 63 - unsigned(__builtin_clzll(ps));
            b = start_[(octave - kSubBits) * kSubs + ((ps >> (octave - kSubBits)) & (kSubs - 1))];
        }
        while (b + 1 < first_ps_.size() && first_ps_[b + 1] <= ps) ++b;  // at most two bins a 1/64 octave
        return b;
    }

private:
    static constexpr unsigned kSubBits = 6;
    static constexpr uint64_t kSubs = uint64_t(1) << kSubBits;
    std::array<uint64_t, RunCounts::kLatencyBins> first_ps_{};
    std::array<uint16_t, (64 - kSubBits) * kSubs> start_{};
};

}  // namespace

namespace {
// Built on the first sample, out of line: the per-sample path is a load and the table walk.
[[gnu::noinline, gnu::cold]] const LatencyBinTable* build_latency_table() {
    static const LatencyBinTable table;
    return &table;
}
std::atomic<const LatencyBinTable*> latency_table{nullptr};
}  // namespace

size_t RunCounts::latency_bin(uint64_t ps) {
    const LatencyBinTable* table = latency_table.load(std::memory_order_acquire);
    if (__builtin_expect(!table, 0)) {
        table = build_latency_table();
        latency_table.store(table, std::memory_order_release);
    }
    return table->bin(ps);
}

double RunCounts::percentile_ns(const std::vector<uint64_t>& latency_bins, double fraction) {
    uint64_t total = 0;
    for (uint64_t n : latency_bins) total += n;
    if (!total) return 0;
    const double target = fraction * double(total);
    uint64_t seen = 0;
    for (size_t i = 0; i < latency_bins.size(); ++i) {
        seen += latency_bins[i];
        if (double(seen) >= target) return std::pow(1.01, double(i) + 0.5);
    }
    return std::pow(1.01, double(kLatencyBins));
}

RunOutput::~RunOutput() {
    if (oob_) std::fclose(oob_);
}

void RunOutput::frame_arrived(const RxPacket& pkt) {
    FrameTimes& t = slot(pkt.frame);
    if (t.waiting) displaced_.emplace(t.frame, t);
    t = FrameTimes{pkt.frame, true, pkt.wire_start_ps, pkt.wire_end_ps, 0};
    if (progress_ && pkt.frame % 8192 == 0) maybe_report_progress(pkt.frame);
}

void RunOutput::maybe_report_progress(uint32_t frame) {
    const auto now = std::chrono::steady_clock::now();
    if (now - std::max(progress_last_, progress_start_) < std::chrono::seconds(2)) return;
    progress_last_ = now;
    const double wall = std::chrono::duration<double>(now - progress_start_).count();
    std::fprintf(stderr, "ov2sim: %u frames in, %llu out, %.1f us simulated, %.0f frames/s\n", frame,
                 static_cast<unsigned long long>(counts_.lines), double(now_ps()) / 1e6, frame / wall);
}

void RunOutput::completion_written(const RxPacket& pkt) { completion_written(pkt.frame); }
void RunOutput::completion_written(uint32_t frame) { completion_written(frame, now_ps()); }
void RunOutput::completion_written(uint32_t frame, uint64_t at_ps) {
    if (FrameTimes* t = find_times(frame)) t->completion_ps = at_ps;
}

RunOutput::FrameTimes* RunOutput::find_times(uint32_t frame) {
    FrameTimes& t = slot(frame);
    if (t.waiting && t.frame == frame) return &t;
    const auto it = displaced_.find(frame);
    return it == displaced_.end() ? nullptr : &it->second;
}

bool RunOutput::take_times(uint32_t frame, FrameTimes& out) {
    FrameTimes& t = slot(frame);
    if (t.waiting && t.frame == frame) {
        t.waiting = false;
        out = t;
        return true;
    }
    const auto it = displaced_.find(frame);
    if (it == displaced_.end()) return false;
    out = it->second;
    displaced_.erase(it);
    return true;
}

void RunOutput::finish_line() {
    if (oob_) std::fwrite(line_.data(), 1, line_.size(), oob_);
    line_.clear();
    ++counts_.lines;
}

void RunOutput::dropped(const RxPacket& pkt, MacDrop reason) {
    FrameTimes freed;  // the line below takes its times from the packet
    take_times(pkt.frame, freed);
    ++counts_.dropped;
    bump(counts_.drops, drop_index_, reason, mac_drop_name);
    if (!oob_) {  // counts only
        ++counts_.lines;
        return;
    }
    fmt::format_to(std::back_inserter(line_),
        "{{\"frame\":{},\"indicated\":false,\"drop_reason\":\"{}\",\"crypto_done\":0,\"next_crypto_done\":0,"
        "\"sa_delete_req\":0,\"crypto_status\":0,\"crypto_status_name\":\"{}\",\"offload_handle\":0,"
        "\"inner_offload_handle\":0,\"nbl_info\":\"0x00000000\",\"header_info\":{{\"next_header\":0,"
        "\"pad_length\":0,\"header_info_set\":0}},\"stack_verdict\":\"not_indicated\",\"nic_reason\":\"dropped\","
        "\"length\":{},\"wire_start_ps\":{},\"wire_end_ps\":{},\"completion_ps\":null,\"indication_ps\":null}}\n",
        pkt.frame, mac_drop_name(reason), crypto_status_name(CryptoStatus::Success), pkt.data.size(),
        pkt.wire_start_ps, pkt.wire_end_ps);
    finish_line();
}

void RunOutput::indicated(const IndicationEvent& ev) {
    const Indication& ind = ev.ind;
    FrameTimes t;
    const bool found = take_times(ind.frame, t);
    const uint64_t now = ev.at_ps;
    const bool delete_req = ind.nbl_info & 1, done = ind.nbl_info & 2, next = ind.nbl_info & 4;
    const auto status = CryptoStatus(ind.nbl_info >> 16);
    const bool header_set = ind.header_info >> 16 & 1;
    const auto reason = NicReason(ev.cpl.unprocessed_reason);

    ++counts_.indicated;
    counts_.crypto_done += done;
    counts_.next_crypto_done += next;
    counts_.sa_delete_req += delete_req;
    if (done) ++counts_.status[size_t(status) & 7];
    bump(counts_.verdicts, verdict_index_, ev.verdict, stack_verdict_name);
    bump(counts_.nic_reasons, reason_index_, reason, nic_reason_name);
    if (found) {
        const uint64_t latency = now - t.wire_end_ps;
        counts_.latency_sum_ps += latency;
        counts_.latency_max_ps = std::max(counts_.latency_max_ps, latency);
        ++counts_.latency_count;
        ++counts_.latency_bins[RunCounts::latency_bin(latency)];
        if (t.completion_ps >= t.wire_end_ps && t.completion_ps) {
            const uint64_t device = t.completion_ps - t.wire_end_ps;
            counts_.completion_latency_max_ps = std::max(counts_.completion_latency_max_ps, device);
            ++counts_.completion_latency_bins[RunCounts::latency_bin(device)];
        }
    }
    counts_.last_indication_ps = now;
    counts_.indicated_bytes += ind.length;
    if (!oob_) {  // counts only
        ++counts_.lines;
        return;
    }

    fmt::format_to(std::back_inserter(line_),
        "{{\"frame\":{},\"indicated\":true,\"crypto_done\":{},\"next_crypto_done\":{},\"sa_delete_req\":{},"
        "\"crypto_status\":{},\"crypto_status_name\":\"{}\",\"offload_handle\":{},\"inner_offload_handle\":{},"
        "\"nbl_info\":\"0x{:08x}\",\"header_info\":{{\"next_header\":{},\"pad_length\":{},\"header_info_set\":{}}},"
        "\"stack_verdict\":\"{}\",\"nic_reason\":\"{}\",\"length\":{},\"truncated\":{},\"wire_start_ps\":{},"
        "\"wire_end_ps\":{},\"completion_ps\":{},\"indication_ps\":{}}}\n",
        ind.frame, int(done), int(next), int(delete_req), unsigned(status), crypto_status_name(status),
        ind.offload_handle, done && next ? ev.cpl.inner_handle : 0, ind.nbl_info, ind.header_info & 0xFF,
        ind.header_info >> 8 & 0xFF, int(header_set), stack_verdict_name(ev.verdict), nic_reason_name(reason),
        ind.length, (ev.cpl.ipsec_flags & kCplTruncated) ? "true" : "false", t.wire_start_ps, t.wire_end_ps,
        t.completion_ps, now);
    finish_line();
    pcap_.write(ind.data, ind.length, now / 1000);
}

void RunOutput::close() {
    if (oob_) {
        const bool failed = std::fflush(oob_) != 0 || std::ferror(oob_);
        std::fclose(oob_);
        oob_ = nullptr;
        if (failed) throw InputError(dir_ + "/oob.jsonl", "", std::string("write failed (") + std::strerror(errno) + ")", "space on the disk");
    }
    if (pcap_.is_open()) pcap_.close();
}

}  // namespace ov2
