// Receive parser on the 80 Ethernet frames of shared/vectors/published: kind, SPI and IP version must agree
// with the JSON case that names the frame through `pcap_index`.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rx_parser.h"

namespace ov2 {
namespace {

using Bytes = std::vector<uint8_t>;

const std::string kVectorDir = std::string(OV2_SHARED_DIR) + "/vectors/published/";

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t load32(const uint8_t* p, bool swapped) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

// Classic libpcap file format: 24-byte global header, then 16-byte record headers, each followed by the frame.
std::vector<Bytes> read_pcap(const std::string& path) {
    const Bytes file = read_file(path);
    if (file.size() < 24) return {};
    const uint32_t magic = load32(file.data(), false);
    const bool swapped = magic == 0xD4C3B2A1 || magic == 0x4D3CB2A1;
    if (!swapped && magic != 0xA1B2C3D4 && magic != 0xA1B23C4D) return {};
    std::vector<Bytes> frames;
    size_t pos = 24;
    while (pos + 16 <= file.size()) {
        const size_t captured = load32(file.data() + pos + 8, swapped);
        pos += 16;
        if (captured > file.size() - pos) break;
        frames.emplace_back(file.begin() + pos, file.begin() + pos + captured);
        pos += captured;
    }
    return frames;
}

// These two ODP negatives describe the SA that is installed; the packet carries the other protocol
// (ESP packet against an AH SA and the reverse), see their `note`.
std::string packet_protocol(const nlohmann::json& c) {
    const std::string protocol = c.at("protocol");
    const std::string name = c.at("name");
    if (name == "odp_test_in_ipv4_ah_esp_pkt_lookup") return "esp";
    if (name == "odp_test_in_ipv4_esp_ah_pkt_lookup") return "ah";
    return protocol;
}

L4Kind expected_kind(const nlohmann::json& c) {
    if (c.value("udp_encap", false)) return L4Kind::UdpEsp;
    return packet_protocol(c) == "ah" ? L4Kind::Ah : L4Kind::Esp;
}

TEST(RxParserPublished, PcapFramesMatchTheirJsonCases) {
    const std::vector<Bytes> frames = read_pcap(kVectorDir + "published_vectors.pcap");
    ASSERT_EQ(frames.size(), 80u);
    std::ifstream json_file(kVectorDir + "published_vectors.json");
    ASSERT_TRUE(json_file.good());
    const nlohmann::json vectors = nlohmann::json::parse(json_file);

    std::map<size_t, bool> seen;
    for (const nlohmann::json& c : vectors.at("cases")) {
        if (!c.contains("pcap_index")) continue;
        const size_t index = c.at("pcap_index");
        ASSERT_LT(index, frames.size());
        seen[index] = true;
        const std::string name = c.at("name");
        SCOPED_TRACE(name + " (pcap " + std::to_string(index) + ")");
        const Bytes& frame = frames[index];
        const ParseResult r = parse_frame(frame.data(), frame.size());

        EXPECT_EQ(r.kind, expected_kind(c)) << l4_kind_name(r.kind) << " " << (r.error ? r.error : "");
        EXPECT_EQ(r.spi, c.at("spi").get<uint32_t>());
        EXPECT_EQ(r.ip_version, c.at("ip_version").get<int>());
        if (c.contains("seq") && c.at("seq").is_number()) {
            EXPECT_EQ(r.seq, c.at("seq").get<uint64_t>() & 0xFFFFFFFFu);
        }
        EXPECT_EQ(r.ipsec_proto, packet_protocol(c) == "ah" ? kIpProtoAh : kIpProtoEsp);
        EXPECT_FALSE(r.fragment);
        EXPECT_EQ(size_t{r.l3_offset} + r.l3_length, frame.size());  // no Ethernet padding in this file
    }
    EXPECT_EQ(seen.size(), 80u);
}

}  // namespace
}  // namespace ov2
