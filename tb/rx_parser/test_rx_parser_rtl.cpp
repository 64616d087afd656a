// Lockstep: rtl/rx_parser.sv (Verilated) against parse_frame(), frame by frame and cycle by cycle. Each
// frame is streamed at the datapath width with random valid gaps and garbage in the bytes s_keep leaves
// out; every result record is compared field by field with parse_frame's ParseResult, and every cycle the
// valid/ready rules, ready-independence of the result, the cycle contract (s_ready and r_valid equal to
// ParserContract's, the reference the SystemC stage's timing comes from) and a second instance with other
// random initial values are checked. Method: docs/rtl.md.
//
// Sizes: OV2_RTL_PARSER_FRAMES (random frames: mutations of the vector frames and random headers,
// default 120000), OV2_RTL_SEED. A longer run: OV2_RTL_PARSER_FRAMES=2000000.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "parser_contract.h"
#include "parser_record.h"
#include "rtl_harness.h"
#include "rx_parser.h"
#include "Vrx_parser.h"

namespace ov2 {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr size_t kBeat = 64;  // the RTL's W default, TimingParams::datapath_bytes

// The record mapping is shared with the --rtl parser bridge (hw_model/parser_record.h).
using Record = ParserRecord;
uint32_t error_code(const char* e) { return parser_error_code(e); }
Record record_of(const ParseResult& r) { return parser_record_of(r); }
Record record_of(const Vrx_parser& m) { return parser_record_of_pins(m); }

std::vector<uint32_t> flat(const Record& r) { return std::vector<uint32_t>(r.begin(), r.end()); }

// parse_frame on a frame (an empty vector's data() may be null: the model treats it as any empty frame).
ParseResult parse(const Bytes& f) { return parse_frame(f.data(), f.size()); }

class ParserBench : public rtl::LockstepBench<ParserBench, Vrx_parser> {
    friend class rtl::LockstepBench<ParserBench, Vrx_parser>;

public:
    explicit ParserBench(const Config& cfg) : LockstepBench(cfg, "parser") {
        reset_both([](Dut& d) {
            d->s_valid = 0;
            d->r_ready = 0;
        });
    }
    void push(Bytes frame) {
        HeaderWalk walk;
        expected_.push_back(record_of(parse_frame(frame.data(), frame.size(), &walk)));
        if (corrupt_walk) corrupt_walk(walk);
        contract_.push(frame.size(), walk);
        if (corrupt_reference) corrupt_reference(expected_.back());
        frames_.push_back(std::move(frame));
    }
    bool done() const { return frames_.empty() && expected_.empty(); }
    uint64_t results() const { return results_; }
    uint64_t stalls() const { return r_check_.stalls(); }
    uint64_t walker_holds() const { return walker_holds_; }
    std::map<uint32_t, uint64_t> kinds;  // results per L4Kind, to show what the run covered
    std::function<void(Record&)> corrupt_reference;
    std::function<void(HeaderWalk&)> corrupt_walk;

private:
    struct Beat {
        bool valid = false, last = false;
        uint32_t keep_bytes = 0;
        uint8_t data[kBeat] = {};
    };

    static void drive(Dut& d, const Beat& b, bool r_ready) {
        d->s_valid = b.valid;
        d->s_last = b.last;
        uint64_t keep = b.keep_bytes >= 64 ? ~0ULL : ((1ULL << b.keep_bytes) - 1);
        d->s_keep = keep;
        for (size_t w = 0; w < kBeat / 4; ++w) {
            uint32_t v;
            std::memcpy(&v, b.data + 4 * w, 4);
            d->s_data[w] = v;
        }
        d->r_ready = r_ready;
        d.settle();
    }

    void cycle(uint64_t now) {
        // The current beat of the frame being sent: held until taken, gaps between beats at random.
        if (!beat_.valid && !frames_.empty() && traffic_.valid()) {
            const Bytes& f = frames_.front();
            const size_t off = sent_beats_ * kBeat;
            const size_t n = std::min(kBeat, f.size() - std::min(off, f.size()));
            beat_.valid = true;
            beat_.last = off + kBeat >= f.size();
            beat_.keep_bytes = uint32_t(n);
            for (size_t i = 0; i < kBeat; ++i)  // bytes outside s_keep carry garbage the RTL must ignore
                beat_.data[i] = i < n ? f[off + i] : uint8_t(traffic_.next());
        }
        const bool r_ready = traffic_.ready();

        Vrx_parser& m = drive_both(
            now, r_ready, [&](Dut& d, bool r) { drive(d, beat_, r); }, [](Vrx_parser& x) { return bool(x.r_valid); },
            [](Vrx_parser& x) { return flat(record_of(x)); }, "r_valid (r_ready-independent)",
            "r_* (r_ready-independent)");
        const Record got = record_of(m);

        // The cycle contract: the beats taken and the result's cycle exactly as the reference has them.
        mm_.check(now, "r_valid (contract)", contract_.r_valid(), bool(m.r_valid));
        mm_.check(now, "s_ready (contract)", contract_.s_ready(r_ready), bool(m.s_ready));
        if (beat_.valid && !m.s_ready && !m.r_valid && !contract_.takes_first_beat()) ++walker_holds_;
        contract_.edge(beat_.valid, r_ready);
        if (m.r_valid && !expected_.empty()) {
            const Record& want = expected_.front();
            if (const int f = first_field_difference(want, got); f >= 0)
                mm_.check(now, std::string(kParserRecordFields[f]) + " (frame " + std::to_string(results_ + 1) + ")",
                          parser_record_field(want, size_t(f)), parser_record_field(got, size_t(f)));
        }
        std::vector<uint32_t> sdata(m.s_data.data(), m.s_data.data() + kBeat / 4);
        sdata.push_back(beat_.last);
        sdata.push_back(beat_.keep_bytes);
        s_check_.check(now, beat_.valid, m.s_ready, sdata, mm_);
        r_check_.check(now, m.r_valid, r_ready, m.r_valid ? flat(got) : std::vector<uint32_t>{}, mm_);
        Vrx_parser& s = shadow_.model();
        mm_.check(now, "shadow s_ready", bool(m.s_ready), bool(s.s_ready));
        mm_.check(now, "shadow r_valid", bool(m.r_valid), bool(s.r_valid));
        if (m.r_valid && got != record_of(s)) mm_.check(now, "shadow r_*", flat(got), flat(record_of(s)));

        // The edge.
        if (beat_.valid && m.s_ready) {
            ++sent_beats_;
            if (beat_.last) {
                frames_.pop_front();  // the next frame may stream while this one's result is on its way
                sent_beats_ = 0;
            }
            beat_.valid = false;
        }
        if (m.r_valid && r_ready && !expected_.empty()) {
            ++kinds[got[0]];
            expected_.pop_front();
            ++results_;
        }
    }

    std::deque<Bytes> frames_;
    std::deque<Record> expected_;
    Beat beat_;
    size_t sent_beats_ = 0;
    uint64_t results_ = 0, walker_holds_ = 0;
    ParserContract contract_{uint32_t(kBeat), TimingParams{}.parser_latency_cycles};
    rtl::HandshakeChecker s_check_{"s"}, r_check_{"r"};
};

// Every frame of the published vectors and of every scenario capture.
std::vector<Bytes> vector_frames() {
    std::vector<fs::path> pcaps = rtl::scenario_files([](const fs::path& p) { return p.extension() == ".pcap"; });
    pcaps.insert(pcaps.begin(), rtl::published_pcap());
    std::vector<Bytes> frames;
    for (const fs::path& p : pcaps)
        for (const Frame& f : rtl::read_frames(p)) frames.push_back(f.bytes);
    return frames;
}

void put16(Bytes& b, size_t at, uint32_t v) {
    if (at + 2 > b.size()) return;
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
}

// A frame built from random headers: tags, IPv4 (options, fragments) or IPv6 (extension headers), then
// ESP, AH, UDP/4500 (ESP, keepalive, non-ESP marker, short) or another protocol; lengths consistent most
// of the time, padding after the datagram.
Bytes random_headers(rtl::Traffic& r) {
    Bytes f(12);
    for (auto& b : f) b = uint8_t(r.next());
    const unsigned tags = r.chance(70) ? 0 : unsigned(r.below(4));
    for (unsigned t = 0; t < tags; ++t) {
        const uint16_t tpid = r.chance(45) ? 0x8100 : r.chance(80) ? 0x88A8 : 0x9100;
        f.push_back(uint8_t(tpid >> 8));
        f.push_back(uint8_t(tpid));
        f.push_back(uint8_t(r.next()));
        f.push_back(uint8_t(r.next()));
    }
    const bool v6 = r.chance(50);
    const uint16_t et = r.chance(92) ? (v6 ? 0x86DD : 0x0800) : (r.chance(50) ? 0x0806 : (v6 ? 0x0800 : 0x86DD));
    f.push_back(uint8_t(et >> 8));
    f.push_back(uint8_t(et));
    const size_t l3 = f.size();
    // L4 first, then the IP header around it.
    Bytes l4;
    const unsigned pick = unsigned(r.below(10));
    uint8_t proto = 0;
    if (pick < 3) {  // ESP
        proto = 50;
        l4.resize(r.chance(10) ? r.below(8) : 8 + r.below(80));
    } else if (pick < 5) {  // AH
        proto = 51;
        const unsigned plen = r.chance(10) ? unsigned(r.below(256)) : 1 + unsigned(r.below(6));
        l4.resize(r.chance(10) ? r.below(16) : (plen + 2) * 4 + r.below(40));
        if (l4.size() > 1) l4[1] = uint8_t(plen);
    } else if (pick < 9) {  // UDP
        proto = 17;
        const unsigned kind = unsigned(r.below(5));
        Bytes payload = kind == 0 ? Bytes{0xFF} : kind == 1 ? Bytes{0, 0, 0, 0, 1, 2} : Bytes(r.below(8));
        if (kind >= 3) payload.resize(8 + r.below(60));
        for (size_t i = kind <= 1 ? payload.size() : 0; i < payload.size(); ++i) payload[i] = uint8_t(r.next());
        l4.resize(8);
        put16(l4, 0, uint32_t(r.next()));
        put16(l4, 2, r.chance(85) ? 4500 : uint32_t(r.below(65536)));
        put16(l4, 4, r.chance(85) ? uint32_t(8 + payload.size()) : uint32_t(r.below(80)));
        l4.insert(l4.end(), payload.begin(), payload.end());
    } else {
        proto = r.chance(50) ? 6 : uint8_t(r.next());
        l4.resize(r.below(40));
    }
    for (size_t i = 0; i < l4.size(); ++i)
        if (!(proto == 17 && i < 8) && !(proto == 51 && i == 1)) l4[i] = uint8_t(r.next());
    if (!v6) {
        const unsigned ihl = r.chance(75) ? 5 : (r.chance(90) ? 6 + unsigned(r.below(10)) : unsigned(r.below(5)));
        Bytes ip(std::max(20u, ihl * 4));
        for (auto& b : ip) b = uint8_t(r.next());
        ip[0] = uint8_t(0x40 | ihl);
        const size_t total = ip.size() + l4.size();
        put16(ip, 2, r.chance(88) ? uint32_t(total) : uint32_t(r.below(total + 40)));
        const unsigned fr = unsigned(r.below(10));
        put16(ip, 6, fr < 7 ? 0 : fr == 7 ? 0x2000 : fr == 8 ? uint32_t(1 + r.below(0x1FFF)) : uint32_t(r.below(65536)));
        ip[9] = proto;
        f.insert(f.end(), ip.begin(), ip.end());
    } else {
        Bytes ext;  // extension headers before the L4 header
        uint8_t first = proto;
        const unsigned n_ext = r.chance(55) ? 0 : unsigned(1 + r.below(3));
        std::vector<Bytes> hdrs;
        std::vector<uint8_t> types;
        for (unsigned i = 0; i < n_ext; ++i) {
            const uint8_t t = std::array<uint8_t, 4>{0, 43, 60, 44}[r.below(4)];
            Bytes h(t == 44 ? 8 : (r.below(3) + 1) * 8);
            for (auto& b : h) b = uint8_t(r.next());
            if (t != 44) h[1] = uint8_t(h.size() / 8 - 1);
            else put16(h, 2, r.chance(60) ? 0 : r.chance(50) ? 1 : uint32_t(r.below(65536)));
            if (r.chance(5)) h[1] = uint8_t(r.next());
            hdrs.push_back(h);
            types.push_back(t);
        }
        for (size_t i = hdrs.size(); i-- > 0;) {  // chain: each names the next
            hdrs[i][0] = first;
            first = types[i];
            ext.insert(ext.begin(), hdrs[i].begin(), hdrs[i].end());
        }
        Bytes ip(40);
        for (auto& b : ip) b = uint8_t(r.next());
        ip[0] = 0x60;
        const size_t plen = ext.size() + l4.size();
        put16(ip, 4, r.chance(88) ? uint32_t(plen) : uint32_t(r.below(plen + 40)));
        ip[6] = first;
        f.insert(f.end(), ip.begin(), ip.end());
        f.insert(f.end(), ext.begin(), ext.end());
    }
    f.insert(f.end(), l4.begin(), l4.end());
    const size_t pad = r.chance(30) ? r.below(24) : 0;
    for (size_t i = 0; i < pad; ++i) f.push_back(uint8_t(r.next()));
    if (r.chance(5)) f.resize(r.below(f.size() + 1));  // cut anywhere
    (void)l3;
    return f;
}

// A vector frame changed a little: byte flips in the headers, a length field rewritten, cut or extended.
Bytes mutate(const Bytes& base, rtl::Traffic& r) {
    Bytes f = base;
    const unsigned n = 1 + unsigned(r.below(3));
    for (unsigned i = 0; i < n && !f.empty(); ++i) {
        const size_t hot = std::min<size_t>(f.size(), 96);
        switch (r.below(6)) {
        case 0: f[r.below(hot)] ^= uint8_t(1u << r.below(8)); break;
        case 1: f[r.below(hot)] = uint8_t(r.next()); break;
        case 2: f.resize(r.below(f.size() + 1)); break;
        case 3:
            for (size_t k = r.below(80); k > 0; --k) f.push_back(uint8_t(r.next()));
            break;
        case 4: {  // a 16-bit field where lengths live (IPv4 total 16, IPv6 payload 18, UDP length ~38..)
            const size_t at = std::array<size_t, 6>{16, 18, 20, 38, 42, 58}[r.below(6)];
            put16(f, at, r.chance(50) ? uint32_t(r.below(65536)) : uint32_t(r.below(f.size() + 16)));
            break;
        }
        default:  // ethertype/TPID bytes where tags and ethertypes live
            f[std::min<size_t>(f.size() - 1, 12 + r.below(12))] =
                std::array<uint8_t, 8>{0x81, 0x00, 0x88, 0xA8, 0x86, 0xDD, 0x08, 0x00}[r.below(8)];
        }
    }
    return f;
}

}  // namespace

TEST(RxParserRtl, VectorFramesLockstep) {
    const std::vector<Bytes> frames = vector_frames();
    ASSERT_GE(frames.size(), 700u);
    auto bench = rtl::run_lockstep<ParserBench>("RxParserRtl_Vectors", 21, [&](ParserBench& b) {
        for (const Bytes& f : frames) b.push(f);
        b.run();
    });
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(bench->results(), frames.size());
    EXPECT_GT(bench->kinds[uint32_t(L4Kind::Esp)], 300u);
    EXPECT_GT(bench->kinds[uint32_t(L4Kind::Ah)], 20u);
    EXPECT_GT(bench->kinds[uint32_t(L4Kind::UdpEsp)], 5u);
    std::printf("%zu vector frames, %llu cycles, zero mismatches; kinds:", frames.size(),
                (unsigned long long)bench->cycles());
    for (const auto& [k, n] : bench->kinds) std::printf(" %s=%llu", l4_kind_name(L4Kind(k)), (unsigned long long)n);
    std::printf("\n");
}

TEST(RxParserRtl, RandomFramesLockstep) {
    const uint64_t n = rtl::env_u64("OV2_RTL_PARSER_FRAMES", 120000);
    const uint64_t seed = rtl::seed();
    const std::vector<Bytes> base = vector_frames();
    ASSERT_FALSE(base.empty());
    std::map<uint32_t, uint64_t> errors;
    auto bench = rtl::run_lockstep<ParserBench>("RxParserRtl_Random", seed, [&](ParserBench& b) {
        rtl::Traffic r(seed ^ 0x9A25E);
        for (uint64_t i = 0; i < n; ++i) {
            Bytes f = r.chance(50) ? mutate(base[r.below(base.size())], r) : random_headers(r);
            const ParseResult p = parse(f);
            ++errors[p.kind == L4Kind::Malformed ? error_code(p.error) : 100 + error_code(p.syntax_error)];
            b.push(std::move(f));
            if (i % 2048 == 2047) b.run();
        }
        // Frames over 65535 bytes (Malformed as a whole) and the empty frame.
        Bytes big = base[0];
        big.resize(65536 + 100, 0xA5);
        b.push(big);
        b.push(Bytes{});
        b.run();
    });
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(bench->results(), n + 2);
    for (uint32_t k = 0; k <= 6; ++k) EXPECT_GT(bench->kinds[k], n / 500) << l4_kind_name(L4Kind(k));
    // Most Malformed reasons and every syntax_error were reached (the ones parse_frame can give).
    unsigned reasons = 0;
    for (const auto& [code, count] : errors)
        if (count) ++reasons;
    EXPECT_GE(reasons, 20u);
    EXPECT_GT(bench->stalls(), n / 50);
    EXPECT_GT(bench->walker_holds(), 0u) << "some beats waited for the walk (IPv6 extension-header chains)";
    std::printf("%llu random frames + 2, %llu cycles, %u distinct error/syntax codes, %llu cycles a beat waited "
                "for the walk, zero mismatches; kinds:",
                (unsigned long long)n, (unsigned long long)bench->cycles(), reasons,
                (unsigned long long)bench->walker_holds());
    for (const auto& [k, c] : bench->kinds) std::printf(" %s=%llu", l4_kind_name(L4Kind(k)), (unsigned long long)c);
    std::printf("\n");
}

TEST(RxParserRtl, MismatchReportNamesCycleSignalAndWritesVcd) {
    const std::vector<Bytes> frames = vector_frames();
    const auto sc = rtl::self_check<ParserBench>("RxParserRtl_SelfCheck", 4, [&](ParserBench& b) {
        b.corrupt_reference = [](Record& rec) { rec[14] ^= 0x100; };  // r_spi
        b.push(frames.at(0));
        b.run();
    });
    ASSERT_TRUE(sc.first.found);
    EXPECT_EQ(sc.first.signal, "r_spi (frame 1)");
    EXPECT_NE(sc.first.expected, sc.first.actual);
    EXPECT_NE(sc.vcd.find("r_spi"), std::string::npos);
    EXPECT_NE(sc.vcd.find(rtl::vcd_window_end(sc.first)), std::string::npos);
}

// The cycle check can fail: a reference walk with more steps than the frame has beats (the RTL's result
// comes earlier than the reference's).
TEST(RxParserRtl, ContractMismatchIsReported) {
    const std::vector<Bytes> frames = vector_frames();
    const auto sc = rtl::self_check<ParserBench>("RxParserRtl_ContractSelfCheck", 5, [&](ParserBench& b) {
        b.corrupt_walk = [](HeaderWalk& w) { w.offsets.resize(w.offsets.size() + 64, 14); };
        b.push(frames.at(0));
        b.run();
    });
    ASSERT_TRUE(sc.first.found);
    EXPECT_NE(sc.first.signal.find("(contract)"), std::string::npos) << sc.first.str();
    EXPECT_NE(sc.first.expected, sc.first.actual);
    EXPECT_NE(sc.vcd.find(rtl::vcd_window_end(sc.first)), std::string::npos);
}


// The bridges gather a checker's data only when wants_data() says the check reads it (a stall now or in
// the cycle before); a change of data or a dropped valid across a stall must still be caught that way.
TEST(HandshakeChecker, DataGatheredOnlyWhenWantedStillCatchesStalledChanges) {
    const auto step = [](rtl::HandshakeChecker& c, uint64_t cycle, bool valid, bool ready, uint32_t word,
                         rtl::Mismatch& mm) {
        const std::array<uint32_t, 1> data{word};
        const bool wanted = c.wants_data(valid, ready);
        c.check(cycle, valid, ready, wanted ? data.data() : nullptr, wanted ? data.size() : 0, mm);
        return wanted;
    };
    rtl::HandshakeChecker ok("s");
    rtl::Mismatch clean;
    EXPECT_FALSE(step(ok, 1, true, true, 5, clean));   // a transfer: nothing to compare
    EXPECT_FALSE(step(ok, 2, false, false, 9, clean));  // idle
    EXPECT_TRUE(step(ok, 3, true, false, 7, clean));    // a stall: its data is kept
    EXPECT_TRUE(step(ok, 4, true, true, 7, clean));     // the stalled transfer completes unchanged
    EXPECT_FALSE(step(ok, 5, true, true, 8, clean));
    EXPECT_FALSE(clean.found);
    EXPECT_EQ(ok.transfers(), 3u);
    EXPECT_EQ(ok.stalls(), 1u);

    rtl::HandshakeChecker changed("s");
    rtl::Mismatch mm;
    step(changed, 1, true, false, 7, mm);
    step(changed, 2, true, true, 8, mm);
    ASSERT_TRUE(mm.found);
    EXPECT_EQ(mm.cycle, 2u);
    EXPECT_EQ(mm.signal, "s.data");

    rtl::HandshakeChecker dropped("r");
    rtl::Mismatch gone;
    step(dropped, 1, true, false, 7, gone);
    step(dropped, 2, false, false, 7, gone);
    ASSERT_TRUE(gone.found);
    EXPECT_EQ(gone.signal, "r.valid");
}

}  // namespace ov2
