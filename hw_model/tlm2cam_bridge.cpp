#include "tlm2cam_bridge.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "input_error.h"
#include "rtl_dut.h"
#include "rx_packet.h"
#include "Vsa_cam.h"
#include "Vsa_cam_sa_cam.h"

namespace ov2 {

namespace {

constexpr int kCamXSeed = 17;  // random values for the RTL's uninitialised state (--x-initial unique)

void copy_cam_inputs(const Vsa_cam& from, Vsa_cam& to) {
    to.reg_wr = from.reg_wr;
    to.reg_rd = from.reg_rd;
    to.reg_addr = from.reg_addr;
    to.reg_wdata = from.reg_wdata;
    to.lk_valid = from.lk_valid;
    to.lk_spi = from.lk_spi;
    to.lk_ip_version = from.lk_ip_version;
    for (int w = 0; w < 4; ++w) to.lk_dst[w] = from.lk_dst[w];
    to.res_ready = from.res_ready;
    to.hold_valid = from.hold_valid;
    to.hold_index = from.hold_index;
    to.rel_valid = from.rel_valid;
    to.rel_index = from.rel_index;
}

}  // namespace

uint32_t Tlm2CamBridge::rtl_latency() { return Vsa_cam_sa_cam::LATENCY; }
uint32_t Tlm2CamBridge::rtl_bundles() { return Vsa_cam_sa_cam::BUNDLES; }

Tlm2CamBridge::Tlm2CamBridge(sc_core::sc_module_name name, const TimingParams& timing, SaCamTable& table,
                             uint32_t bundles, bool x_check)
    : sc_module(name), regs("regs"), to_cam("to_cam"), latency_(timing.cam_latency_cycles), table_(table),
      clock_{double(timing.clock_ps())} {
    if (latency_ != rtl_latency())
        throw InputError("--rtl", "cam_latency_cycles",
                         std::to_string(latency_) + " is not the RTL CAM's LATENCY",
                         std::to_string(rtl_latency()) + " (rtl/sa_cam.sv as Verilated)");
    if (bundles != rtl_bundles())
        throw InputError("--rtl", "sa_cam_bundles", std::to_string(bundles) + " is not the RTL CAM's BUNDLES",
                         std::to_string(rtl_bundles()) + " (rtl/sa_cam.sv as Verilated)");
    SC_HAS_PROCESS(Tlm2CamBridge);
    dut_ = std::make_unique<rtl::Dut<Vsa_cam>>(kCamXSeed, "cam_rtl");
    if (x_check) shadow_ = std::make_unique<rtl::Dut<Vsa_cam>>(kCamXSeed + 1, "cam_rtl_shadow");
    lk_check_ = std::make_unique<rtl::HandshakeChecker>("lk");
    res_check_ = std::make_unique<rtl::HandshakeChecker>("res");
    for (rtl::Dut<Vsa_cam>* d : {dut_.get(), shadow_.get()}) {
        if (!d) continue;
        Vsa_cam& m = d->model();
        m.reg_wr = m.reg_rd = m.lk_valid = m.hold_valid = m.rel_valid = 0;
        m.res_ready = 1;  // the SystemC stage takes every result
        d->reset();
    }
    regs.register_b_transport(this, &Tlm2CamBridge::b_transport);
    table_.set_observer(this);
    SC_METHOD(wake_method);
    sensitive << wake_;
    dont_initialize();
}

Tlm2CamBridge::~Tlm2CamBridge() { table_.set_observer(nullptr); }

// ---- inputs from the SystemC side ------------------------------------------------------------------------

// The access goes to SaCam first (a write lands in the table at once; a read gives the model's answer),
// then word by word to the RTL's register port; a read returns the RTL's data.
void Tlm2CamBridge::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    catch_up();
    to_cam->b_transport(trans, delay);
    if (trans.get_response_status() != tlm::TLM_OK_RESPONSE) return;
    uint8_t* data = trans.get_data_ptr();
    for (unsigned i = 0; i < trans.get_data_length(); i += 4) {
        const uint32_t offset = uint32_t(trans.get_address() + i);
        uint32_t v = 0;
        std::memcpy(&v, data + i, 4);
        if (trans.is_write()) {
            reg_q_.push_back(RegOp{true, offset, v, 0});
            request_wake();
        } else {
            v = read_rtl(offset, v);
            std::memcpy(data + i, &v, 4);
        }
    }
}

// The read enters the RTL's register port on the next free edge; its data comes after that edge.
uint32_t Tlm2CamBridge::read_rtl(uint32_t offset, uint32_t expected) {
    catch_up();
    reg_q_.push_back(RegOp{false, offset, 0, expected});
    read_answer_.reset();
    while (!read_answer_) {
        sc_core::wait(sc_core::sc_time(double(clock_.settle_ps(next_edge_) - now_ps()), sc_core::SC_PS));
        catch_up();
    }
    return *read_answer_;
}

void Tlm2CamBridge::looked_up(uint32_t spi, const IpAddr& dst, std::optional<uint32_t> result, CamPort port) {
    catch_up();
    Lookup k;
    k.spi = key_fault_ ? spi ^ 1 : spi;
    k.version = dst.version;
    for (int w = 0; w < 4; ++w)
        k.dst[w] = uint32_t(dst.bytes[4 * w]) | uint32_t(dst.bytes[4 * w + 1]) << 8 |
                   uint32_t(dst.bytes[4 * w + 2]) << 16 | uint32_t(dst.bytes[4 * w + 3]) << 24;
    k.hit = result.has_value();
    k.index = result.value_or(0);
    k.wildcard = result && table_.entry(*result).dst.is_zero() && !dst.is_zero();
    k.inner = port == CamPort::Inner;
    // The CAM stage's key goes before inner keys still waiting: its answer is due LATENCY cycles after the
    // stage's edge, while an inner answer is only compared.
    auto pos = key_q_.end();
    if (!k.inner)
        pos = std::find_if(key_q_.begin(), key_q_.end(), [](const Lookup& q) { return q.inner; });
    key_q_.insert(pos, k);
    request_wake();
}

std::optional<uint32_t> Tlm2CamBridge::take_answer(std::optional<uint32_t> table_answer) {
    catch_up();
    if (stage_answers_.empty()) {
        mismatch(next_edge_, "res_valid (answer not there on its result edge)", 1, 0);
        return table_answer;
    }
    const std::optional<uint32_t> answer = stage_answers_.front();
    stage_answers_.pop_front();
    if (answer && *answer >= table_.entries()) {
        mismatch(next_edge_, "res_index (beyond the table: taken as a miss)", table_.entries() - 1, *answer);
        return std::nullopt;
    }
    return answer;
}

void Tlm2CamBridge::held(uint32_t index) {
    catch_up();
    hold_q_.push_back(index);
    request_wake();
}

void Tlm2CamBridge::released(uint32_t index) {
    catch_up();
    rel_q_.push_back(index);
    if (clr_mask_) clr_expected_.push_back(Pulse{index / 2, clr_mask_});
    clr_mask_ = 0;
    request_wake();
}

void Tlm2CamBridge::entry_changed(uint32_t index, reg::SaCmdOp op, bool deferred) {
    if (deferred) clr_mask_ |= 1u << (index & 1);
    else upd_expected_.push_back(Pulse{index, uint32_t(op)});
}

// ---- clocking -------------------------------------------------------------------------------------------

// Clocks every settled edge that has work; skips idle ones.
void Tlm2CamBridge::catch_up() {
    const uint64_t now = now_ps();
    while (clock_.settled(next_edge_, now)) {
        if (!work_pending()) {
            next_edge_ = clock_.at_or_after(now);
            return;
        }
        clock_edge();
    }
}

bool Tlm2CamBridge::work_pending() const {
    const Vsa_cam& m = dut_->model();
    return !reg_q_.empty() || !key_q_.empty() || !hold_q_.empty() || !rel_q_.empty() || !in_flight_.empty() ||
           m.res_valid || m.reg_rvalid || m.upd_valid || m.clr_valid;
}

void Tlm2CamBridge::clock_edge() {
    const uint64_t edge = next_edge_++;
    drive_inputs(edge);
    if (tracing_) trace_pins(edge);
    if (shadow_) {
        Vsa_cam& s = shadow_->model();
        const Vsa_cam& m = dut_->model();
        copy_cam_inputs(m, s);
        if (shadow_fault_) s.lk_spi ^= 1;
        rtl::settle_low(s);
        rtl::rise(s);
    }
    rtl::rise(dut_->model());
    ++stats_.edges;
    check_outputs(edge);
    if (shadow_) check_shadow(edge);
}

// No dependence on X or uninitialised state: the shadow's outputs equal the main instance's.
void Tlm2CamBridge::check_shadow(uint64_t edge) {
    const Vsa_cam& m = dut_->model();
    const Vsa_cam& s = shadow_->model();
    const auto same = [&](const char* name, uint64_t a, uint64_t b) {
        if (a != b) mismatch(edge, std::string("shadow ") + name, a, b);
    };
    same("lk_ready", m.lk_ready, s.lk_ready);
    same("res_valid", m.res_valid, s.res_valid);
    same("reg_rvalid", m.reg_rvalid, s.reg_rvalid);
    same("upd_valid", m.upd_valid, s.upd_valid);
    same("clr_valid", m.clr_valid, s.clr_valid);
    if (m.res_valid) same("res data", m.res_hit << 13 | m.res_wildcard << 12 | m.res_index,
                          s.res_hit << 13 | s.res_wildcard << 12 | s.res_index);
    if (m.reg_rvalid) same("reg_rdata", m.reg_rdata, s.reg_rdata);
    if (m.upd_valid) same("upd data", m.upd_index << 4 | m.upd_op, s.upd_index << 4 | s.upd_op);
    if (m.clr_valid) same("clr data", m.clr_bundle << 2 | m.clr_mask, s.clr_bundle << 2 | s.clr_mask);
}

// One register access, one key, one hold and one release an edge; more wait for the next edge.
void Tlm2CamBridge::drive_inputs(uint64_t edge) {
    Vsa_cam& m = dut_->model();
    read_driven_.reset();
    m.reg_wr = m.reg_rd = 0;
    if (!reg_q_.empty()) {
        const RegOp& op = reg_q_.front();
        m.reg_wr = op.write;
        m.reg_rd = !op.write;
        m.reg_addr = op.addr;
        m.reg_wdata = op.value;
        if (!op.write) read_driven_ = op;
        reg_q_.pop_front();
    }
    static const Lookup kNoKey{};
    const bool key = !key_q_.empty();
    const Lookup& k = key ? key_q_.front() : kNoKey;
    m.lk_valid = key;
    m.lk_spi = k.spi;
    m.lk_ip_version = k.version;
    for (int w = 0; w < 4; ++w) m.lk_dst[w] = k.dst[w];
    const bool hold = !hold_q_.empty(), rel = !rel_q_.empty();
    m.hold_valid = hold;
    m.hold_index = hold ? hold_q_.front() : 0;
    m.rel_valid = rel;
    m.rel_index = rel ? rel_q_.front() : 0;
    if (hold) hold_q_.pop_front();
    if (rel) rel_q_.pop_front();
    rtl::settle_low(m);
    rtl::Mismatch mm;
    lk_check_->check(edge, m.lk_valid, m.lk_ready, std::array<uint32_t, 2>{k.spi, uint32_t(k.version)}, mm);
    if (mm.found) mismatch(edge, mm.signal, 0, 1);
    if (m.lk_valid && m.lk_ready) {
        in_flight_.push_back(k);
        in_flight_.back().accepted = edge;
        key_q_.pop_front();
        ++stats_.transfers;
    }
    stats_.delayed_inputs += !key_q_.empty() || !hold_q_.empty() || !rel_q_.empty();
}

// The outputs after `edge`: register read data, the entry-changed and deferred-clear pulses, and the
// lookup result due LATENCY cycles after its key was taken.
void Tlm2CamBridge::check_outputs(uint64_t edge) {
    const Vsa_cam& m = dut_->model();
    if (bool(m.reg_rvalid) != read_driven_.has_value()) mismatch(edge, "reg_rvalid", read_driven_.has_value(), m.reg_rvalid);
    if (read_driven_ && m.reg_rvalid) {
        if (m.reg_rdata != read_driven_->expected) mismatch(edge, "reg_rdata", read_driven_->expected, m.reg_rdata);
        read_answer_ = m.reg_rdata;
    }
    if (m.upd_valid) {
        const Pulse want = upd_expected_.empty() ? Pulse{~0u, ~0u} : upd_expected_.front();
        if (want.index != m.upd_index) mismatch(edge, "upd_index", want.index, m.upd_index);
        else if (want.op != m.upd_op) mismatch(edge, "upd_op", want.op, m.upd_op);
        if (!upd_expected_.empty()) upd_expected_.pop_front();
    }
    if (m.clr_valid) {
        const Pulse want = clr_expected_.empty() ? Pulse{~0u, ~0u} : clr_expected_.front();
        if (want.index != m.clr_bundle) mismatch(edge, "clr_bundle", want.index, m.clr_bundle);
        else if (want.op != m.clr_mask) mismatch(edge, "clr_mask", want.op, m.clr_mask);
        if (!clr_expected_.empty()) clr_expected_.pop_front();
    }
    const bool due = !in_flight_.empty() && in_flight_.front().accepted + latency_ - 1 == edge;
    if (bool(m.res_valid) != due) mismatch(edge, "res_valid", due, m.res_valid);
    rtl::Mismatch mm;
    res_check_->check(edge, m.res_valid, m.res_ready,
                      std::array<uint32_t, 3>{m.res_hit, m.res_wildcard, m.res_index}, mm);
    if (mm.found) mismatch(edge, mm.signal, 0, 1);
    if (!due || !m.res_valid) return;
    const Lookup& want = in_flight_.front();
    if (!want.inner) keep_stage_answer(m.res_hit ? std::optional<uint32_t>(m.res_index) : std::nullopt);
    if (want.hit != bool(m.res_hit)) mismatch(edge, "res_hit", want.hit, m.res_hit);
    else if (want.index != m.res_index) mismatch(edge, "res_index", want.index, m.res_index);
    else if (want.wildcard != bool(m.res_wildcard)) mismatch(edge, "res_wildcard", want.wildcard, m.res_wildcard);
    in_flight_.pop_front();
}

// The stage's answer, for the crypto stage to take on its result edge (take_answer).
void Tlm2CamBridge::keep_stage_answer(std::optional<uint32_t> answer) {
    if (answer_fault_ == AnswerFault::Lost) return;
    if (answer_fault_ == AnswerFault::BeyondTable && answer) *answer += table_.entries();
    stage_answers_.push_back(answer);
}

void Tlm2CamBridge::finish() {
    // Everything queued and in flight drains in this many edges unless the RTL misbehaves.
    uint64_t edges = reg_q_.size() + key_q_.size() + hold_q_.size() + rel_q_.size() + in_flight_.size() + latency_ + 4;
    while (work_pending() && edges-- > 0) clock_edge();
    if (work_pending()) mismatch(next_edge_, "idle at the end of the run", 1, 0);
    if (!upd_expected_.empty()) mismatch(next_edge_, "upd_valid (pulses missing at the end)", upd_expected_.size(), 0);
    if (!clr_expected_.empty()) mismatch(next_edge_, "clr_valid (pulses missing at the end)", clr_expected_.size(), 0);
    if (!stage_answers_.empty()) mismatch(next_edge_, "res (answers no frame took)", 0, stage_answers_.size());
}

void Tlm2CamBridge::mismatch(uint64_t edge, const std::string& signal, uint64_t expected, uint64_t actual) {
    if (stats_.mismatches++ == 0)
        stats_.first_mismatch = "cam edge " + std::to_string(edge) + ": " + signal + " expected " +
                                rtl::Mismatch::show(expected) + ", RTL " + rtl::Mismatch::show(actual);
}

// ---- waveforms ------------------------------------------------------------------------------------------

void Tlm2CamBridge::request_wake() {
    if (tracing_ && work_pending())
        wake_.notify(sc_core::sc_time(double(clock_.settle_ps(next_edge_) - now_ps()), sc_core::SC_PS));
}

void Tlm2CamBridge::wake_method() {
    catch_up();
    request_wake();
}

void Tlm2CamBridge::trace(Tracer& t) {
    tracing_ = true;
    tr_reg_wr_.attach(t, "cam_rtl.reg_wr", 1, TraceFormat::Bin);
    tr_reg_rd_.attach(t, "cam_rtl.reg_rd", 1, TraceFormat::Bin);
    tr_reg_addr_.attach(t, "cam_rtl.reg_addr", 12, TraceFormat::Hex);
    tr_reg_wdata_.attach(t, "cam_rtl.reg_wdata", 32, TraceFormat::Hex);
    tr_reg_rvalid_.attach(t, "cam_rtl.reg_rvalid", 1, TraceFormat::Bin);
    tr_reg_rdata_.attach(t, "cam_rtl.reg_rdata", 32, TraceFormat::Hex);
    tr_lk_valid_.attach(t, "cam_rtl.lk_valid", 1, TraceFormat::Bin);
    tr_lk_ready_.attach(t, "cam_rtl.lk_ready", 1, TraceFormat::Bin, 1);
    tr_lk_spi_.attach(t, "cam_rtl.lk_spi", 32, TraceFormat::Hex);
    tr_lk_version_.attach(t, "cam_rtl.lk_ip_version", 8);
    tr_lk_dst_lo_.attach(t, "cam_rtl.lk_dst_lo", 64, TraceFormat::Hex);
    tr_lk_dst_hi_.attach(t, "cam_rtl.lk_dst_hi", 64, TraceFormat::Hex);
    tr_res_valid_.attach(t, "cam_rtl.res_valid", 1, TraceFormat::Bin);
    tr_res_hit_.attach(t, "cam_rtl.res_hit", 1, TraceFormat::Bin);
    tr_res_wildcard_.attach(t, "cam_rtl.res_wildcard", 1, TraceFormat::Bin);
    tr_res_index_.attach(t, "cam_rtl.res_index", 12);
    tr_upd_valid_.attach(t, "cam_rtl.upd_valid", 1, TraceFormat::Bin);
    tr_upd_index_.attach(t, "cam_rtl.upd_index", 12);
    tr_upd_op_.attach(t, "cam_rtl.upd_op", 4);
    tr_hold_valid_.attach(t, "cam_rtl.hold_valid", 1, TraceFormat::Bin);
    tr_hold_index_.attach(t, "cam_rtl.hold_index", 12);
    tr_rel_valid_.attach(t, "cam_rtl.rel_valid", 1, TraceFormat::Bin);
    tr_rel_index_.attach(t, "cam_rtl.rel_index", 12);
    tr_clr_valid_.attach(t, "cam_rtl.clr_valid", 1, TraceFormat::Bin);
    tr_clr_bundle_.attach(t, "cam_rtl.clr_bundle", 11);
    tr_clr_mask_.attach(t, "cam_rtl.clr_mask", 2, TraceFormat::Bin);
}

// The inputs the RTL samples on `edge` and its registered outputs before it, both from the edge's time.
void Tlm2CamBridge::trace_pins(uint64_t edge) const {
    const Vsa_cam& m = dut_->model();
    const uint64_t ps = clock_.ps(edge);
    tr_reg_wr_.set_at(ps, m.reg_wr);
    tr_reg_rd_.set_at(ps, m.reg_rd);
    if (m.reg_wr || m.reg_rd) tr_reg_addr_.set_at(ps, m.reg_addr);
    if (m.reg_wr) tr_reg_wdata_.set_at(ps, m.reg_wdata);
    tr_reg_rvalid_.set_at(ps, m.reg_rvalid);
    if (m.reg_rvalid) tr_reg_rdata_.set_at(ps, m.reg_rdata);
    tr_lk_valid_.set_at(ps, m.lk_valid);
    tr_lk_ready_.set_at(ps, m.lk_ready);
    if (m.lk_valid) {
        tr_lk_spi_.set_at(ps, m.lk_spi);
        tr_lk_version_.set_at(ps, m.lk_ip_version);
        tr_lk_dst_lo_.set_at(ps, uint64_t(m.lk_dst[1]) << 32 | m.lk_dst[0]);
        tr_lk_dst_hi_.set_at(ps, uint64_t(m.lk_dst[3]) << 32 | m.lk_dst[2]);
    }
    tr_res_valid_.set_at(ps, m.res_valid);
    if (m.res_valid) {
        tr_res_hit_.set_at(ps, m.res_hit);
        tr_res_wildcard_.set_at(ps, m.res_wildcard);
        tr_res_index_.set_at(ps, m.res_index);
    }
    tr_upd_valid_.set_at(ps, m.upd_valid);
    if (m.upd_valid) {
        tr_upd_index_.set_at(ps, m.upd_index);
        tr_upd_op_.set_at(ps, m.upd_op);
    }
    tr_hold_valid_.set_at(ps, m.hold_valid);
    if (m.hold_valid) tr_hold_index_.set_at(ps, m.hold_index);
    tr_rel_valid_.set_at(ps, m.rel_valid);
    if (m.rel_valid) tr_rel_index_.set_at(ps, m.rel_index);
    tr_clr_valid_.set_at(ps, m.clr_valid);
    if (m.clr_valid) {
        tr_clr_bundle_.set_at(ps, m.clr_bundle);
        tr_clr_mask_.set_at(ps, m.clr_mask);
    }
}

}  // namespace ov2
