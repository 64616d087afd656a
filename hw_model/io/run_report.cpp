#include "run_report.h"

#include <fstream>

#include <fmt/format.h>

#include "input_error.h"

namespace ov2 {

using nlohmann::json;

namespace {

double ps_to_us(uint64_t ps) { return double(ps) / 1e6; }

json sa_table(Ov2System& sys) {
    json sas = json::array();
    const auto& list = sys.driver().initial_sas();
    const auto& results = sys.driver().initial_results();
    for (size_t i = 0; i < list.size() && i < results.size(); ++i) {
        json s = {{"name", list[i].name}, {"direction", list[i].inbound() ? "inbound" : "outbound"},
                  {"offload_handle", results[i].offload_handle}};
        if (!results[i].refused.empty()) s["refused"] = results[i].refused;
        sas.push_back(s);
    }
    return sas;
}

json oid_log(Ov2System& sys) {
    json log = json::array();
    for (const OidLogEntry& e : sys.driver().oid_log()) {
        json j = {{"before_frame", e.before_frame}, {"oid", oid_event_name(e.kind)},
                  {"status", fmt::format("0x{:08x}", e.status)}};
        if (!e.sa.empty()) j["sa"] = e.sa;
        if (e.kind == OidEvent::Kind::AddSa) {
            json added = json::array();
            for (const AddSaResult& r : e.added) {
                json a = {{"offload_handle", r.offload_handle}};
                if (!r.refused.empty()) a["refused"] = r.refused;
                added.push_back(a);
            }
            j["added"] = added;
        }
        log.push_back(j);
    }
    return log;
}

}  // namespace

namespace {

json bridge_json(const RtlBridgeStats& s) {
    return json{{"edges", s.edges}, {"transfers", s.transfers}, {"delayed_inputs", s.delayed_inputs},
                {"mismatches", s.mismatches}, {"first_mismatch", s.first_mismatch}};
}

// Only with --rtl: the bridges' counters (docs/rtl.md).
json rtl_json(Ov2System& sys) {
    json r = json::object();
    if (sys.cam_rtl()) r["cam"] = bridge_json(sys.cam_rtl()->stats());
    if (sys.parser_rtl()) r["parser"] = bridge_json(sys.parser_rtl()->stats());
    if (sys.wb_rtl()) r["wb"] = bridge_json(sys.wb_rtl()->stats());
    return r;
}

}  // namespace

std::string rtl_disagreements(Ov2System& sys) {
    uint64_t n = 0;
    std::string first;
    for (const RtlBridgeStats* s : {sys.cam_rtl() ? &sys.cam_rtl()->stats() : nullptr,
                                    sys.parser_rtl() ? &sys.parser_rtl()->stats() : nullptr,
                                    sys.wb_rtl() ? &sys.wb_rtl()->stats() : nullptr}) {
        if (!s || !s->mismatches) continue;
        if (first.empty()) first = s->first_mismatch;
        n += s->mismatches;
    }
    if (!n) return "";
    return "--rtl: " + std::to_string(n) + " disagreement" + (n == 1 ? "" : "s") +
           " between the RTL and the SystemC model; first: " + first;
}

json make_stats_json(Ov2System& sys, const RunOutput& out, const RunInfo& info) {
    const MacStats& mac = sys.mac_stats();
    const RxPathStats& rx = sys.rx_stats();
    const SaCamStats& cam = sys.cam().table().stats();
    const DescWbStats& wb = sys.wb_stats();
    const BusStats bus = sys.bus_stats();
    const DriverStats& drv = sys.driver().stats();
    const TransportStats& tp = sys.transport().stats();
    const RunCounts& c = out.counts();
    const uint64_t sim_ps = std::max<uint64_t>(c.last_indication_ps, mac.last_bit_ps);
    const uint64_t span_ps = mac.last_bit_ps > mac.first_bit_ps ? mac.last_bit_ps - mac.first_bit_ps : 0;

    json unprocessed = json::object();
    for (size_t r = 0; r < rx.unprocessed.size(); ++r)
        if (rx.unprocessed[r]) unprocessed[nic_reason_name(NicReason(r))] = rx.unprocessed[r];
    json status = json::object();
    for (size_t s = 0; s < rx.status.size(); ++s) status[crypto_status_name(CryptoStatus(s))] = rx.status[s];

    json stats{
        {"run", {{"mode", timing_mode_name(sys.config().mode)}, {"pcap", info.pcap_path}, {"sa_file", info.sa_path}, {"frames_in", sys.frames_seen()},
                 {"oob_lines", c.lines}, {"indicated", c.indicated}, {"dropped", c.dropped},
                 {"simulated_us", ps_to_us(sim_ps)}, {"wall_seconds", info.wall_seconds},
                 {"frames_per_wall_second", info.wall_seconds > 0 ? double(c.lines) / info.wall_seconds : 0.0},
                 {"latency_mean_ns", c.latency_count ? double(c.latency_sum_ps) / c.latency_count / 1000 : 0.0},
                 {"latency_max_ns", double(c.latency_max_ps) / 1000},
                 {"offered_gbps", span_ps ? double(mac.rx_bytes) * 8 * 1000 / span_ps : 0.0}}},
        {"mac", {{"rx_frames", mac.rx_frames}, {"rx_bytes", mac.rx_bytes}, {"rx_runt", mac.rx_runt},
                 {"rx_oversize", mac.rx_oversize}, {"rx_fcs_errors", mac.rx_fcs_errors},
                 {"rx_capture_truncated", mac.rx_capture_truncated}, {"rx_short_padded", mac.rx_padded},
                 {"rx_missed", mac.rx_missed}, {"rx_passed", mac.passed},
                 {"fifo_high_water_bytes", mac.fifo_high_water_bytes}}},
        {"parser", {{"frames", rx.parser_frames}, {"malformed", rx.parser_malformed}}},
        {"sa_cam", {{"lookups", cam.lookups}, {"hits", cam.hits}, {"misses", cam.misses},
                    {"wildcard_hits", cam.wildcard_hits}, {"entry_writes", cam.writes},
                    {"entry_invalidates", cam.invalidates}, {"seq_hi_updates", cam.seq_hi_updates},
                    {"bad_commands", cam.bad_commands}, {"deferred_invalidates", cam.deferred_invalidates},
                    {"busy_writes", cam.busy_writes}, {"valid_entries", sys.cam().table().valid_entries()},
                    {"capacity_entries", sys.cam().table().entries()}}},
        {"crypto", {{"crypto_done", rx.crypto_done}, {"next_crypto_done", rx.next_crypto_done},
                    {"portions", rx.portions}, {"inner_lookups", rx.inner_lookups},
                    {"inner_misses", rx.inner_misses}, {"status", status}, {"not_processed", unprocessed},
                    {"lane_busy_us", ps_to_us(sys.crypto_busy_ps())}}},
        {"desc_wb", {{"completions", wb.completions}, {"dma_bytes", wb.dma_bytes}, {"truncated", wb.truncated},
                     {"dma_errors", wb.dma_errors}, {"stalled_no_buffer_us", ps_to_us(wb.stalled_no_buffer_ps)},
                     {"stalled_cpl_full_us", ps_to_us(wb.stalled_cpl_full_ps)}, {"interrupts", wb.interrupts},
                     {"stalled_desc_fetch_us", ps_to_us(wb.stalled_desc_fetch_ps)}, {"desc_fetches", wb.desc_fetches},
                     {"batches", wb.batches}, {"batch_high_water", wb.batch_high_water}}},
        {"bus", {{"dma_writes", bus.dma_writes}, {"dma_reads", bus.dma_reads}, {"dma_bytes", bus.dma_bytes},
                 {"dma_errors", bus.dma_errors}, {"mmio_writes", bus.mmio_writes}, {"mmio_reads", bus.mmio_reads},
                 {"mmio_errors", bus.mmio_errors}, {"link_busy_us", ps_to_us(bus.link_busy_ps)}}},
        {"driver", {{"oid_add_sa", drv.oid_add_sa}, {"sa_offloaded", drv.sa_offloaded},
                    {"sa_refused", drv.sa_refused}, {"oid_delete_sa", drv.oid_delete_sa},
                    {"oid_update_sa", drv.oid_update_sa}, {"oid_failed", drv.oid_failed},
                    {"interrupts", drv.interrupts}, {"completions", drv.completions},
                    {"sa_delete_req_set", drv.sa_delete_req_set}, {"sa_busy_retries", drv.sa_busy_retries},
                    {"bundles_in_use", sys.driver().bundles_in_use()},
                    {"sas", sa_table(sys)}, {"oid_log", oid_log(sys)}}},
        {"transport", {{"indications", tp.indications}, {"accepted", tp.accepted}, {"replay", tp.replay},
                       {"auth_failed", tp.auth_failed}, {"invalid_protocol", tp.invalid_protocol},
                       {"bad_syntax", tp.bad_syntax}, {"generic_error", tp.generic_error},
                       {"dummy_dropped", tp.dummy_dropped}, {"software_ipsec", tp.software_ipsec},
                       {"not_ipsec", tp.not_ipsec}, {"unknown_sa", tp.unknown_sa}, {"truncated", tp.truncated},
                       {"sa_delete_requests", tp.sa_delete_requests}, {"delete_sa_issued", tp.delete_sa_issued},
                       {"delete_without_pair", tp.delete_without_pair}}},
    };
    if (sys.config().rtl.any()) stats["rtl"] = rtl_json(sys);
    return stats;
}

void write_stats_json(const std::string& path, const json& stats) {
    std::ofstream f(path);
    f << stats.dump(2) << '\n';
    if (!f) throw InputError(path, "", "write failed", "a writable output directory");
}

std::string format_summary(Ov2System& sys, const RunOutput& out, const RunInfo& info) {
    const RunCounts& c = out.counts();
    const DriverStats& drv = sys.driver().stats();
    std::string s;
    s += fmt::format("ov2sim: {} frames from {}; {} SAs offloaded, {} refused\n", sys.frames_seen(),
                     info.pcap_path, drv.sa_offloaded, drv.sa_refused);
    s += fmt::format("  {:<34}{:>10}\n", "indicated", c.indicated);
    s += fmt::format("  {:<34}{:>10}\n", "dropped before indication", c.dropped);
    for (const auto& [reason, n] : c.drops) s += fmt::format("    {:<32}{:>10}\n", reason, n);
    s += fmt::format("  {:<34}{:>10}\n", "CryptoDone", c.crypto_done);
    s += fmt::format("  {:<34}{:>10}\n", "NextCryptoDone", c.next_crypto_done);
    s += fmt::format("  {:<34}{:>10}\n", "SaDeleteReq", c.sa_delete_req);
    for (size_t st = 0; st < c.status.size(); ++st)
        if (c.status[st]) s += fmt::format("    {:<32}{:>10}\n", crypto_status_name(CryptoStatus(st)), c.status[st]);
    s += "  not processed by the NIC\n";
    for (const auto& [reason, n] : c.nic_reasons)
        if (reason != "processed") s += fmt::format("    {:<32}{:>10}\n", reason, n);
    s += "  stack verdicts\n";
    for (const auto& [verdict, n] : c.verdicts) s += fmt::format("    {:<32}{:>10}\n", verdict, n);
    const double sim_us = double(std::max<uint64_t>(c.last_indication_ps, sys.mac_stats().last_bit_ps)) / 1e6;
    s += fmt::format("  simulated {:.3f} us, latency wire->indication mean {:.0f} ns max {:.0f} ns\n", sim_us,
                     c.latency_count ? double(c.latency_sum_ps) / c.latency_count / 1000 : 0.0,
                     double(c.latency_max_ps) / 1000);
    s += fmt::format("  wall {:.3f} s; outputs in {}/ (oob.jsonl, indicated.pcap, stats.json)\n", info.wall_seconds,
                     out.dir());
    return s;
}

}  // namespace ov2
