#include "parser_record.h"

#include <cstring>

namespace ov2 {

namespace {

// parse_frame's texts (hw_model/rx_parser.cpp) by the RTL's code; index 0 = none.
constexpr std::array<const char*, 22> kErrorTexts = {
    nullptr,
    "buffer longer than 65535 bytes",
    "frame shorter than the Ethernet header",
    "frame shorter than its VLAN tags",
    "no IP header in the buffer",
    "IP version does not match the ethertype",
    "IP version neither 4 nor 6",
    "truncated IPv4 header",
    "IPv4 IHL below 5",
    "IPv4 total length shorter than its header",
    "IPv4 total length beyond the buffer",
    "truncated IPv6 header",
    "IPv6 payload length 0 (jumbogram) not supported",
    "IPv6 payload length beyond the buffer",
    "truncated IPv6 extension header",
    "IPv6 extension header length beyond the payload",
    "truncated IPv6 fragment header",
    "truncated ESP header",
    "truncated AH header",
    "truncated UDP header",
    "UDP length below its header",
    "UDP length beyond the IP payload",
};
constexpr std::array<const char*, 5> kSyntaxTexts = {
    nullptr,
    "IP datagram ends inside the ESP header",
    "IP datagram ends inside the AH header",
    "AH payload length below its fixed header",
    "AH length beyond the IP payload",
};
constexpr const char* kUnknownCode = "error code the model does not have (RTL)";

template <size_t N>
uint32_t code_in(const std::array<const char*, N>& texts, const char* text) {
    for (size_t i = 1; i < N; ++i)
        if (std::strcmp(texts[i], text) == 0) return uint32_t(i);
    return 0;
}

template <size_t N>
const char* text_of(const std::array<const char*, N>& texts, uint32_t code) {
    return code < N ? texts[code] : kUnknownCode;
}

size_t field_first_word(size_t f) {
    return f < kParserRecordScalars ? f : kParserRecordScalars + 4 * (f - kParserRecordScalars);
}
size_t field_words(size_t f) { return f < kParserRecordScalars ? 1 : 4; }

void put_address(ParserRecord& x, size_t first_word, const IpAddr& a) {
    for (size_t i = 0; i < 16; ++i) x[first_word + i / 4] |= uint32_t(a.bytes[i]) << (8 * (i % 4));
}

IpAddr address_of(const ParserRecord& x, size_t first_word, uint8_t version) {
    IpAddr a;
    a.version = version;
    for (size_t i = 0; i < 16; ++i) a.bytes[i] = uint8_t(x[first_word + i / 4] >> (8 * (i % 4)));
    return a;
}

}  // namespace

uint32_t parser_error_code(const char* text) {
    if (text == nullptr) return 0;
    if (const uint32_t c = code_in(kErrorTexts, text)) return c;
    if (const uint32_t c = code_in(kSyntaxTexts, text)) return c;
    return 0xFFFF;  // a string the RTL does not know: always a mismatch
}

ParserRecord parser_record_of(const ParseResult& r) {
    const bool bad = r.kind == L4Kind::Malformed;
    ParserRecord x = {uint32_t(r.kind), parser_error_code(r.error), r.vlan_tags, r.ip_version, r.l3_offset,
                      bad ? 0 : parser_error_code(r.syntax_error), !bad && r.ipv4_options,
                      !bad && r.ipv6_extension_headers, !bad && r.fragment, bad ? 0 : r.l3_length,
                      bad ? 0u : r.udp_offset, bad ? 0u : r.ipsec_offset, bad ? 0u : r.ipsec_proto,
                      bad ? 0u : r.next_header_offset, bad ? 0 : r.spi, bad ? 0 : r.seq,
                      !bad && r.dst.version != 0, bad ? 0u : r.src.version};
    if (!bad) {
        put_address(x, kParserRecordScalars, r.src);
        put_address(x, kParserRecordScalars + 4, r.dst);
    }
    return x;
}

ParseResult parse_result_of(const ParserRecord& x) {
    ParseResult r;
    r.kind = L4Kind(x[0]);
    r.error = text_of(kErrorTexts, x[1]);
    r.vlan_tags = uint8_t(x[2]);
    r.ip_version = uint8_t(x[3]);
    r.l3_offset = uint16_t(x[4]);
    r.syntax_error = text_of(kSyntaxTexts, x[5]);
    r.ipv4_options = x[6];
    r.ipv6_extension_headers = x[7];
    r.fragment = x[8];
    r.l3_length = x[9];
    r.udp_offset = uint16_t(x[10]);
    r.ipsec_offset = uint16_t(x[11]);
    r.ipsec_proto = uint8_t(x[12]);
    r.next_header_offset = uint16_t(x[13]);
    r.spi = x[14];
    r.seq = x[15];
    const uint8_t version = x[16] ? uint8_t(x[17]) : 0;
    r.src = address_of(x, kParserRecordScalars, version);
    r.dst = address_of(x, kParserRecordScalars + 4, version);
    return r;
}

std::vector<uint32_t> parser_record_field(const ParserRecord& rec, size_t f) {
    const auto first = rec.begin() + std::ptrdiff_t(field_first_word(f));
    return std::vector<uint32_t>(first, first + std::ptrdiff_t(field_words(f)));
}

int first_field_difference(const ParserRecord& want, const ParserRecord& got) {
    if (want == got) return -1;
    for (size_t f = 0; f < kParserRecordFields.size(); ++f)
        if (parser_record_field(want, f) != parser_record_field(got, f)) return int(f);
    return -1;
}

}  // namespace ov2
