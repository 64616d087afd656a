#include "rx2parser_bridge.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "input_error.h"
#include "rtl_dut.h"
#include "rx_packet.h"
#include "Vrx_parser.h"
#include "Vrx_parser_rx_parser.h"

namespace ov2 {

namespace {

constexpr int kParserXSeed = 23;  // random values for the RTL's uninitialised state (--x-initial unique)
constexpr size_t kWords = Vrx_parser_rx_parser::W / 4;
// finish(): edges it clocks at most to drain what is in flight (a frame of 2048 bytes needs well under 100).
constexpr uint64_t kDrainEdges = 100000;

void copy_parser_inputs(const Vrx_parser& from, Vrx_parser& to) {
    to.s_valid = from.s_valid;
    to.s_last = from.s_last;
    to.s_keep = from.s_keep;
    for (size_t w = 0; w < kWords; ++w) to.s_data[w] = from.s_data[w];
    to.r_ready = from.r_ready;
}

uint64_t keep_mask(size_t bytes) { return bytes >= 64 ? ~0ULL : (1ULL << bytes) - 1; }

// Where the SPI's first (most significant) byte is in the frame, for the planted fault (0: no IPsec header).
size_t spi_first_byte(const ParseResult& p) {
    if (p.kind == L4Kind::Esp || p.kind == L4Kind::UdpEsp) return p.ipsec_offset;
    if (p.kind == L4Kind::Ah) return size_t(p.ipsec_offset) + 4;
    return 0;
}

std::vector<uint32_t> record_words(const ParserRecord& r) { return std::vector<uint32_t>(r.begin(), r.end()); }

}  // namespace

uint32_t Rx2ParserBridge::rtl_width() { return Vrx_parser_rx_parser::W; }
uint32_t Rx2ParserBridge::rtl_latency() { return Vrx_parser_rx_parser::LATENCY; }

Rx2ParserBridge::Rx2ParserBridge(sc_core::sc_module_name name, const TimingParams& timing, bool x_check)
    : sc_module(name), clock_{double(timing.clock_ps())},
      contract_(timing.datapath_bytes, timing.parser_latency_cycles) {
    if (timing.datapath_bytes != rtl_width())
        throw InputError("--rtl", "datapath_bytes",
                         std::to_string(timing.datapath_bytes) + " is not the RTL parser's W",
                         std::to_string(rtl_width()) + " (rtl/rx_parser.sv as Verilated)");
    if (timing.parser_latency_cycles != rtl_latency())
        throw InputError("--rtl", "parser_latency_cycles",
                         std::to_string(timing.parser_latency_cycles) + " is not the RTL parser's LATENCY",
                         std::to_string(rtl_latency()) + " (rtl/rx_parser.sv as Verilated)");
    SC_HAS_PROCESS(Rx2ParserBridge);
    dut_ = std::make_unique<rtl::Dut<Vrx_parser>>(kParserXSeed, "parser_rtl");
    if (x_check) shadow_ = std::make_unique<rtl::Dut<Vrx_parser>>(kParserXSeed + 1, "parser_rtl_shadow");
    s_check_ = std::make_unique<rtl::HandshakeChecker>("s");
    r_check_ = std::make_unique<rtl::HandshakeChecker>("r");
    for (rtl::Dut<Vrx_parser>* d : {dut_.get(), shadow_.get()}) {
        if (!d) continue;
        d->model().s_valid = 0;
        d->model().r_ready = 1;  // the record goes into the frame's own RxPacket (header comment)
        d->reset();
    }
    s_words_.resize(kWords + 2);
    SC_METHOD(wake_method);
    sensitive << wake_;
    dont_initialize();
}

Rx2ParserBridge::~Rx2ParserBridge() = default;

// ---- the frame from the SystemC stage -------------------------------------------------------------------

void Rx2ParserBridge::frame_taken(RxPacket& pkt, const HeaderWalk& walk, const ParserTiming& timing) {
    catch_up();
    const uint64_t first = clock_.at_or_after(now_ps());
    Stream s{{}, first};
    if (!spare_buffers_.empty()) {
        s.bytes = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
    }
    s.bytes.assign(pkt.data.begin(), pkt.data.end());
    if (const size_t at = spi_first_byte(pkt.parse); spi_fault_ && at && at < s.bytes.size()) s.bytes[at] ^= 0x80;
    streams_.push_back(std::move(s));
    contract_.push(pkt.data.size(), walk);
    in_flight_.push_back(InFlight{&pkt, pkt.frame, pkt.parse.header_steps, parser_record_of(pkt.parse),
                                  first + timing.result});
    pkt.parse = ParseResult{};  // only the RTL's record fills it from here on
    // The stage takes no other frame before E0 + busy: until then the RTL's inputs are this frame's beats
    // alone, known now, so those edges are clocked now. Frames back to back, that clocks the edge after
    // which the previous frame's record is due: it reaches its packet without a wake-up of its own.
    while (next_edge_ < first + timing.busy && work_pending()) clock_edge();
    request_wake();
}

// ---- clocking -------------------------------------------------------------------------------------------

// Clocks every settled edge that has work; skips idle ones.
void Rx2ParserBridge::catch_up() {
    const uint64_t now = now_ps();
    while (clock_.settled(next_edge_, now)) {
        if (!work_pending()) {
            next_edge_ = std::max(next_edge_, clock_.at_or_after(now));
            return;
        }
        clock_edge();
    }
}

bool Rx2ParserBridge::work_pending() const {
    return !streams_.empty() || !in_flight_.empty() || dut_->model().r_valid;
}

void Rx2ParserBridge::clock_edge() {
    const uint64_t edge = next_edge_++;
    Vrx_parser& m = dut_->model();
    const bool offered = drive_inputs(edge);
    const bool taken = offered && m.s_ready;
    if (tracing_) trace_pins(edge);
    check_before_edge(edge, offered);
    if (shadow_) check_shadow(edge);
    contract_.edge(offered, true);
    rtl::rise(m);
    ++stats_.edges;
    if (offered && !taken) ++stats_.delayed_inputs;
    if (taken && ++beats_taken_ * rtl_width() >= std::max<size_t>(streams_.front().bytes.size(), 1)) {
        spare_buffers_.push_back(std::move(streams_.front().bytes));
        streams_.pop_front();
        beats_taken_ = 0;
    }
    if (m.r_valid) take_record(edge + 1);
    expire_overdue(edge + 1);
    if (tracing_ && !work_pending()) {  // what the idle edges that are not clocked keep
        tr_s_valid_.set_at(clock_.ps(edge + 1), 0);
        trace_outputs(edge + 1);
    }
}

// The next beat of the frame being streamed, from the frame's take edge on; nothing else.
bool Rx2ParserBridge::drive_inputs(uint64_t edge) {
    Vrx_parser& m = dut_->model();
    const bool offer = !streams_.empty() && streams_.front().first_edge + (late_first_beat_ ? 1 : 0) <= edge;
    m.s_valid = offer;
    m.r_ready = 1;
    if (offer) {
        const std::vector<uint8_t>& f = streams_.front().bytes;
        const size_t from = beats_taken_ * rtl_width();
        const size_t n = std::min<size_t>(rtl_width(), f.size() - std::min(from, f.size()));
        // Byte i of the beat at bits 8 * i of s_data: its words are little-endian, as the host's.
        uint8_t* beat = reinterpret_cast<uint8_t*>(m.s_data.data());
        std::memset(beat, 0, rtl_width());
        if (n) std::memcpy(beat, f.data() + from, n);
        m.s_keep = keep_mask(n);
        m.s_last = from + rtl_width() >= f.size();
    }
    rtl::settle_low(m);
    return offer;
}

// The outputs before the edge: the contract's s_ready and r_valid, the first beat taken on the stage's
// edge, and the valid/ready rules on s and r.
void Rx2ParserBridge::check_before_edge(uint64_t edge, bool offered) {
    const Vrx_parser& m = dut_->model();
    if (bool(m.s_ready) != contract_.s_ready(true)) mismatch(edge, "s_ready (contract)", contract_.s_ready(true), m.s_ready);
    if (bool(m.r_valid) != contract_.r_valid()) mismatch(edge, "r_valid (contract)", contract_.r_valid(), m.r_valid);
    if (offered && beats_taken_ == 0 && streams_.front().first_edge == edge && !m.s_ready)
        mismatch(edge, "s_ready (first beat on the edge the stage took the frame)", 1, 0);
    // The handshake checkers compare data only across a stall: the beat and the record are gathered then.
    rtl::Mismatch mm;
    const bool s_data = s_check_->wants_data(offered, m.s_ready);
    if (s_data) {
        for (size_t w = 0; w < kWords; ++w) s_words_[w] = m.s_data[w];
        s_words_[kWords] = m.s_last;
        s_words_[kWords + 1] = uint32_t(m.s_keep);
    }
    s_check_->check(edge, offered, m.s_ready, s_data ? s_words_.data() : nullptr, s_data ? s_words_.size() : 0, mm);
    const bool r_data = m.r_valid && r_check_->wants_data(m.r_valid, m.r_ready);
    ParserRecord record;  // read only when gathered
    if (r_data) record = parser_record_of_pins(m);
    r_check_->check(edge, m.r_valid, m.r_ready, r_data ? record.data() : nullptr, r_data ? record.size() : 0, mm);
    if (mm.found) mismatch(edge, mm.signal, mm.expected, mm.actual);
}

// No dependence on X or uninitialised state: the shadow's outputs equal the main instance's.
void Rx2ParserBridge::check_shadow(uint64_t edge) {
    const Vrx_parser& m = dut_->model();
    Vrx_parser& s = shadow_->model();
    copy_parser_inputs(m, s);
    if (shadow_fault_ && beats_taken_ == 0) s.s_data[5] ^= 1u << 24;  // byte 23: the IPv4 protocol
    rtl::settle_low(s);
    if (m.s_ready != s.s_ready) mismatch(edge, "shadow s_ready", m.s_ready, s.s_ready);
    if (m.r_valid != s.r_valid) mismatch(edge, "shadow r_valid", m.r_valid, s.r_valid);
    if (m.r_valid && parser_record_of_pins(m) != parser_record_of_pins(s))
        mismatch(edge, "shadow r_*", rtl::Mismatch::show(record_words(parser_record_of_pins(m))),
                 rtl::Mismatch::show(record_words(parser_record_of_pins(s))));
    rtl::rise(s);
}

// A record is on r_* in `cycle` (taken on that edge, r_ready being 1): the oldest frame in flight's.
void Rx2ParserBridge::take_record(uint64_t cycle) {
    const ParserRecord got = parser_record_of_pins(dut_->model());
    if (in_flight_.empty()) {
        mismatch(cycle, "r_valid (no frame in flight)", 0, 1);
        return;
    }
    InFlight f = in_flight_.front();
    in_flight_.pop_front();
    ++stats_.transfers;
    if (cycle != f.result_edge)
        mismatch(cycle, "r_valid (frame " + std::to_string(f.number) + " record in cycle " + std::to_string(cycle) +
                            ", parser_timing says " + std::to_string(f.result_edge) + ")",
                 f.result_edge, cycle);
    if (const int field = first_field_difference(f.expected, got); field >= 0)
        mismatch(cycle, std::string(kParserRecordFields[size_t(field)]) + " (frame " + std::to_string(f.number) + ")",
                 rtl::Mismatch::show(parser_record_field(f.expected, size_t(field))),
                 rtl::Mismatch::show(parser_record_field(got, size_t(field))));
    if (!f.pkt) return;
    f.pkt->parse = parse_result_of(got);
    f.pkt->parse.header_steps = f.header_steps;  // the walk's length is the timing model's, not a pin
}

// A frame whose record is due by `cycle` and not there: the CAM stage reads its parse now.
void Rx2ParserBridge::expire_overdue(uint64_t cycle) {
    for (InFlight& f : in_flight_) {
        if (f.result_edge > cycle) return;
        if (!f.pkt) continue;
        mismatch(cycle, "r_valid (frame " + std::to_string(f.number) + " record missing in the cycle parser_timing says)",
                 1, 0);
        f.pkt = nullptr;
    }
}

void Rx2ParserBridge::finish() {
    for (uint64_t n = 0; work_pending() && n < kDrainEdges; ++n) clock_edge();
    if (work_pending()) mismatch(next_edge_, "idle at the end of the run", 1, 0);
}

void Rx2ParserBridge::mismatch(uint64_t edge, const std::string& signal, const std::string& expected,
                               const std::string& actual) {
    if (stats_.mismatches++ == 0)
        stats_.first_mismatch = "parser edge " + std::to_string(edge) + ": " + signal + " expected " + expected +
                                ", RTL " + actual;
}

void Rx2ParserBridge::mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual) {
    mismatch(edge, signal, rtl::Mismatch::show(expected), rtl::Mismatch::show(actual));
}

// ---- wake-ups -------------------------------------------------------------------------------------------

// The edge after which the oldest frame's record is due (the CAM stage reads it on the next), or with a
// Tracer the next edge with work. A wake-up no longer needed is cancelled: the kernel then never steps to
// its time.
void Rx2ParserBridge::request_wake() {
    wake_.cancel();
    uint64_t edge = std::numeric_limits<uint64_t>::max();
    if (tracing_ && work_pending()) edge = next_edge_;
    for (const InFlight& f : in_flight_)
        if (f.pkt) {
            edge = std::min(edge, f.result_edge - 1);
            break;
        }
    if (edge == std::numeric_limits<uint64_t>::max()) return;
    const uint64_t at = clock_.settle_ps(edge), now = now_ps();
    if (at > now) wake_.notify(sc_core::sc_time(double(at - now), sc_core::SC_PS));
}

void Rx2ParserBridge::wake_method() {
    catch_up();
    request_wake();
}

// ---- waveforms ------------------------------------------------------------------------------------------

void Rx2ParserBridge::trace(Tracer& t) {
    tracing_ = true;
    tr_s_valid_.attach(t, "parser_rtl.s_valid", 1, TraceFormat::Bin);
    tr_s_ready_.attach(t, "parser_rtl.s_ready", 1, TraceFormat::Bin, 1);
    tr_s_last_.attach(t, "parser_rtl.s_last", 1, TraceFormat::Bin);
    tr_s_bytes_.attach(t, "parser_rtl.s_keep_bytes", 8);
    tr_r_valid_.attach(t, "parser_rtl.r_valid", 1, TraceFormat::Bin);
    tr_r_ready_.attach(t, "parser_rtl.r_ready", 1, TraceFormat::Bin, 1);
    tr_r_kind_.attach(t, "parser_rtl.r_kind", 3);
    tr_r_error_.attach(t, "parser_rtl.r_error", 5);
    tr_r_syntax_error_.attach(t, "parser_rtl.r_syntax_error", 3);
    tr_r_ip_version_.attach(t, "parser_rtl.r_ip_version", 4);
    tr_r_l3_offset_.attach(t, "parser_rtl.r_l3_offset", 16);
    tr_r_ipsec_offset_.attach(t, "parser_rtl.r_ipsec_offset", 16);
    tr_r_spi_.attach(t, "parser_rtl.r_spi", 32, TraceFormat::Hex);
    tr_r_seq_.attach(t, "parser_rtl.r_seq", 32);
    tr_r_dst_lo_.attach(t, "parser_rtl.r_dst_lo", 64, TraceFormat::Hex);
    tr_r_dst_hi_.attach(t, "parser_rtl.r_dst_hi", 64, TraceFormat::Hex);
}

// The inputs the RTL samples on `edge` and its registered outputs before it, both from the edge's time.
void Rx2ParserBridge::trace_pins(uint64_t edge) const {
    const Vrx_parser& m = dut_->model();
    const uint64_t ps = clock_.ps(edge);
    tr_s_valid_.set_at(ps, m.s_valid);
    if (m.s_valid) {
        tr_s_last_.set_at(ps, m.s_last);
        tr_s_bytes_.set_at(ps, uint64_t(__builtin_popcountll(m.s_keep)));
    }
    tr_r_ready_.set_at(ps, m.r_ready);
    trace_outputs(edge);
}

void Rx2ParserBridge::trace_outputs(uint64_t edge) const {
    const Vrx_parser& m = dut_->model();
    const uint64_t ps = clock_.ps(edge);
    tr_s_ready_.set_at(ps, m.s_ready);
    tr_r_valid_.set_at(ps, m.r_valid);
    if (!m.r_valid) return;
    tr_r_kind_.set_at(ps, m.r_kind);
    tr_r_error_.set_at(ps, m.r_error);
    tr_r_syntax_error_.set_at(ps, m.r_syntax_error);
    tr_r_ip_version_.set_at(ps, m.r_ip_version);
    tr_r_l3_offset_.set_at(ps, m.r_l3_offset);
    tr_r_ipsec_offset_.set_at(ps, m.r_ipsec_offset);
    tr_r_spi_.set_at(ps, m.r_spi);
    tr_r_seq_.set_at(ps, m.r_seq);
    tr_r_dst_lo_.set_at(ps, uint64_t(m.r_dst[1]) << 32 | m.r_dst[0]);
    tr_r_dst_hi_.set_at(ps, uint64_t(m.r_dst[3]) << 32 | m.r_dst[2]);
}

}  // namespace ov2
