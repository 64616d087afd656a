#include "cpl2wb_bridge.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "rtl_dut.h"
#include "rx_packet.h"
#include "Vdesc_wb.h"
#include "Vdesc_wb_desc_wb.h"

namespace ov2 {

namespace {

constexpr int kWbXSeed = 19;

constexpr size_t kRecordWords = Completion::kBytes / 4;

bool same_record(const Vdesc_wb& a, const Vdesc_wb& b) {
    return std::equal(a.cpl_record.data(), a.cpl_record.data() + kRecordWords, b.cpl_record.data());
}

void copy_encoder_inputs(const Vdesc_wb& from, Vdesc_wb& to) {
    to.in_valid = from.in_valid;
    to.in_frame_tag = from.in_frame_tag;
    to.in_length = from.in_length;
    to.in_ipsec_flags = from.in_ipsec_flags;
    to.in_handle = from.in_handle;
    to.in_inner_handle = from.in_inner_handle;
    to.in_crypto_status = from.in_crypto_status;
    to.in_next_header = from.in_next_header;
    to.in_pad_length = from.in_pad_length;
    to.in_unprocessed_reason = from.in_unprocessed_reason;
    to.in_seq_low = from.in_seq_low;
    to.in_timestamp_ps = from.in_timestamp_ps;
    to.in_done = from.in_done;
    to.cpl_ready = from.cpl_ready;
}

}  // namespace

uint32_t Cpl2WbBridge::rtl_latency() { return Vdesc_wb_desc_wb::LATENCY; }

Cpl2WbBridge::Cpl2WbBridge(const TimingParams& timing, bool x_check) : clock_{double(timing.clock_ps())} {
    dut_ = std::make_unique<rtl::Dut<Vdesc_wb>>(kWbXSeed, "desc_wb_rtl");
    if (x_check) shadow_ = std::make_unique<rtl::Dut<Vdesc_wb>>(kWbXSeed + 1, "desc_wb_rtl_shadow");
    in_check_ = std::make_unique<rtl::HandshakeChecker>("in");
    cpl_check_ = std::make_unique<rtl::HandshakeChecker>("cpl");
    for (rtl::Dut<Vdesc_wb>* d : {dut_.get(), shadow_.get()}) {
        if (!d) continue;
        d->model().in_valid = 0;
        d->model().cpl_ready = 1;  // write_batch takes every record as it comes
        d->reset();
    }
}

Cpl2WbBridge::~Cpl2WbBridge() = default;

// The record enters on the first free edge at or after now; its bytes are read LATENCY edges later.
std::array<uint8_t, Completion::kBytes> Cpl2WbBridge::encode(const Completion& c) {
    Vdesc_wb& m = dut_->model();
    if (m.cpl_valid && clock_.at_or_after(now_ps()) > next_edge_) clock_edge(false);  // last record's transfer
    next_edge_ = std::max(next_edge_, clock_.at_or_after(now_ps()));
    Completion in = c;
    if (record_fault_) ++in.pad_length;
    set_completion_pins(m, in);
    const uint64_t first = next_edge_;
    clock_edge(true);
    while (!m.cpl_valid && next_edge_ - first < rtl_latency()) clock_edge(false);
    const std::array<uint8_t, Completion::kBytes> want = c.encode();
    std::array<uint8_t, Completion::kBytes> got{};
    std::memcpy(got.data(), m.cpl_record.data(), got.size());
    if (!m.cpl_valid) mismatch(next_edge_, "cpl_valid", 1, 0);
    if (got != want) {
        const size_t i = size_t(std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin());
        mismatch(next_edge_, "cpl_record byte " + std::to_string(i), want[i], got[i]);
    }
    ++stats_.transfers;
    return got;
}

void Cpl2WbBridge::clock_edge(bool in_valid) {
    Vdesc_wb& m = dut_->model();
    m.in_valid = in_valid;
    rtl::settle_low(m);
    const uint64_t edge = next_edge_++;
    rtl::Mismatch mm;
    in_check_->check(edge, m.in_valid, m.in_ready, std::array<uint32_t, 2>{m.in_frame_tag, m.in_seq_low}, mm);
    cpl_check_->check(edge, m.cpl_valid, m.cpl_ready, m.cpl_record.data(), kRecordWords, mm);
    if (mm.found) mismatch(edge, mm.signal, 0, 1);
    if (in_valid && !m.in_ready) mismatch(edge, "in_ready", 1, 0);
    const uint64_t ps = clock_.ps(edge);
    tr_in_valid_.set_at(ps, m.in_valid);
    tr_in_ready_.set_at(ps, m.in_ready);
    if (in_valid) tr_in_frame_tag_.set_at(ps, m.in_frame_tag);
    tr_cpl_valid_.set_at(ps, m.cpl_valid);
    tr_cpl_ready_.set_at(ps, m.cpl_ready);
    if (m.cpl_valid) {
        tr_cpl_frame_tag_.set_at(ps, m.cpl_record[0]);
        tr_cpl_status_.set_at(ps, m.cpl_record[7] >> 24);
    }
    if (shadow_) {
        Vdesc_wb& s = shadow_->model();
        copy_encoder_inputs(m, s);
        rtl::settle_low(s);
        if (s.in_ready != m.in_ready || s.cpl_valid != m.cpl_valid ||
            (m.cpl_valid && !same_record(s, m)))
            mismatch(edge, "shadow in_ready/cpl_valid/cpl_record", 1, 0);
        rtl::rise(s);
    }
    rtl::rise(m);
    ++stats_.edges;
}

void Cpl2WbBridge::finish() {
    if (dut_->model().cpl_valid) clock_edge(false);
}

void Cpl2WbBridge::mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual) {
    if (stats_.mismatches++ == 0)
        stats_.first_mismatch = "wb edge " + std::to_string(edge) + ": " + signal + " expected " +
                                rtl::Mismatch::show(expected) + ", RTL " + rtl::Mismatch::show(actual);
}

void Cpl2WbBridge::trace(Tracer& t) {
    tr_in_valid_.attach(t, "desc_wb_rtl.in_valid", 1, TraceFormat::Bin);
    tr_in_ready_.attach(t, "desc_wb_rtl.in_ready", 1, TraceFormat::Bin, 1);
    tr_in_frame_tag_.attach(t, "desc_wb_rtl.in_frame_tag", 32);
    tr_cpl_valid_.attach(t, "desc_wb_rtl.cpl_valid", 1, TraceFormat::Bin);
    tr_cpl_ready_.attach(t, "desc_wb_rtl.cpl_ready", 1, TraceFormat::Bin, 1);
    tr_cpl_frame_tag_.attach(t, "desc_wb_rtl.cpl_frame_tag", 32);
    tr_cpl_status_.attach(t, "desc_wb_rtl.cpl_status", 8, TraceFormat::Hex);
}

}  // namespace ov2
