// The parser's cycle contract (docs/timing.md, "Parser"): the header steps parse_frame logs, and the busy
// and key cycles parser_timing derives from them; line rate at every frame size for frames without IPv6
// extension headers. The RTL is held to the same reference cycle by cycle in test_rx_parser_rtl.cpp.
#include <gtest/gtest.h>

#include <functional>

#include "frame_builder.h"
#include "parser_contract.h"
#include "rx_parser.h"

namespace ov2 {
namespace {

using namespace ov2::test;

HeaderWalk walk_of(const Bytes& f, ParseResult* r = nullptr) {
    HeaderWalk w;
    const ParseResult p = parse_frame(f.data(), f.size(), &w);
    EXPECT_EQ(p.header_steps, w.offsets.size() + 1);
    if (r) *r = p;
    return w;
}

ParserTiming timing_of(const Bytes& f, const TimingParams& t = {}) { return parser_timing(walk_of(f), f.size(), t); }

// An ESP frame grown with ESP body bytes to `bytes` (at least its headers).
Bytes sized(const std::function<Bytes(size_t body)>& make, size_t bytes) {
    const size_t bare = make(0).size();
    return make(bytes > bare ? bytes - bare : 0);
}

TEST(ParserContract, StepsAreTheL2L3StepThenOneAHeader) {
    EXPECT_EQ(walk_of(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1)))).offsets, std::vector<uint32_t>{34});
    EXPECT_EQ(walk_of(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1)), {kTpid8021q, kTpid8021ad})).offsets,
              std::vector<uint32_t>{42});
    const Bytes chain = ethernet(kEthIpv6, ipv6(kNextHopByHop, ipv6_options_header(kNextRouting) +
                                                                   ipv6_options_header(kProtoEsp, 16) + esp(1, 1)));
    EXPECT_EQ(walk_of(chain).offsets, (std::vector<uint32_t>{54, 62, 78}));
    EXPECT_TRUE(walk_of(ethernet(kEthArp, filler(46))).offsets.empty());
    Ipv4Shape later;
    later.fragment_field = 8;
    EXPECT_TRUE(walk_of(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1), later))).offsets.empty());
    EXPECT_EQ(walk_of(ethernet(kEthIpv4, ipv4(kProtoTcp, filler(20)))).offsets, std::vector<uint32_t>{34});
}

// The result does not depend on the walk of a datagram longer than the frame, but the hardware walks it
// while the frame streams in: logged as far as the frame holds 16 bytes at a step.
TEST(ParserContract, ADatagramBeyondTheFrameIsWalkedAsFarAsTheFrameGoes) {
    Ipv4Shape too_long;
    too_long.total_length = 400;
    ParseResult r;
    const HeaderWalk w = walk_of(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1), too_long)), &r);
    EXPECT_EQ(r.kind, L4Kind::Malformed);
    EXPECT_TRUE(w.length_bad);
    EXPECT_EQ(w.offsets, std::vector<uint32_t>{34});
    const Bytes cut = ethernet(kEthIpv6, ipv6(kNextHopByHop, ipv6_options_header(kProtoEsp, 64) + esp(1, 1, 100)));
    const HeaderWalk c = walk_of(Bytes(cut.begin(), cut.begin() + 120));
    EXPECT_TRUE(c.length_bad);
    EXPECT_EQ(c.offsets, std::vector<uint32_t>{54}) << "the ESP step at 118 would need bytes past 120";
    EXPECT_FALSE(walk_of(cut).length_bad);
}

// busy: until the next frame's first beat; result: the key valid, both from the first beat's cycle.
TEST(ParserContract, TypicalFramesKeyAfterTheirLastBeatPlusTheLatency) {
    const auto v4esp = [](size_t body) { return ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1, body))); };
    const ParserTiming small = timing_of(sized(v4esp, 60));  // one beat, two steps
    EXPECT_EQ(small.busy, 2u);
    EXPECT_EQ(small.result, 3u);
    const ParserTiming p64 = timing_of(sized(v4esp, 134));  // the 64-byte payload frame: 3 beats
    EXPECT_EQ(p64.busy, 3u);
    EXPECT_EQ(p64.result, 4u);
    const ParserTiming big = timing_of(sized(v4esp, 1500));
    EXPECT_EQ(big.busy, 24u);
    EXPECT_EQ(big.result, 25u);
    TimingParams slow;
    slow.parser_latency_cycles = 12;
    EXPECT_EQ(timing_of(sized(v4esp, 134), slow).result, 14u);
    EXPECT_EQ(timing_of(sized(v4esp, 134), slow).busy, 3u) << "the latency is a pipeline: no effect on the rate";
}

// Back to back at 100 GbE a frame of B bytes (no FCS in the capture) takes (B + 4 + 20) x 8 / 100 ns on
// the wire; the parser must be free again by then: 60 bytes leave 2.16 cycles of 3.106 ns.
TEST(ParserContract, KeepsUpWithTheWireAtEveryFrameSizeWithoutExtensionHeaders) {
    const TimingParams t;
    const std::vector<std::function<Bytes(size_t)>> shapes = {
        [](size_t n) { return ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1, n))); },
        [](size_t n) { return ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1, n)), {kTpid8021ad, kTpid8021q}); },
        [](size_t n) { return ethernet(kEthIpv6, ipv6(kProtoEsp, esp(1, 1, n))); },
        [](size_t n) { return ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(1, 1, n)))); },
        [](size_t n) { return ethernet(kEthIpv6, ipv6(kProtoUdp, udp(4500, 4500, esp(1, 1, n)))); },
        [](size_t n) { return ethernet(kEthIpv6, ipv6(kProtoAh, ah(kProtoEsp, 1, 1, 16) + filler(n))); },
    };
    for (size_t s = 0; s < shapes.size(); ++s)
        for (size_t bytes = 60; bytes <= 1518; ++bytes) {
            const Bytes f = sized(shapes[s], bytes);
            if (f.size() != bytes) continue;  // headers longer than the size
            const double wire_ps = double(t.wire_time_ps(uint32_t(bytes), false));
            ASSERT_LE(double(timing_of(f).busy) * t.clock_ps(), wire_ps) << "shape " << s << ", " << bytes << " B";
        }
}

// A walk longer than the frame's beats sets the pace: one header a cycle.
TEST(ParserContract, ExtensionHeaderChainsTakeAStepEach) {
    Bytes chain = esp(1, 1);
    for (int i = 0; i < 6; ++i) chain = ipv6_options_header(i == 0 ? kProtoEsp : kNextDestOptions) + chain;
    const Bytes f = ethernet(kEthIpv6, ipv6(kNextHopByHop, chain));
    EXPECT_EQ(walk_of(f).offsets.size(), 7u);
    EXPECT_EQ(timing_of(f).busy, 8u) << f.size() << " B: 3 beats, 8 steps";
}

// Both timing modes ask the memo, not parser_timing: over frames of many lengths and walks (far more than
// its 64 slots, so slots are reused and keys collide), in an order that comes back to earlier frames, it
// must give parser_timing's answer every time, and that for another latency setting too.
TEST(ParserContract, TheMemoAnswersAsParserTimingDoes) {
    std::vector<Bytes> frames;
    for (size_t bytes = 60; bytes <= 1600; bytes += 7)
        frames.push_back(sized([](size_t body) { return ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1, body))); },
                               bytes));
    for (int n = 0; n < 7; ++n)
        for (size_t body : {0, 40, 300}) {
            Bytes chain = esp(1, 1, body);
            for (int i = 0; i < n; ++i) chain = ipv6_options_header(i == 0 ? kProtoEsp : kNextDestOptions) + chain;
            frames.push_back(ethernet(kEthIpv6, ipv6(n ? kNextHopByHop : kProtoEsp, chain)));
        }
    // Equal lengths, different walks: the memo must tell them apart by the walk.
    for (size_t bytes : {200, 600})
        for (int n = 0; n < 7; ++n)
            for (size_t first : {8, 16, 24, 32, 40})
                frames.push_back(sized(
                    [&](size_t body) {
                        Bytes chain = esp(1, 1, body);
                        for (int i = 0; i < n; ++i)
                            chain = ipv6_options_header(i == 0 ? kProtoEsp : kNextDestOptions, i ? 8 : first) + chain;
                        return ethernet(kEthIpv6, ipv6(n ? kNextHopByHop : kProtoEsp, chain));
                    },
                    bytes));
    Ipv4Shape too_long;
    too_long.total_length = 400;
    frames.push_back(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(1, 1), too_long)));
    TimingParams slow;
    slow.parser_latency_cycles = 9;
    for (const TimingParams& t : {TimingParams{}, slow}) {
        ParserTimingMemo memo(t);
        for (int pass = 0; pass < 2; ++pass)
            for (size_t i = 0; i < frames.size(); ++i) {
                const Bytes& f = frames[pass ? frames.size() - 1 - i : i];
                const HeaderWalk w = walk_of(f);
                const ParserTiming want = parser_timing(w, f.size(), t);
                const ParserTiming& got = memo.of(w, f.size());
                ASSERT_EQ(got.busy, want.busy) << f.size() << " B, pass " << pass;
                ASSERT_EQ(got.result, want.result) << f.size() << " B, pass " << pass;
            }
    }
}

}  // namespace
}  // namespace ov2
