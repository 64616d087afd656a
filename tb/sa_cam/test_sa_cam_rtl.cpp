// Lockstep: rtl/sa_cam.sv (Verilated) against SaCamTable, cycle by cycle, through the same register
// interface and the same lookups. Every cycle: the lookup result, register read data, the entry-changed
// pulse, lk_ready/res_valid against the latency/issue-interval contract (TimingParams::cam_latency_cycles,
// one lookup a cycle), the valid/ready rules, ready-independence of the outputs, and a second instance with
// other random initial values (no dependence on uninitialised state). Method: docs/rtl.md.
//
// Sizes: OV2_RTL_CAM_LOOKUPS (random lookups, default 120000), OV2_RTL_CAM_SA_OPS (random SA commands,
// default 6000), OV2_RTL_SEED. A longer run: OV2_RTL_CAM_LOOKUPS=2000000 OV2_RTL_CAM_SA_OPS=100000.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "driver_shim.h"
#include "rtl_harness.h"
#include "rx_parser.h"
#include "sa_cam.h"
#include "sa_file.h"
#include "timing_params.h"
#include "Vsa_cam.h"

namespace ov2 {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kBundles = 1024;  // SaCam's default capacity; the RTL's BUNDLES default

struct Key {
    uint32_t spi = 0;
    uint8_t version = 0;
    std::array<uint8_t, 16> dst{};
};

struct RegOp {
    bool write = false;
    uint32_t addr = 0, value = 0;
};

struct Result {
    bool valid = false, hit = false, wildcard = false;
    uint32_t index = 0;
};

// One edge's hold port inputs.
struct HoldPort {
    bool hold = false, rel = false;
    uint32_t hold_index = 0, rel_index = 0;
};

// The deferred-clear pulse expected after an edge (clr_*).
struct ClearPulse {
    bool valid = false;
    uint32_t bundle = 0, mask = 0;
};

void set_dst(Vsa_cam& m, const std::array<uint8_t, 16>& dst) {
    for (int w = 0; w < 4; ++w)
        m.lk_dst[w] = uint32_t(dst[4 * w]) | uint32_t(dst[4 * w + 1]) << 8 | uint32_t(dst[4 * w + 2]) << 16 |
                      uint32_t(dst[4 * w + 3]) << 24;
}

// Drives both Verilated instances and the C++ core with the same register and lookup streams.
class CamBench : public rtl::LockstepBench<CamBench, Vsa_cam> {
    friend class rtl::LockstepBench<CamBench, Vsa_cam>;

public:
    explicit CamBench(const Config& cfg)
        : LockstepBench(cfg, "cam"), table_(kBundles), latency_(TimingParams{}.cam_latency_cycles),
          pipe_(latency_) {
        table_.on_entry_changed = [this](uint32_t index, const CamEntry&, reg::SaCmdOp op) {
            if (releasing_) {  // the last release of a bundle cleared a retiring entry
                clr_next_.valid = true;
                clr_next_.bundle = index / 2;
                clr_next_.mask |= 1u << (index & 1);
                return;
            }
            upd_pending_ = true;
            upd_index_ = index;
            upd_op_ = uint32_t(op);
        };
        reset_both([](Dut& d) {
            d->reg_wr = 0;
            d->reg_rd = 0;
            d->lk_valid = 0;
            d->res_ready = 0;
            d->hold_valid = 0;
            d->rel_valid = 0;
        });
    }

    SaCamTable& table() { return table_; }
    uint64_t lookups_done() const { return lookups_done_; }
    uint64_t reg_ops_done() const { return reg_ops_done_; }
    uint64_t full_rate_cycles() const { return full_rate_cycles_; }
    uint64_t res_stalls() const { return res_check_.stalls(); }
    bool done() const {
        return regs_.empty() && keys_.empty() && pipe_.in_flight() == 0 && !rd_pending_ && held_.empty();
    }
    // Frames in flight: a lookup that hits may hold the bundle it matched, and held bundles are released
    // later in random order (sometimes a bundle nobody holds), as the CAM and crypto stages do.
    void enable_holds(uint64_t seed) {
        holds_on_ = true;
        hold_rnd_ = rtl::Traffic(seed);
    }
    // Planted bug for the self-check: the C++ table does not see the holds (the RTL does).
    void plant_lost_holds() { lost_holds_ = true; }
    uint64_t clear_pulses() const { return clear_pulses_; }
    uint64_t holds_done() const { return holds_done_; }

    void reg_write(uint32_t addr, uint32_t value) { regs_.push_back({true, addr, value}); }
    void reg_read(uint32_t addr) { regs_.push_back({false, addr, 0}); }
    void lookup(const Key& k) { keys_.push_back(k); }
    void program(uint32_t index, const CamEntry& e) {
        const auto words = pack_cam_entry(e);
        for (uint32_t i = 0; i < words.size(); ++i) reg_write(reg::kSaData0 + 4 * i, words[i]);
        reg_write(reg::kSaCmd, index | uint32_t(reg::kSaCmdWrite) << 28);
        reg_read(reg::kSaStatus);
    }

private:
    void drive(Dut& d, const RegOp* op, bool lk_valid, const Key& k, bool res_ready, const HoldPort& h) {
        d->hold_valid = h.hold;
        d->hold_index = h.hold ? h.hold_index : 0;
        d->rel_valid = h.rel;
        d->rel_index = h.rel ? h.rel_index : 0;
        d->reg_wr = op && op->write;
        d->reg_rd = op && !op->write;
        d->reg_addr = op ? op->addr : 0;
        d->reg_wdata = op ? op->value : 0;
        d->lk_valid = lk_valid;
        d->lk_spi = lk_valid ? k.spi : 0;
        d->lk_ip_version = lk_valid ? k.version : 0;
        set_dst(d.model(), lk_valid ? k.dst : std::array<uint8_t, 16>{});
        d->res_ready = res_ready;
        d.settle();
    }

    static std::vector<uint32_t> res_data(Vsa_cam& m) {
        return {uint32_t(m.res_hit), uint32_t(m.res_wildcard), uint32_t(m.res_index)};
    }

    void cycle(uint64_t now) {
        // ---- this cycle's inputs: at most one register access, the lookup key (held until taken) ----
        const RegOp* op = nullptr;
        if (!regs_.empty() && traffic_.valid()) op = &regs_.front();
        if (!key_presented_ && !keys_.empty() && traffic_.valid()) key_presented_ = true;
        const bool lk_valid = key_presented_;
        const Key key = lk_valid ? keys_.front() : Key{};
        const bool res_ready = traffic_.ready();
        // The lookup reads the table before anything else of this edge, so its answer (and the hold of
        // the bundle it matched) is known before the inputs are driven.
        const Result in = lk_valid && pipe_.advances(res_ready) ? table_lookup(key) : Result{};
        const HoldPort hp = hold_inputs(in);

        // Ready-independence: the result outputs must not move when only res_ready changes.
        Vsa_cam& m = drive_both(
            now, res_ready, [&](Dut& d, bool r) { drive(d, op, lk_valid, key, r, hp); },
            [](Vsa_cam& x) { return bool(x.res_valid); }, res_data, "res_valid (res_ready-independent)",
            "res_{hit,wildcard,index} (res_ready-independent)");

        // ---- contract: the reference pipeline of latency_ slots that holds while its output waits ----
        const Result& out = pipe_.out();
        const bool adv = pipe_.advances(res_ready);
        mm_.check(now, "lk_ready", adv, bool(m.lk_ready));
        mm_.check(now, "res_valid", out.valid, bool(m.res_valid));
        if (out.valid && m.res_valid) {
            mm_.check(now, "res_hit", out.hit, bool(m.res_hit));
            mm_.check(now, "res_wildcard", out.wildcard, bool(m.res_wildcard));
            mm_.check(now, "res_index", out.index, uint32_t(m.res_index));
        }
        if (lk_valid && res_ready && adv && out.valid) ++full_rate_cycles_;

        // ---- register read data and the entry-changed pulse, due this cycle ----
        mm_.check(now, "reg_rvalid", rd_pending_, bool(m.reg_rvalid));
        if (rd_pending_ && m.reg_rvalid) mm_.check(now, "reg_rdata", rd_expected_, uint32_t(m.reg_rdata));
        mm_.check(now, "upd_valid", upd_due_, bool(m.upd_valid));
        if (upd_due_ && m.upd_valid) {
            mm_.check(now, "upd_index", upd_due_index_, uint32_t(m.upd_index));
            mm_.check(now, "upd_op", upd_due_op_, uint32_t(m.upd_op));
        }
        mm_.check(now, "clr_valid", clr_due_.valid, bool(m.clr_valid));
        if (clr_due_.valid && m.clr_valid) {
            mm_.check(now, "clr_bundle", clr_due_.bundle, uint32_t(m.clr_bundle));
            mm_.check(now, "clr_mask", clr_due_.mask, uint32_t(m.clr_mask));
        }

        // ---- protocol rules, and the shadow instance (other X seed) agreeing on everything defined ----
        lk_check_.check(now, lk_valid, m.lk_ready, {key.spi, key.version}, mm_);
        res_check_.check(now, m.res_valid, res_ready, res_data(m), mm_);
        Vsa_cam& s = shadow_.model();
        mm_.check(now, "shadow lk_ready", bool(m.lk_ready), bool(s.lk_ready));
        mm_.check(now, "shadow res_valid", bool(m.res_valid), bool(s.res_valid));
        mm_.check(now, "shadow reg_rvalid", bool(m.reg_rvalid), bool(s.reg_rvalid));
        mm_.check(now, "shadow upd_valid", bool(m.upd_valid), bool(s.upd_valid));
        mm_.check(now, "shadow clr_valid", bool(m.clr_valid), bool(s.clr_valid));
        if (m.clr_valid)
            mm_.check(now, "shadow clr data", uint32_t(m.clr_bundle) << 2 | uint32_t(m.clr_mask),
                      uint32_t(s.clr_bundle) << 2 | uint32_t(s.clr_mask));
        if (m.res_valid) mm_.check(now, "shadow res data", res_data(m), res_data(s));
        if (m.reg_rvalid) mm_.check(now, "shadow reg_rdata", uint32_t(m.reg_rdata), uint32_t(s.reg_rdata));

        // ---- the edge: lookup (above), then hold and release, then the register access ----
        if (in.valid) {
            keys_.pop_front();
            key_presented_ = false;
            ++lookups_done_;
        }
        if (adv) pipe_.shift_in(in);
        apply_holds(hp);
        upd_due_ = false;
        rd_pending_ = false;
        if (op) {
            if (op->write) {
                upd_pending_ = false;
                table_.write_register(op->addr, op->value);
                upd_due_ = upd_pending_;
                upd_due_index_ = upd_index_;
                upd_due_op_ = upd_op_;
            } else {
                rd_pending_ = true;
                rd_expected_ = table_.read_register(op->addr);
            }
            regs_.pop_front();
            ++reg_ops_done_;
        }
    }

    Result table_lookup(const Key& key) {
        const IpAddr dst = make_dst(key);
        const std::optional<uint32_t> idx = table_.lookup(key.spi, dst);
        Result r;
        r.valid = true;
        r.hit = idx.has_value();
        r.index = idx.value_or(0);
        r.wildcard = idx && table_.entry(*idx).dst.is_zero() && !dst.is_zero();
        return r;
    }

    // This edge's hold (of the bundle the lookup matched) and release (of a held bundle, or rarely of one
    // nobody holds); at most 48 holds outstanding.
    HoldPort hold_inputs(const Result& in) {
        HoldPort h;
        if (!holds_on_) return h;
        if (in.hit && held_.size() < 48 && hold_rnd_.chance(60)) {
            h.hold = true;
            h.hold_index = in.index;
        }
        const unsigned rel_pct = held_.size() > 32 ? 50 : held_.size() > 16 ? 10 : 2;  // holds last ~50 cycles
        if (!held_.empty() && hold_rnd_.chance(rel_pct)) {
            const size_t i = size_t(hold_rnd_.below(held_.size()));
            h.rel = true;
            h.rel_index = held_[i];
            held_[i] = held_.back();
            held_.pop_back();
        } else if (hold_rnd_.chance(1)) {
            h.rel = true;
            h.rel_index = uint32_t(hold_rnd_.below(2 * kBundles));
        }
        if (h.hold) held_.push_back(h.hold_index);
        return h;
    }

    void apply_holds(const HoldPort& h) {
        clr_next_ = ClearPulse{};
        if (h.hold) {
            if (!lost_holds_) table_.hold(h.hold_index);
            ++holds_done_;
        }
        if (h.rel) {
            releasing_ = true;
            table_.release(h.rel_index);
            releasing_ = false;
        }
        clr_due_ = clr_next_;
        if (clr_due_.valid) ++clear_pulses_;
    }

    static IpAddr make_dst(const Key& k) {
        IpAddr a;
        a.version = k.version;
        a.bytes = k.dst;
        return a;
    }

    SaCamTable table_;
    uint32_t latency_;
    rtl::RefPipeline<Result> pipe_;
    std::deque<RegOp> regs_;
    std::deque<Key> keys_;
    bool key_presented_ = false;
    bool rd_pending_ = false;
    uint32_t rd_expected_ = 0;
    bool upd_pending_ = false, upd_due_ = false;
    uint32_t upd_index_ = 0, upd_op_ = 0, upd_due_index_ = 0, upd_due_op_ = 0;
    bool holds_on_ = false, releasing_ = false, lost_holds_ = false;
    rtl::Traffic hold_rnd_{0};
    std::vector<uint32_t> held_;  // entry indices of the holds outstanding
    ClearPulse clr_next_, clr_due_;
    uint64_t clear_pulses_ = 0, holds_done_ = 0;
    rtl::HandshakeChecker lk_check_{"lk"}, res_check_{"res"};
    uint64_t lookups_done_ = 0, reg_ops_done_ = 0, full_rate_cycles_ = 0;
};

// ---- scenario SAs and frames ------------------------------------------------------------------------

struct Scenario {
    std::string name;
    std::vector<AddSa> sas;
    std::vector<std::vector<uint8_t>> frames;
};

std::vector<Scenario> load_scenarios() {
    std::vector<Scenario> out;
    std::vector<fs::path> dirs;
    for (const fs::path& p : rtl::scenario_files([](const fs::path& f) { return f.filename() == "frames.pcap"; }))
        dirs.push_back(p.parent_path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
        Scenario s;
        s.name = fs::relative(dir, std::string(OV2_SOURCE_DIR)).string();
        const fs::path sa = fs::exists(dir / "sa.json") ? dir / "sa.json" : dir / "sa.xfrm";
        if (!fs::exists(sa)) continue;
        s.sas = load_sa_file(sa.string());
        for (const Frame& f : rtl::read_frames(dir / "frames.pcap")) s.frames.push_back(f.bytes);
        out.push_back(std::move(s));
    }
    return out;
}

Key key_of(const ParseResult& p) {
    Key k;
    k.spi = p.spi;
    k.version = p.dst.version;
    k.dst = p.dst.bytes;
    return k;
}

}  // namespace

// Every scenario (the published vectors, scapy, Linux captures, default): its SAs programmed as the driver
// does (make_cam_entry, entry 2(h-1)+slot), then the key of every frame that has an IP header looked up.
TEST(SaCamRtl, ScenarioSasAndFrameKeysLockstep) {
    const std::vector<Scenario> scenarios = load_scenarios();
    ASSERT_GE(scenarios.size(), 10u);
    uint64_t lookups = 0, hits = 0, entries = 0;
    for (size_t si = 0; si < scenarios.size(); ++si) {
        const Scenario& sc = scenarios[si];
        uint64_t scenario_hits = 0;
        const std::string name = "SaCamRtl_Scenario_" + std::to_string(si);
        auto bench = rtl::run_lockstep<CamBench>(name, 1000 + si, [&](CamBench& b) {
            b.reg_write(reg::kSaCtrl, 1);
            uint32_t handle = 0;
            for (const AddSa& sa : sc.sas) {
                if (!sa.not_offloadable.empty()) continue;  // the driver refuses these: no handle
                ++handle;
                for (uint32_t slot = 0; slot < sa.num_ext_hdrs; ++slot)
                    b.program(2 * (handle - 1) + slot, make_cam_entry(sa, slot, handle));
            }
            b.run();
            for (const auto& frame : sc.frames) {
                const ParseResult p = parse_frame(frame.data(), frame.size());
                if (p.dst.version != 0) b.lookup(key_of(p));
            }
            b.run();
        });
        if (HasFailure()) return;
        EXPECT_TRUE(bench->done()) << sc.name;
        lookups += bench->lookups_done();
        scenario_hits = bench->table().stats().hits;
        hits += scenario_hits;
        entries += bench->table().valid_entries();
    }
    EXPECT_GT(lookups, 500u);
    EXPECT_GT(hits, 300u);  // the scenarios' IPsec frames find their SAs: the comparison saw real hits
    RecordProperty("lookups", std::to_string(lookups));
    RecordProperty("hits", std::to_string(hits));
    std::printf("scenarios %zu, entries programmed %llu, lookups %llu (hits %llu), zero mismatches\n",
                scenarios.size(), (unsigned long long)entries, (unsigned long long)lookups,
                (unsigned long long)hits);
}

// Random SA add/delete/seq_hi/read-back sequences through the registers (including bad indices, bad
// entries and unknown ops), interleaved cycle by cycle with random lookups that collide on few SPIs and
// destinations, under random back-pressure and valid gaps.
TEST(SaCamRtl, RandomCommandsAndLookupsLockstep) {
    const uint64_t n_lookups = rtl::env_u64("OV2_RTL_CAM_LOOKUPS", 120000);
    const uint64_t n_ops = rtl::env_u64("OV2_RTL_CAM_SA_OPS", 6000);
    const uint64_t seed = rtl::seed();
    uint64_t wild_hits = 0, exact_hits = 0, misses = 0, bad_cmds = 0, writes = 0, invalidates = 0, seqhi = 0;
    auto bench = rtl::run_lockstep<CamBench>("SaCamRtl_Random", seed, [&](CamBench& b) {
        rtl::Traffic rnd(seed ^ 0xC0FFEE);
        b.enable_holds(seed ^ 0x401D);
        const uint32_t entries = 2 * kBundles;
        // Few SPIs and destinations so that entries collide: exact vs wildcard vs other version.
        std::vector<uint32_t> spis;
        for (int i = 0; i < 12; ++i) spis.push_back(uint32_t(rnd.next()));
        spis.push_back(0);
        spis.push_back(0xFFFFFFFF);
        std::vector<std::pair<uint8_t, std::array<uint8_t, 16>>> dsts;
        for (int i = 0; i < 6; ++i) {
            std::array<uint8_t, 16> a{};
            const uint8_t v = i < 3 ? 4 : 6;
            for (int j = 0; j < (v == 4 ? 4 : 16); ++j) a[j] = uint8_t(rnd.next());
            a[0] |= 1;  // never the all-zero wildcard
            dsts.push_back({v, a});
        }
        // Entry indices: a small working set (collisions, reuse) spread over the table, its last entry too.
        std::vector<uint32_t> slots;
        for (int i = 0; i < 40; ++i) slots.push_back(uint32_t(rnd.below(entries)));
        slots.push_back(entries - 1);
        slots.push_back(0);

        b.reg_write(reg::kSaCtrl, 1);
        b.reg_read(reg::kSaCapacity);
        // Writes go through the bench at once, but the stimulus must see the table as it will be when the
        // command executes: the shadow table below is advanced as commands are queued.
        SaCamTable plan(kBundles);
        uint64_t ops = 0, keys = 0;
        const uint64_t lookups_per_op = n_ops ? std::max<uint64_t>(1, n_lookups / n_ops) : n_lookups;
        while (ops < n_ops || keys < n_lookups) {
            if (ops < n_ops) {
                ++ops;
                const uint32_t index = rnd.chance(3) ? uint32_t(entries + rnd.below(4096 - entries + 1))
                                                     : slots[rnd.below(slots.size())];
                const unsigned kind = unsigned(rnd.below(100));
                uint32_t cmd = 0;
                if (kind < 45) {  // write a (usually well-formed) entry, only some staging words rewritten
                    std::array<uint32_t, reg::kSaDataWords> w{};
                    CamEntry e;
                    e.valid = !rnd.chance(8);
                    e.inbound = !rnd.chance(10);
                    e.spi = spis[rnd.below(spis.size())];
                    const bool wildcard = rnd.chance(35);
                    const auto& d = dsts[rnd.below(dsts.size())];
                    e.ip_version = rnd.chance(3) ? uint8_t(rnd.below(256)) : d.first;
                    e.dst.bytes = wildcard ? std::array<uint8_t, 16>{} : d.second;
                    e.dst.version = e.ip_version;
                    e.proto = rnd.chance(50) ? kIpProtoEsp : kIpProtoAh;
                    e.mode = rnd.chance(50) ? SaMode::Tunnel : SaMode::Transport;
                    e.esn = rnd.chance(50);
                    e.seq_hi = uint32_t(rnd.next());
                    e.udp_esp_encapsulation = uint32_t(rnd.below(16));
                    e.enc_alg = uint32_t(rnd.next());
                    e.auth_alg = uint32_t(rnd.next());
                    e.icv_len = uint8_t(rnd.next());
                    e.enc_key_len = uint8_t(rnd.chance(4) ? 33 + rnd.below(200) : rnd.below(33));
                    e.auth_key_len = uint8_t(rnd.chance(4) ? 33 + rnd.below(200) : rnd.below(33));
                    for (auto& k : e.enc_key) k = uint8_t(rnd.next());
                    for (auto& k : e.auth_key) k = uint8_t(rnd.next());
                    for (auto& k : e.salt) k = uint8_t(rnd.next());
                    e.handle = uint32_t(rnd.next());
                    e.bundle_slot = uint8_t(rnd.below(3));
                    e.bundle_has_inner = rnd.chance(20);
                    w = pack_cam_entry(e);
                    w[0] |= uint32_t(rnd.below(8)) << 5;  // bits the layout does not use
                    w[6] |= uint32_t(rnd.below(256)) << 24;
                    for (uint32_t i = 29; i < reg::kSaDataWords; ++i) w[i] = uint32_t(rnd.next());
                    // Keep SPI + version + destination unique among live exact entries (NDIS does).
                    bool duplicate = false;
                    if (e.valid && e.inbound && !wildcard)
                        for (uint32_t i = 0; i < plan.entries(); ++i) {
                            const CamEntry& o = plan.entry(i);
                            if (i != index && o.valid && o.inbound && o.spi == e.spi &&
                                o.ip_version == e.ip_version && o.dst.bytes == e.dst.bytes)
                                duplicate = true;
                        }
                    if (duplicate) w[1] ^= 0x5A5A0000u;  // another SPI instead
                    for (uint32_t i = 0; i < reg::kSaDataWords; ++i)
                        if (i < 12 || rnd.chance(30)) {
                            b.reg_write(reg::kSaData0 + 4 * i, w[i]);
                            plan.write_register(reg::kSaData0 + 4 * i, w[i]);
                        }
                    cmd = index | uint32_t(reg::kSaCmdWrite) << 28;
                } else if (kind < 70) {
                    cmd = index | uint32_t(reg::kSaCmdInvalidate) << 28;
                } else if (kind < 80) {
                    const uint32_t hi = uint32_t(rnd.next());
                    b.reg_write(reg::kSaData0, hi);
                    plan.write_register(reg::kSaData0, hi);
                    cmd = index | uint32_t(reg::kSaCmdSetSeqHi) << 28;
                } else if (kind < 92) {
                    cmd = index | uint32_t(reg::kSaCmdRead) << 28;
                } else if (kind < 96) {
                    cmd = index | uint32_t(rnd.chance(20) ? 0 : 5 + rnd.below(11)) << 28;  // unknown op
                    cmd |= uint32_t(rnd.below(1u << 16)) << 12;                          // ignored bits
                } else {  // the other registers, and unmapped offsets
                    const uint32_t addr = uint32_t(rnd.below(0x400)) * 4;
                    if (addr != reg::kSaCmd) {
                        const uint32_t v = uint32_t(rnd.next());
                        if (rnd.chance(50)) {
                            b.reg_write(addr, v);
                            plan.write_register(addr, v);
                        }
                        b.reg_read(addr);
                    }
                }
                if (cmd) {
                    b.reg_write(reg::kSaCmd, cmd);
                    plan.write_register(reg::kSaCmd, cmd);
                    b.reg_read(reg::kSaStatus);
                    if ((cmd >> 28) == reg::kSaCmdRead)  // the entry read back, keys cleared
                        for (uint32_t i = 0; i < reg::kSaDataWords; ++i)
                            if (i < 12 || rnd.chance(25)) b.reg_read(reg::kSaData0 + 4 * i);
                }
            }
            for (uint64_t i = 0; i < lookups_per_op && keys < n_lookups; ++i, ++keys) {
                Key k;
                k.spi = rnd.chance(90) ? spis[rnd.below(spis.size())] : uint32_t(rnd.next());
                const auto& d = dsts[rnd.below(dsts.size())];
                k.version = rnd.chance(2) ? uint8_t(rnd.below(8)) : d.first;
                k.dst = d.second;
                if (rnd.chance(2)) k.dst[rnd.below(16)] ^= uint8_t(1 + rnd.below(255));
                if (k.dst == std::array<uint8_t, 16>{}) k.dst[15] = 1;
                b.lookup(k);
            }
            // Run in chunks so the register and lookup streams stay interleaved in time.
            if (ops % 64 == 0) b.run();
        }
        b.run();
    });
    ASSERT_FALSE(HasFailure());
    EXPECT_TRUE(bench->done());
    const SaCamStats& st = bench->table().stats();
    wild_hits = st.wildcard_hits;
    exact_hits = st.hits - st.wildcard_hits;
    misses = st.misses;
    bad_cmds = st.bad_commands;
    writes = st.writes;
    invalidates = st.invalidates;
    seqhi = st.seq_hi_updates;
    EXPECT_EQ(bench->lookups_done(), n_lookups);
    // The stimulus reached every behaviour it is meant to compare.
    EXPECT_GT(exact_hits, n_lookups / 50);
    EXPECT_GT(wild_hits, n_lookups / 100);
    EXPECT_GT(misses, n_lookups / 50);
    EXPECT_GT(bad_cmds, n_ops / 50);
    EXPECT_GT(writes, n_ops / 5);
    EXPECT_GT(invalidates, n_ops / 10);
    EXPECT_GT(seqhi, n_ops / 50);
    // The hold port: invalidates of held entries deferred to the last release, writes to them refused.
    EXPECT_GT(st.deferred_invalidates, n_ops / 200);
    EXPECT_GT(st.busy_writes, n_ops / 500);
    EXPECT_EQ(bench->clear_pulses() > 0, st.deferred_invalidates > 0);
    EXPECT_GT(bench->holds_done(), n_lookups / 20);
    EXPECT_GT(bench->full_rate_cycles(), n_lookups / 20);  // back-to-back lookups at one a cycle
    EXPECT_GT(bench->res_stalls(), n_lookups / 20);        // results held under back-pressure
    std::printf("cycles %llu, lookups %llu (exact %llu, wildcard %llu, miss %llu), register accesses %llu, "
                "commands: write %llu invalidate %llu seq_hi %llu bad %llu; holds %llu, deferred invalidates %llu, "
                "busy writes %llu, deferred clears %llu; zero mismatches\n",
                (unsigned long long)bench->cycles(), (unsigned long long)bench->lookups_done(),
                (unsigned long long)exact_hits, (unsigned long long)wild_hits, (unsigned long long)misses,
                (unsigned long long)bench->reg_ops_done(), (unsigned long long)writes,
                (unsigned long long)invalidates, (unsigned long long)seqhi, (unsigned long long)bad_cmds,
                (unsigned long long)bench->holds_done(), (unsigned long long)st.deferred_invalidates,
                (unsigned long long)st.busy_writes, (unsigned long long)bench->clear_pulses());
}

// The checker itself: an RTL answer that differs from the C++ core is reported with its cycle, signal and
// both values, and the replay writes a VCD window around it. The C++ table is made to lose an entry
// behind the RTL's back, so the RTL's hit is a mismatch.
TEST(SaCamRtl, MismatchReportNamesCycleSignalAndWritesVcd) {
    CamEntry e;
    e.valid = true;
    e.spi = 0x1234;
    e.dst = *IpAddr::parse("192.0.2.7");
    e.ip_version = 4;
    const auto sc = rtl::self_check<CamBench>("SaCamRtl_SelfCheck", 3, [&](CamBench& b) {
        b.program(5, e);
        b.run();
        b.table().write_register(reg::kSaCmd, 5 | uint32_t(reg::kSaCmdInvalidate) << 28);
        Key k;
        k.spi = 0x1234;
        k.version = 4;
        k.dst = e.dst.bytes;
        b.lookup(k);
        b.run();
    });
    ASSERT_TRUE(sc.first.found);
    EXPECT_EQ(sc.first.signal, "res_hit");
    EXPECT_EQ(sc.first.expected, "0x0");
    EXPECT_EQ(sc.first.actual, "0x1");
    EXPECT_GT(sc.first.cycle, 49u);  // after the 49 register writes that programmed the entry
    EXPECT_NE(sc.vcd.find("$enddefinitions"), std::string::npos);
    EXPECT_NE(sc.vcd.find("res_hit"), std::string::npos);
    // The window ends kVcdHalfWindow cycles after the mismatch (two time steps a cycle).
    EXPECT_NE(sc.vcd.find(rtl::vcd_window_end(sc.first)), std::string::npos);
}

// The hold port is compared too: with the C++ table not seeing the holds, an invalidate of a held entry
// clears at once there but is deferred in the RTL, and the missing upd pulse is reported.
TEST(SaCamRtl, HoldPortMismatchIsReported) {
    CamEntry e;
    e.valid = true;
    e.spi = 0x77;
    e.dst = *IpAddr::parse("198.51.100.9");
    e.ip_version = 4;
    const auto sc = rtl::self_check<CamBench>("SaCamRtl_HoldSelfCheck", 5, [&](CamBench& b) {
        b.plant_lost_holds();
        b.enable_holds(11);
        b.program(9, e);
        b.run();
        Key k;
        k.spi = e.spi;
        k.version = 4;
        k.dst = e.dst.bytes;
        for (int i = 0; i < 20; ++i) b.lookup(k);
        b.reg_write(reg::kSaCmd, 9 | uint32_t(reg::kSaCmdInvalidate) << 28);
        b.run();
    });
    ASSERT_TRUE(sc.first.found);
    EXPECT_TRUE(sc.first.signal == "upd_valid" || sc.first.signal == "clr_valid") << sc.first.str();
}

}  // namespace ov2
