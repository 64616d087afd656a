// Lockstep: rtl/desc_wb.sv (the completion-record encoder, Verilated) against Completion::encode(), cycle by
// cycle: every record byte, cpl_valid/in_ready against the contract (one record a cycle, LATENCY 1), the
// valid/ready rules, ready-independence, and a second instance with other random initial values.
// Sizes: OV2_RTL_WB_RECORDS (random records, default 200000), OV2_RTL_SEED. Method: docs/rtl.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cpl2wb_bridge.h"
#include "ov2_types.h"
#include "rtl_harness.h"
#include "rx_parser.h"
#include "Vdesc_wb.h"

namespace ov2 {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kLatency = 1;  // the encoder's contract (docs/rtl.md)

struct Slot {
    bool valid = false;
    std::array<uint8_t, Completion::kBytes> record{};
};

std::vector<uint32_t> words_of(const std::array<uint8_t, Completion::kBytes>& b) {
    std::vector<uint32_t> w(8);
    for (size_t i = 0; i < b.size(); ++i) w[i / 4] |= uint32_t(b[i]) << (8 * (i % 4));
    return w;
}

class WbBench : public rtl::LockstepBench<WbBench, Vdesc_wb> {
    friend class rtl::LockstepBench<WbBench, Vdesc_wb>;

public:
    explicit WbBench(const Config& cfg) : LockstepBench(cfg, "wb"), pipe_(kLatency) {
        reset_both([](Dut& d) {
            d->in_valid = 0;
            d->cpl_ready = 0;
        });
    }
    void push(const Completion& c) { queue_.push_back(c); }
    bool done() const { return queue_.empty() && pipe_.in_flight() == 0; }
    uint64_t records() const { return out_check_.transfers(); }
    uint64_t stalls() const { return out_check_.stalls(); }
    uint64_t full_rate_cycles() const { return full_rate_; }
    // Test hook for the self-check: the reference encoder is replaced by one that corrupts a byte.
    std::function<void(std::array<uint8_t, Completion::kBytes>&)> corrupt_reference;

private:
    static void drive(Dut& d, bool valid, const Completion& c, bool ready) {
        d->in_valid = valid;
        set_completion_pins(d.model(), c);
        d->cpl_ready = ready;
        d.settle();
    }
    static std::vector<uint32_t> record_of(Vdesc_wb& m) { return std::vector<uint32_t>(m.cpl_record.data(), m.cpl_record.data() + 8); }

    void cycle(uint64_t now) {
        if (!presented_ && !queue_.empty() && traffic_.valid()) presented_ = true;
        const Completion c = presented_ ? queue_.front() : Completion{};
        const bool ready = traffic_.ready();

        Vdesc_wb& m = drive_both(
            now, ready, [&](Dut& d, bool r) { drive(d, presented_, c, r); },
            [](Vdesc_wb& x) { return bool(x.cpl_valid); }, record_of, "cpl_valid (cpl_ready-independent)",
            "cpl_record (cpl_ready-independent)");

        const Slot& out = pipe_.out();
        const bool adv = pipe_.advances(ready);
        mm_.check(now, "in_ready", adv, bool(m.in_ready));
        mm_.check(now, "cpl_valid", out.valid, bool(m.cpl_valid));
        if (out.valid && m.cpl_valid) {
            const std::vector<uint32_t> got = record_of(m), want = words_of(out.record);
            for (size_t i = 0; i < Completion::kBytes && !mm_.found; ++i)
                mm_.check(now, "cpl_record byte " + std::to_string(i), uint8_t(want[i / 4] >> (8 * (i % 4))),
                          uint8_t(got[i / 4] >> (8 * (i % 4))));
        }
        in_check_.check(now, presented_, m.in_ready, words_of(c.encode()), mm_);
        out_check_.check(now, m.cpl_valid, ready, record_of(m), mm_);
        Vdesc_wb& s = shadow_.model();
        mm_.check(now, "shadow in_ready", bool(m.in_ready), bool(s.in_ready));
        mm_.check(now, "shadow cpl_valid", bool(m.cpl_valid), bool(s.cpl_valid));
        if (m.cpl_valid) mm_.check(now, "shadow cpl_record", record_of(m), record_of(s));
        if (presented_ && ready && out.valid) ++full_rate_;

        Slot in;
        if (presented_ && adv) {
            in.valid = true;
            in.record = c.encode();
            if (corrupt_reference) corrupt_reference(in.record);
            queue_.pop_front();
            presented_ = false;
        }
        if (adv) pipe_.shift_in(in);
    }

    rtl::RefPipeline<Slot> pipe_;
    std::deque<Completion> queue_;
    bool presented_ = false;
    rtl::HandshakeChecker in_check_{"in"}, out_check_{"cpl"};
    uint64_t full_rate_ = 0;
};

Completion random_completion(rtl::Traffic& r) {
    // Each field either random over its whole width or one of its edge values.
    auto pick = [&r](uint64_t mask) -> uint64_t {
        switch (r.below(6)) {
        case 0: return 0;
        case 1: return mask;
        case 2: return 1;
        default: return r.next() & mask;
        }
    };
    Completion c;
    c.frame_tag = uint32_t(pick(0xFFFFFFFF));
    c.length = uint16_t(pick(0xFFFF));
    c.ipsec_flags = uint16_t(pick(0xFFFF));
    c.handle = uint32_t(pick(0xFFFFFFFF));
    c.inner_handle = uint32_t(pick(0xFFFFFFFF));
    c.crypto_status = uint8_t(pick(0xFF));
    c.next_header = uint8_t(pick(0xFF));
    c.pad_length = uint8_t(pick(0xFF));
    c.unprocessed_reason = uint8_t(pick(0xFF));
    c.seq_low = uint32_t(pick(0xFFFFFFFF));
    c.timestamp_ps = pick(~0ULL);  // beyond 2^56 too: the record keeps 7 bytes
    c.done = r.chance(50);
    return c;
}

}  // namespace

// Completions as the pipeline would build them for every scenario frame (tag, length, arrival time, the
// parser's classification and sequence number), then the same records once more with done set.
TEST(DescWbRtl, ScenarioFrameCompletionsLockstep) {
    std::vector<fs::path> pcaps = rtl::scenario_files([](const fs::path& p) { return p.filename() == "frames.pcap"; });
    pcaps.push_back(rtl::published_pcap());
    std::sort(pcaps.begin(), pcaps.end());
    std::vector<Completion> cpls;
    for (const fs::path& p : pcaps) {
        for (const Frame& f : rtl::read_frames(p)) {
            const ParseResult pr = parse_frame(f.bytes.data(), f.bytes.size());
            Completion c;
            c.frame_tag = uint32_t(cpls.size() + 1);
            c.length = uint16_t(f.bytes.size());
            c.ipsec_flags = uint16_t((pr.kind == L4Kind::Esp || pr.kind == L4Kind::UdpEsp ? kCplEsp : 0) |
                                     (pr.kind == L4Kind::Ah ? kCplAh : 0));
            c.handle = pr.spi & 0x3FF;
            c.seq_low = pr.seq;
            c.next_header = uint8_t(pr.ipsec_proto);
            c.unprocessed_reason = uint8_t(pr.kind == L4Kind::Malformed ? NicReason::Malformed
                                           : pr.kind == L4Kind::NotIp   ? NicReason::NotIp
                                                                        : NicReason::Processed);
            c.timestamp_ps = f.ts_ns * 1000;  // epoch time in ps: beyond 2^56, the record keeps 7 bytes
            cpls.push_back(c);
        }
    }
    ASSERT_GT(cpls.size(), 500u);
    auto bench = rtl::run_lockstep<WbBench>("DescWbRtl_Scenarios", 11, [&](WbBench& b) {
        for (Completion c : cpls) b.push(c);
        for (Completion c : cpls) {
            c.done = true;
            b.push(c);
        }
        b.run();
    });
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(bench->records(), 2 * cpls.size());
    std::printf("%zu scenario completions x2, %llu cycles, zero mismatches\n", cpls.size(),
                (unsigned long long)bench->cycles());
}

TEST(DescWbRtl, RandomRecordsLockstep) {
    const uint64_t n = rtl::env_u64("OV2_RTL_WB_RECORDS", 200000);
    const uint64_t seed = rtl::seed();
    auto bench = rtl::run_lockstep<WbBench>("DescWbRtl_Random", seed, [&](WbBench& b) {
        rtl::Traffic r(seed ^ 0xDE5C);
        for (uint64_t i = 0; i < n; ++i) {
            b.push(random_completion(r));
            if (i % 4096 == 4095) b.run();
        }
        b.run();
    });
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(bench->records(), n);
    EXPECT_GT(bench->full_rate_cycles(), n / 20);  // back-to-back records at one a cycle
    EXPECT_GT(bench->stalls(), n / 20);            // records held under back-pressure
    std::printf("%llu random records, %llu cycles (%llu at full rate, %llu stalled), zero mismatches\n",
                (unsigned long long)n, (unsigned long long)bench->cycles(),
                (unsigned long long)bench->full_rate_cycles(), (unsigned long long)bench->stalls());
}

// A reference that disagrees in one byte is reported with cycle, signal and both values, and the replay
// writes a VCD window.
TEST(DescWbRtl, MismatchReportNamesCycleSignalAndWritesVcd) {
    const auto sc = rtl::self_check<WbBench>("DescWbRtl_SelfCheck", 5, [](WbBench& b) {
        b.corrupt_reference = [](std::array<uint8_t, Completion::kBytes>& rec) { rec[18] ^= 0x40; };
        Completion c;
        c.pad_length = 3;
        b.push(c);
        b.run();
    });
    ASSERT_TRUE(sc.first.found);
    EXPECT_EQ(sc.first.signal, "cpl_record byte 18");
    EXPECT_EQ(sc.first.expected, "0x43");
    EXPECT_EQ(sc.first.actual, "0x3");
    EXPECT_NE(sc.vcd.find("cpl_record"), std::string::npos) << sc.window.str();
    EXPECT_NE(sc.vcd.find(rtl::vcd_window_end(sc.first)), std::string::npos);
}

}  // namespace ov2
