// Receive parser on hand-built frames: every classification, every Malformed reason, truncation sweeps.
#include <gtest/gtest.h>

#include <string>

#include "frame_builder.h"
#include "rx_parser.h"

namespace ov2 {
namespace {

using namespace ov2::test;

constexpr uint32_t kSpi = 0x11223344;
constexpr uint32_t kSeq = 0x00000007;

ParseResult parse(const Bytes& frame) { return parse_frame(frame.data(), frame.size()); }

Bytes ipv4_esp_frame(const std::vector<uint16_t>& tpids = {}) {
    return ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq)), tpids);
}

void expect_malformed(const ParseResult& r) {
    EXPECT_EQ(r.kind, L4Kind::Malformed);
    ASSERT_NE(r.error, nullptr);
    EXPECT_GT(std::string(r.error).size(), 0u);
}

IpAddr v4(const std::array<uint8_t, 4>& a) { return IpAddr::v4(a.data()); }
IpAddr v6(const std::array<uint8_t, 16>& a) { return IpAddr::v6(a.data()); }

// ---- Ethernet and VLAN ----------------------------------------------------------------------------------

TEST(RxParserEthernet, Ipv4EspWithoutVlanFillsEveryField) {
    const ParseResult r = parse(ipv4_esp_frame());
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_EQ(r.error, nullptr);
    EXPECT_EQ(r.vlan_tags, 0);
    EXPECT_EQ(r.ip_version, 4);
    EXPECT_FALSE(r.ipv4_options);
    EXPECT_FALSE(r.ipv6_extension_headers);
    EXPECT_FALSE(r.fragment);
    EXPECT_EQ(r.l3_offset, 14);
    EXPECT_EQ(r.l3_length, 20u + 40u);
    EXPECT_EQ(r.udp_offset, 0);
    EXPECT_EQ(r.ipsec_offset, 34);
    EXPECT_EQ(r.ipsec_proto, kIpProtoEsp);
    EXPECT_EQ(r.next_header_offset, 14 + 9);
    EXPECT_EQ(r.spi, kSpi);
    EXPECT_EQ(r.seq, kSeq);
    EXPECT_EQ(r.src, v4(kSrc4));
    EXPECT_EQ(r.dst, v4(kDst4));
}

TEST(RxParserEthernet, OneVlanTagShiftsEveryOffsetByFour) {
    const ParseResult r = parse(ipv4_esp_frame({kTpid8021q}));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_EQ(r.vlan_tags, 1);
    EXPECT_EQ(r.l3_offset, 18);
    EXPECT_EQ(r.ipsec_offset, 38);
    EXPECT_EQ(r.next_header_offset, 18 + 9);
    EXPECT_EQ(r.spi, kSpi);
}

TEST(RxParserEthernet, TwoVlanTagsQinQ) {
    for (const auto& tags : {std::vector<uint16_t>{kTpid8021ad, kTpid8021q},
                             std::vector<uint16_t>{kTpid8021q, kTpid8021q}}) {
        const ParseResult r = parse(ipv4_esp_frame(tags));
        EXPECT_EQ(r.kind, L4Kind::Esp);
        EXPECT_EQ(r.vlan_tags, 2);
        EXPECT_EQ(r.l3_offset, 22);
        EXPECT_EQ(r.ipsec_offset, 42);
        EXPECT_EQ(r.spi, kSpi);
    }
}

TEST(RxParserEthernet, ThreeVlanTagsAreNotIp) {
    const ParseResult r = parse(ipv4_esp_frame({kTpid8021ad, kTpid8021q, kTpid8021q}));
    EXPECT_EQ(r.kind, L4Kind::NotIp);
    EXPECT_EQ(r.error, nullptr);
    EXPECT_EQ(r.vlan_tags, 2);
}

TEST(RxParserEthernet, NonIpEthertypesAreNotIp) {
    for (uint16_t ethertype : {kEthArp, uint16_t(0x88CC), uint16_t(0x9100), uint16_t(0x0042)}) {
        const ParseResult r = parse(ethernet(ethertype, filler(46)));
        EXPECT_EQ(r.kind, L4Kind::NotIp) << std::hex << ethertype;
        EXPECT_EQ(r.error, nullptr);
    }
    EXPECT_EQ(parse(ethernet(kEthArp, filler(46), {kTpid8021q})).kind, L4Kind::NotIp);
}

TEST(RxParserEthernet, FrameShorterThanEthernetHeaderIsMalformed) {
    const Bytes frame = ipv4_esp_frame();
    for (size_t len = 0; len < 14; ++len) {
        const Bytes prefix(frame.begin(), frame.begin() + len);
        expect_malformed(parse_frame(prefix.data(), prefix.size()));
    }
}

TEST(RxParserEthernet, FrameCutInsideVlanTagIsMalformed) {
    const Bytes frame = ipv4_esp_frame({kTpid8021ad, kTpid8021q});
    for (size_t len : {14, 15, 16, 17, 18, 19, 20, 21}) {
        const ParseResult r = parse_frame(frame.data(), len);
        expect_malformed(r);
        EXPECT_STREQ(r.error, "frame shorter than its VLAN tags") << len;
    }
}

TEST(RxParserEthernet, EthertypeWithoutIpHeaderIsMalformed) {
    const Bytes frame = ipv4_esp_frame();
    const ParseResult r = parse_frame(frame.data(), 14);
    expect_malformed(r);
    EXPECT_STREQ(r.error, "no IP header in the buffer");
}

TEST(RxParserEthernet, IpVersionMustMatchEthertype) {
    const ParseResult v6_in_v4 = parse(ethernet(kEthIpv4, ipv6(kProtoEsp, esp(kSpi, kSeq))));
    expect_malformed(v6_in_v4);
    EXPECT_STREQ(v6_in_v4.error, "IP version does not match the ethertype");
    expect_malformed(parse(ethernet(kEthIpv6, ipv4(kProtoEsp, esp(kSpi, kSeq)))));
}

TEST(RxParserEthernet, NullBufferIsMalformed) {
    expect_malformed(parse_frame(nullptr, 0));
    expect_malformed(parse_frame(nullptr, 100));
    expect_malformed(parse_ip(nullptr, 100, 0));
}

TEST(RxParserEthernet, AnEmptyFrameIsTooShortWhateverItsPointer) {  // an empty vector's data() may be null
    const uint8_t byte = 0;
    const ParseResult with_pointer = parse_frame(&byte, 0), without = parse_frame(nullptr, 0);
    expect_malformed(without);
    EXPECT_STREQ(without.error, with_pointer.error);
    EXPECT_STRNE(without.error, "null buffer");
}

TEST(RxParserEthernet, FrameLongerThan65535BytesIsRejected) {
    Bytes frame = ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq, 65535 - 14 - 20 - 8)));
    ASSERT_EQ(frame.size(), 65535u);
    const ParseResult largest = parse(frame);
    EXPECT_EQ(largest.kind, L4Kind::Esp);
    EXPECT_EQ(largest.l3_length, 65535u - 14);

    frame.push_back(0);  // Ethernet padding would be harmless, but offsets must fit in uint16_t
    const ParseResult r = parse(frame);
    expect_malformed(r);
    EXPECT_STREQ(r.error, "buffer longer than 65535 bytes");
    expect_malformed(parse_ip(frame.data(), frame.size(), 14));
}

TEST(RxParserEthernet, PaddingAfterShortIpPacketIsIgnored) {
    // A NAT keepalive is a 29-byte IPv4 packet: the MAC pads the frame to 60 bytes with zeros.
    Bytes frame = ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, {0xFF})));
    ASSERT_EQ(frame.size(), 14u + 29u);
    frame.resize(60, 0);
    const ParseResult r = parse(frame);
    EXPECT_EQ(r.kind, L4Kind::UdpNonEsp);
    EXPECT_EQ(r.l3_length, 29u);

    Bytes esp_frame = ipv4_esp_frame();
    esp_frame.resize(esp_frame.size() + 18, 0xEE);
    const ParseResult padded_esp = parse(esp_frame);
    EXPECT_EQ(padded_esp.kind, L4Kind::Esp);
    EXPECT_EQ(padded_esp.l3_length, 60u);
}

// ---- IPv4 -----------------------------------------------------------------------------------------------

TEST(RxParserIpv4, OptionsAreFlaggedAndSkipped) {
    Ipv4Shape shape;
    shape.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOP, NOP, NOP, EOL
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_TRUE(r.ipv4_options);
    EXPECT_EQ(r.ipsec_offset, 14 + 28);
    EXPECT_EQ(r.l3_length, 28u + 40u);
    EXPECT_EQ(r.spi, kSpi);
}

TEST(RxParserIpv4, IhlBelowFiveIsMalformed) {
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
        Ipv4Shape shape;
        shape.ihl = ihl;
        const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
        expect_malformed(r);
        EXPECT_STREQ(r.error, "IPv4 IHL below 5");
    }
}

TEST(RxParserIpv4, TotalLengthShorterThanHeaderIsMalformed) {
    Ipv4Shape shape;
    shape.ihl = 15;  // 60-byte header in a 20 + 40 byte packet
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq, 0), shape)));
    expect_malformed(r);
    EXPECT_STREQ(r.error, "IPv4 total length shorter than its header");
}

TEST(RxParserIpv4, TotalLengthLargerThanFrameIsMalformed) {
    Ipv4Shape shape;
    shape.total_length = 20 + 40 + 1;
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
    expect_malformed(r);
    EXPECT_STREQ(r.error, "IPv4 total length beyond the buffer");
}

TEST(RxParserIpv4, TruncatedHeaderIsMalformed) {
    const Bytes frame = ipv4_esp_frame();
    const ParseResult r = parse_frame(frame.data(), 14 + 19);
    expect_malformed(r);
    EXPECT_STREQ(r.error, "truncated IPv4 header");
}

TEST(RxParserIpv4, FirstFragmentIsClassifiedAndFlagged) {
    Ipv4Shape shape;
    shape.fragment_field = 0x2000;  // MF, offset 0
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_TRUE(r.fragment);
    EXPECT_EQ(r.spi, kSpi);
}

TEST(RxParserIpv4, LaterFragmentIsNotIpsec) {
    for (uint16_t field : {uint16_t(0x0001), uint16_t(0x2010), uint16_t(0x1FFF)}) {
        Ipv4Shape shape;
        shape.fragment_field = field;
        const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
        EXPECT_EQ(r.kind, L4Kind::NotIpsec);
        EXPECT_TRUE(r.fragment);
        EXPECT_EQ(r.spi, 0u);
        EXPECT_EQ(r.dst, v4(kDst4));  // the addresses are known even so
    }
}

TEST(RxParserIpv4, DontFragmentIsNotAFragment) {
    Ipv4Shape shape;
    shape.fragment_field = 0x4000;
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), shape)));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_FALSE(r.fragment);
}

TEST(RxParserIpv4, FirstFragmentEndingInsideTheIpsecHeaderIsNotIpsec) {
    Ipv4Shape shape;
    shape.fragment_field = 0x2000;
    const ParseResult esp_cut = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, be32(kSpi), shape)));
    EXPECT_EQ(esp_cut.kind, L4Kind::NotIpsec);
    EXPECT_TRUE(esp_cut.fragment);

    // AH whose ICV continues in the next fragment: the key is complete, so it is classified.
    Bytes ah_fragment = ah(kProtoEsp, kSpi, kSeq, 16);
    ah_fragment.resize(16);
    const ParseResult ah_cut = parse(ethernet(kEthIpv4, ipv4(kProtoAh, ah_fragment, shape)));
    EXPECT_EQ(ah_cut.kind, L4Kind::Ah);
    EXPECT_TRUE(ah_cut.fragment);
    EXPECT_EQ(ah_cut.spi, kSpi);
}

TEST(RxParserIpv4, AhReadsSpiAndSeqAfterItsFirstWord) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoAh, ah(6, kSpi, kSeq) + filler(20))));
    EXPECT_EQ(r.kind, L4Kind::Ah);
    EXPECT_EQ(r.ipsec_proto, kIpProtoAh);
    EXPECT_EQ(r.ipsec_offset, 34);
    EXPECT_EQ(r.next_header_offset, 23);
    EXPECT_EQ(r.spi, kSpi);
    EXPECT_EQ(r.seq, kSeq);
}

TEST(RxParserIpv4, AhThenEspIsClassifiedByTheOuterAh) {
    const ParseResult r =
        parse(ethernet(kEthIpv4, ipv4(kProtoAh, ah(kProtoEsp, 0xAAAA0001, 5, 12) + esp(0xEEEE0002, 5))));
    EXPECT_EQ(r.kind, L4Kind::Ah);
    EXPECT_EQ(r.ipsec_offset, 34);
    EXPECT_EQ(r.spi, 0xAAAA0001u);
}

TEST(RxParserIpv4, AhWithoutIcvIsTheSmallestValidAh) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoAh, ah(kProtoEsp, kSpi, kSeq, 0))));
    EXPECT_EQ(r.kind, L4Kind::Ah);
}

// NDIS: "the IP total length is too short to hold all the AH/ESP fields" is CRYPTO_INVALID_PACKET_SYNTAX,
// which needs the SA: while the SPI is readable the key is kept and the length problem is flagged.
TEST(RxParserIpv4, AhLengthProblemsKeepTheKeyAndFlagSyntax) {
    Bytes cut_ah = ah(kProtoEsp, kSpi, kSeq, 0);
    cut_ah.resize(11);  // SPI complete, sequence number cut
    const ParseResult short_ah = parse(ethernet(kEthIpv4, ipv4(kProtoAh, cut_ah)));
    EXPECT_EQ(short_ah.kind, L4Kind::Ah);
    EXPECT_EQ(short_ah.spi, kSpi);
    EXPECT_STREQ(short_ah.syntax_error, "IP datagram ends inside the AH header");

    Bytes zero_length = ah(kProtoEsp, kSpi, kSeq, 16);
    zero_length[1] = 0;  // (0 + 2) * 4 = 8 bytes: shorter than SPI + sequence number
    const ParseResult below_fixed = parse(ethernet(kEthIpv4, ipv4(kProtoAh, zero_length)));
    EXPECT_EQ(below_fixed.kind, L4Kind::Ah);
    EXPECT_STREQ(below_fixed.syntax_error, "AH payload length below its fixed header");

    Bytes too_long = ah(kProtoEsp, kSpi, kSeq, 16);
    too_long[1] = 7;  // 36 bytes announced, 28 present
    const ParseResult beyond = parse(ethernet(kEthIpv4, ipv4(kProtoAh, too_long)));
    EXPECT_EQ(beyond.kind, L4Kind::Ah);
    EXPECT_STREQ(beyond.syntax_error, "AH length beyond the IP payload");
}

TEST(RxParserIpv4, AhWithoutAReadableSpiIsMalformed) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoAh, Bytes(7, 1))));
    expect_malformed(r);
    EXPECT_STREQ(r.error, "truncated AH header");
}

TEST(RxParserIpv4, EspShorterThanSpiAndSeqKeepsTheKey) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, Bytes{0xAA, 0xAA, 0x00, 0x01, 0, 0, 0})));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_EQ(r.spi, 0xAAAA0001u);
    EXPECT_STREQ(r.syntax_error, "IP datagram ends inside the ESP header");
    const ParseResult tiny = parse(ethernet(kEthIpv4, ipv4(kProtoEsp, Bytes(3, 1))));
    expect_malformed(tiny);
    EXPECT_STREQ(tiny.error, "truncated ESP header");
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq, 0)))).syntax_error, nullptr);
}

TEST(RxParserIpv4, LaterFragmentKeepsItsIpsecProtocol) {
    Bytes packet = ipv4(kProtoEsp, Bytes(40, 7));
    packet[6] = 0x00;
    packet[7] = 0x10;  // fragment offset 16 (128 bytes), no MF
    const ParseResult r = parse(ethernet(kEthIpv4, packet));
    EXPECT_EQ(r.kind, L4Kind::NotIpsec);
    EXPECT_TRUE(r.fragment);
    EXPECT_EQ(r.ipsec_proto, kIpProtoEsp);
}

TEST(RxParserIpv4, OtherProtocolsAreNotIpsec) {
    for (uint8_t proto : {uint8_t(1), kProtoTcp, uint8_t(4), uint8_t(41), uint8_t(255)}) {
        const ParseResult r = parse(ethernet(kEthIpv4, ipv4(proto, filler(40))));
        EXPECT_EQ(r.kind, L4Kind::NotIpsec) << int(proto);
        EXPECT_EQ(r.ip_version, 4);
        EXPECT_EQ(r.error, nullptr);
    }
}

TEST(RxParserIpv4, ParseIpTakesOffsetsFromTheBuffer) {
    // A tunnel's inner packet: offsets stay relative to the buffer given, not to the inner header.
    const Bytes buffer = filler(30) + ipv4(kProtoEsp, esp(kSpi, kSeq));
    const ParseResult r = parse_ip(buffer.data(), buffer.size(), 30);
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_EQ(r.l3_offset, 30);
    EXPECT_EQ(r.ipsec_offset, 50);
    EXPECT_EQ(r.next_header_offset, 39);
    EXPECT_EQ(r.vlan_tags, 0);
}

TEST(RxParserIpv4, ParseIpRejectsBadOffsetAndVersion) {
    const Bytes packet = ipv4(kProtoEsp, esp(kSpi, kSeq));
    expect_malformed(parse_ip(packet.data(), packet.size(), packet.size()));
    expect_malformed(parse_ip(packet.data(), packet.size(), SIZE_MAX));
    Bytes version5 = packet;
    version5[0] = 0x55;
    const ParseResult r = parse_ip(version5.data(), version5.size(), 0);
    expect_malformed(r);
    EXPECT_STREQ(r.error, "IP version neither 4 nor 6");
}

// ---- UDP 4500 (RFC 3948) --------------------------------------------------------------------------------

TEST(RxParserUdp, EspInUdp4500) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq)))));
    EXPECT_EQ(r.kind, L4Kind::UdpEsp);
    EXPECT_EQ(r.udp_offset, 34);
    EXPECT_EQ(r.ipsec_offset, 42);
    EXPECT_EQ(r.ipsec_proto, kIpProtoEsp);
    EXPECT_EQ(r.next_header_offset, 23);
    EXPECT_EQ(r.spi, kSpi);
    EXPECT_EQ(r.seq, kSeq);
}

TEST(RxParserUdp, NatTraversalSourcePortDoesNotMatter) {
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(61000, 4500, esp(kSpi, kSeq))))).kind,
              L4Kind::UdpEsp);
}

TEST(RxParserUdp, IkeNonEspMarkerIsUdpNonEsp) {
    const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, be32(0) + filler(28)))));
    EXPECT_EQ(r.kind, L4Kind::UdpNonEsp);
    EXPECT_EQ(r.udp_offset, 34);
    EXPECT_EQ(r.ipsec_offset, 0);
    EXPECT_EQ(r.spi, 0u);
}

TEST(RxParserUdp, NatKeepaliveIsUdpNonEsp) {
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, {0xFF})))).kind, L4Kind::UdpNonEsp);
}

TEST(RxParserUdp, PayloadTooShortForEspIsUdpNonEsp) {
    for (const Bytes& payload : {Bytes{}, Bytes{0x01}, Bytes{0xFF, 0xFF}, filler(7)}) {
        const ParseResult r = parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, payload))));
        EXPECT_EQ(r.kind, L4Kind::UdpNonEsp) << payload.size();
    }
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq, 0))))).kind,
              L4Kind::UdpEsp);
}

TEST(RxParserUdp, OtherPortsAreNotIpsec) {
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(500, 500, filler(40))))).kind, L4Kind::NotIpsec);
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 500, esp(kSpi, kSeq))))).kind,
              L4Kind::NotIpsec);
    EXPECT_EQ(parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4501, esp(kSpi, kSeq))))).kind,
              L4Kind::NotIpsec);
}

TEST(RxParserUdp, UdpLengthIsChecked) {
    const ParseResult short_header = parse(ethernet(kEthIpv4, ipv4(kProtoUdp, Bytes{0x11, 0x94, 0x11})));
    expect_malformed(short_header);
    EXPECT_STREQ(short_header.error, "truncated UDP header");

    const ParseResult below = parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq), 7))));
    expect_malformed(below);
    EXPECT_STREQ(below.error, "UDP length below its header");

    const ParseResult beyond =
        parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq, 32), 8 + 41))));
    expect_malformed(beyond);
    EXPECT_STREQ(beyond.error, "UDP length beyond the IP payload");
}

TEST(RxParserUdp, UdpLengthBoundsThePayload) {
    // A keepalive followed by bytes the UDP length does not cover is still a keepalive.
    const ParseResult r =
        parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, Bytes{0xFF} + filler(12), 9))));
    EXPECT_EQ(r.kind, L4Kind::UdpNonEsp);
}

TEST(RxParserUdp, Ipv6EspInUdp) {
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq)))));
    EXPECT_EQ(r.kind, L4Kind::UdpEsp);
    EXPECT_EQ(r.ip_version, 6);
    EXPECT_EQ(r.udp_offset, 54);
    EXPECT_EQ(r.ipsec_offset, 62);
    EXPECT_EQ(r.next_header_offset, 20);
    EXPECT_EQ(r.spi, kSpi);
    EXPECT_EQ(parse(ethernet(kEthIpv6, ipv6(kProtoUdp, udp(4500, 4500, be32(0) + filler(8))))).kind,
              L4Kind::UdpNonEsp);
}

TEST(RxParserUdp, FirstFragmentOfEspInUdpIsClassified) {
    Ipv4Shape shape;
    shape.fragment_field = 0x2000;
    // UDP length covers the whole datagram; only the first 24 bytes of its payload are in this fragment.
    const ParseResult r =
        parse(ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq, 16), 8 + 300), shape)));
    EXPECT_EQ(r.kind, L4Kind::UdpEsp);
    EXPECT_TRUE(r.fragment);
    EXPECT_EQ(r.spi, kSpi);
}

// ---- IPv6 -----------------------------------------------------------------------------------------------

TEST(RxParserIpv6, PlainEsp) {
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kProtoEsp, esp(kSpi, kSeq))));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_EQ(r.ip_version, 6);
    EXPECT_EQ(r.l3_offset, 14);
    EXPECT_EQ(r.l3_length, 40u + 40u);
    EXPECT_EQ(r.ipsec_offset, 54);
    EXPECT_EQ(r.next_header_offset, 14 + 6);
    EXPECT_FALSE(r.ipv6_extension_headers);
    EXPECT_FALSE(r.fragment);
    EXPECT_EQ(r.spi, kSpi);
    EXPECT_EQ(r.seq, kSeq);
    EXPECT_EQ(r.src, v6(kSrc6));
    EXPECT_EQ(r.dst, v6(kDst6));
}

TEST(RxParserIpv6, HopByHopRoutingDestinationOptionsBeforeEsp) {
    const Bytes headers = ipv6_options_header(kNextRouting, 8) + ipv6_options_header(kNextDestOptions, 24) +
                          ipv6_options_header(kProtoEsp, 16);
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kNextHopByHop, headers + esp(kSpi, kSeq)), {kTpid8021q}));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_TRUE(r.ipv6_extension_headers);
    EXPECT_EQ(r.l3_offset, 18);
    EXPECT_EQ(r.ipsec_offset, 18 + 40 + 48);
    EXPECT_EQ(r.next_header_offset, 18 + 40 + 32);  // first byte of the destination options header
    EXPECT_EQ(r.l3_length, 40u + 48u + 40u);
    EXPECT_EQ(r.spi, kSpi);
}

TEST(RxParserIpv6, HopByHopOnlyRightAfterTheIpv6Header) {
    const Bytes headers = ipv6_options_header(kNextHopByHop) + ipv6_options_header(kProtoEsp);
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kNextDestOptions, headers + esp(kSpi, kSeq))));
    EXPECT_EQ(r.kind, L4Kind::NotIpsec);
    EXPECT_TRUE(r.ipv6_extension_headers);
}

TEST(RxParserIpv6, FirstFragmentIsClassifiedAndFlagged) {
    const ParseResult r =
        parse(ethernet(kEthIpv6, ipv6(kNextFragment, ipv6_fragment_header(kProtoEsp, 0, true) + esp(kSpi, kSeq))));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_TRUE(r.fragment);
    EXPECT_TRUE(r.ipv6_extension_headers);
    EXPECT_EQ(r.ipsec_offset, 14 + 40 + 8);
    EXPECT_EQ(r.next_header_offset, 14 + 40);
}

TEST(RxParserIpv6, LaterFragmentStopsTheWalk) {
    for (bool more : {true, false}) {
        const ParseResult r = parse(
            ethernet(kEthIpv6, ipv6(kNextFragment, ipv6_fragment_header(kProtoEsp, 185, more) + esp(kSpi, kSeq))));
        EXPECT_EQ(r.kind, L4Kind::NotIpsec);
        EXPECT_TRUE(r.fragment);
        EXPECT_EQ(r.spi, 0u);
    }
}

TEST(RxParserIpv6, AtomicFragmentIsAWholePacket) {
    const ParseResult r =
        parse(ethernet(kEthIpv6, ipv6(kNextFragment, ipv6_fragment_header(kProtoEsp, 0, false) + esp(kSpi, kSeq))));
    EXPECT_EQ(r.kind, L4Kind::Esp);
    EXPECT_FALSE(r.fragment);
    EXPECT_TRUE(r.ipv6_extension_headers);
}

TEST(RxParserIpv6, FirstFragmentEndingInsideAnExtensionHeaderIsNotIpsec) {
    Bytes dest_options = ipv6_options_header(kProtoEsp, 24);
    dest_options.resize(8);
    const ParseResult r = parse(ethernet(
        kEthIpv6, ipv6(kNextFragment, ipv6_fragment_header(kNextDestOptions, 0, true) + dest_options)));
    EXPECT_EQ(r.kind, L4Kind::NotIpsec);
    EXPECT_TRUE(r.fragment);
}

TEST(RxParserIpv6, AhThenDestinationOptionsThenEspStopsAtAh) {
    const Bytes inner = ah(kNextDestOptions, 0xAAAA0001, 9, 16) + ipv6_options_header(kProtoEsp) + esp(kSpi, 9);
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kProtoAh, inner)));
    EXPECT_EQ(r.kind, L4Kind::Ah);
    EXPECT_FALSE(r.ipv6_extension_headers);  // the destination options come after the AH
    EXPECT_EQ(r.ipsec_proto, kIpProtoAh);
    EXPECT_EQ(r.ipsec_offset, 54);
    EXPECT_EQ(r.next_header_offset, 20);
    EXPECT_EQ(r.spi, 0xAAAA0001u);
    EXPECT_EQ(r.seq, 9u);
}

TEST(RxParserIpv6, DestinationOptionsBeforeAh) {
    const ParseResult r =
        parse(ethernet(kEthIpv6, ipv6(kNextDestOptions, ipv6_options_header(kProtoAh) + ah(6, kSpi, kSeq, 20))));
    EXPECT_EQ(r.kind, L4Kind::Ah);
    EXPECT_TRUE(r.ipv6_extension_headers);
    EXPECT_EQ(r.ipsec_offset, 14 + 40 + 8);
    EXPECT_EQ(r.next_header_offset, 14 + 40);
}

TEST(RxParserIpv6, Ipv6AhLengthProblemsFlagSyntaxWhileTheSpiIsReadable) {
    Bytes too_long = ah(kProtoEsp, kSpi, kSeq, 16);
    too_long[1] = 9;
    const ParseResult beyond = parse(ethernet(kEthIpv6, ipv6(kProtoAh, too_long)));
    EXPECT_EQ(beyond.kind, L4Kind::Ah);
    EXPECT_STREQ(beyond.syntax_error, "AH length beyond the IP payload");
    const ParseResult cut = parse(ethernet(kEthIpv6, ipv6(kProtoAh, Bytes(8, 1))));
    EXPECT_EQ(cut.kind, L4Kind::Ah);
    EXPECT_STREQ(cut.syntax_error, "IP datagram ends inside the AH header");
    expect_malformed(parse(ethernet(kEthIpv6, ipv6(kProtoAh, Bytes(7, 1)))));
}

TEST(RxParserIpv6, OtherNextHeadersAreNotIpsec) {
    for (uint8_t next : {kProtoTcp, kNextNone, uint8_t(58), uint8_t(135)}) {
        const ParseResult r = parse(ethernet(kEthIpv6, ipv6(next, filler(40))));
        EXPECT_EQ(r.kind, L4Kind::NotIpsec) << int(next);
        EXPECT_FALSE(r.ipv6_extension_headers);
    }
    const ParseResult after_ext =
        parse(ethernet(kEthIpv6, ipv6(kNextHopByHop, ipv6_options_header(kProtoTcp) + filler(20))));
    EXPECT_EQ(after_ext.kind, L4Kind::NotIpsec);
    EXPECT_TRUE(after_ext.ipv6_extension_headers);
}

TEST(RxParserIpv6, JumbogramIsMalformed) {
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kNextHopByHop, ipv6_options_header(kProtoEsp) + esp(kSpi, 1), 0)));
    expect_malformed(r);
    EXPECT_STREQ(r.error, "IPv6 payload length 0 (jumbogram) not supported");
}

TEST(RxParserIpv6, PayloadLengthLargerThanFrameIsMalformed) {
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kProtoEsp, esp(kSpi, kSeq), 41)));
    expect_malformed(r);
    EXPECT_STREQ(r.error, "IPv6 payload length beyond the buffer");
}

TEST(RxParserIpv6, TruncatedHeaderIsMalformed) {
    const Bytes frame = ethernet(kEthIpv6, ipv6(kProtoEsp, esp(kSpi, kSeq)));
    const ParseResult r = parse_frame(frame.data(), 14 + 39);
    expect_malformed(r);
    EXPECT_STREQ(r.error, "truncated IPv6 header");
}

TEST(RxParserIpv6, ExtensionHeaderMalformedReasons) {
    Bytes long_header = ipv6_options_header(kProtoEsp, 8);
    long_header[1] = 5;  // 48 bytes announced
    const ParseResult beyond = parse(ethernet(kEthIpv6, ipv6(kNextRouting, long_header + esp(kSpi, kSeq, 8))));
    expect_malformed(beyond);
    EXPECT_STREQ(beyond.error, "IPv6 extension header length beyond the payload");

    const ParseResult one_byte = parse(ethernet(kEthIpv6, ipv6(kNextDestOptions, Bytes{kProtoEsp})));
    expect_malformed(one_byte);
    EXPECT_STREQ(one_byte.error, "truncated IPv6 extension header");

    const ParseResult short_fragment = parse(ethernet(kEthIpv6, ipv6(kNextFragment, Bytes(7, 0))));
    expect_malformed(short_fragment);
    EXPECT_STREQ(short_fragment.error, "truncated IPv6 fragment header");
}

TEST(RxParserIpv6, LongChainOfDestinationOptionsEnds) {
    Bytes chain;
    for (int i = 0; i < 1000; ++i) chain = chain + ipv6_options_header(kNextDestOptions);
    const ParseResult r = parse(ethernet(kEthIpv6, ipv6(kNextDestOptions, chain)));
    expect_malformed(r);  // the last header names another one that is not there
    chain = chain + ipv6_options_header(kProtoEsp) + esp(kSpi, kSeq);
    const ParseResult esp_at_end = parse(ethernet(kEthIpv6, ipv6(kNextDestOptions, chain)));
    EXPECT_EQ(esp_at_end.kind, L4Kind::Esp);
    EXPECT_EQ(esp_at_end.ipsec_offset, 14 + 40 + 8008);
}

// ---- truncation sweeps and byte corruption: never a crash, never an offset outside the buffer ----------

// Whatever the input, a result is either Malformed (with a reason) or points only inside the buffer.
void expect_inside(const ParseResult& r, size_t len) {
    if (r.kind == L4Kind::Malformed) {
        EXPECT_NE(r.error, nullptr);
        return;
    }
    EXPECT_EQ(r.error, nullptr);
    if (r.kind == L4Kind::NotIp) return;
    EXPECT_LE(r.l3_offset + size_t{r.l3_length}, len);
    // With a syntax error only the SPI is known to be inside; otherwise the whole fixed header is.
    if (r.kind == L4Kind::Esp || r.kind == L4Kind::UdpEsp) {
        EXPECT_LE(r.ipsec_offset + (r.syntax_error ? 4u : 8u), len);
    }
    if (r.kind == L4Kind::Ah) {
        EXPECT_LE(r.ipsec_offset + (r.syntax_error ? 8u : 12u), len);
    }
    if (r.kind == L4Kind::UdpEsp || r.kind == L4Kind::UdpNonEsp) {
        EXPECT_LE(r.udp_offset + 8u, len);
    }
    if (r.kind != L4Kind::NotIpsec) {
        EXPECT_LT(r.next_header_offset, r.udp_offset != 0 ? r.udp_offset : r.ipsec_offset);
        EXPECT_GE(r.next_header_offset, r.l3_offset);
    }
}

struct NamedFrame {
    const char* name;
    Bytes frame;
    L4Kind kind;
};

std::vector<NamedFrame> valid_frames() {
    const Bytes v6_headers = ipv6_options_header(kNextRouting) + ipv6_options_header(kNextFragment) +
                             ipv6_fragment_header(kNextDestOptions, 0, false) + ipv6_options_header(kProtoEsp);
    Ipv4Shape options;
    options.options = {1, 1, 1, 0};
    return {
        {"ipv4 esp", ipv4_esp_frame(), L4Kind::Esp},
        {"ipv4 esp qinq", ipv4_esp_frame({kTpid8021ad, kTpid8021q}), L4Kind::Esp},
        {"ipv4 options esp", ethernet(kEthIpv4, ipv4(kProtoEsp, esp(kSpi, kSeq), options)), L4Kind::Esp},
        {"ipv4 ah esp", ethernet(kEthIpv4, ipv4(kProtoAh, ah(kProtoEsp, kSpi, kSeq) + esp(kSpi, kSeq))), L4Kind::Ah},
        {"ipv4 udp esp", ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq)))), L4Kind::UdpEsp},
        {"ipv4 udp keepalive", ethernet(kEthIpv4, ipv4(kProtoUdp, udp(4500, 4500, {0xFF}))), L4Kind::UdpNonEsp},
        {"ipv6 ext esp", ethernet(kEthIpv6, ipv6(kNextHopByHop, v6_headers + esp(kSpi, kSeq)), {kTpid8021q}),
         L4Kind::Esp},
        {"ipv6 ah", ethernet(kEthIpv6, ipv6(kProtoAh, ah(kProtoEsp, kSpi, kSeq, 20) + esp(kSpi, kSeq))), L4Kind::Ah},
        {"ipv6 udp esp", ethernet(kEthIpv6, ipv6(kProtoUdp, udp(4500, 4500, esp(kSpi, kSeq)))), L4Kind::UdpEsp},
    };
}

TEST(RxParserTruncation, EveryPrefixOfAValidFrameIsMalformed) {
    for (const NamedFrame& f : valid_frames()) {
        SCOPED_TRACE(f.name);
        ASSERT_EQ(parse(f.frame).kind, f.kind);
        for (size_t len = 0; len < f.frame.size(); ++len) {
            const Bytes prefix(f.frame.begin(), f.frame.begin() + len);  // exact size: ASan sees over-reads
            const ParseResult r = parse_frame(prefix.data(), prefix.size());
            EXPECT_EQ(r.kind, L4Kind::Malformed) << "prefix " << len;
            expect_inside(r, len);
        }
    }
}

TEST(RxParserTruncation, PrefixesOfAnIpBufferViaParseIp) {
    for (const NamedFrame& f : valid_frames()) {
        SCOPED_TRACE(f.name);
        const ParseResult whole = parse(f.frame);
        for (size_t len = 0; len <= f.frame.size(); ++len) {
            const Bytes prefix(f.frame.begin(), f.frame.begin() + len);
            const ParseResult r = parse_ip(prefix.data(), prefix.size(), whole.l3_offset);
            expect_inside(r, len);
            if (len < f.frame.size()) {
                EXPECT_EQ(r.kind, L4Kind::Malformed) << "prefix " << len;
            }
        }
    }
}

TEST(RxParserTruncation, CorruptingAnyByteKeepsResultsInside) {
    for (const NamedFrame& f : valid_frames()) {
        SCOPED_TRACE(f.name);
        for (size_t pos = 0; pos < f.frame.size(); ++pos) {
            for (uint8_t value : {uint8_t(0x00), uint8_t(0xFF), uint8_t(f.frame[pos] ^ 0x80), uint8_t(0x2C),
                                  uint8_t(0x3C), uint8_t(0x33), uint8_t(0x32), uint8_t(0x11)}) {
                Bytes corrupted = f.frame;
                corrupted[pos] = value;
                expect_inside(parse(corrupted), corrupted.size());
            }
        }
    }
}

}  // namespace
}  // namespace ov2
