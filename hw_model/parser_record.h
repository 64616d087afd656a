// The RTL parser's result record (rtl/rx_parser.sv, r_* pins; docs/rtl.md) and ParseResult, one to the
// other. Shared by the `--rtl parser` bridge (hw_model/rx2parser_bridge.h), which turns the RTL's record
// into the ParseResult the pipeline uses, and the lockstep bench (tb/rx_parser/test_rx_parser_rtl.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ov2_types.h"

namespace ov2 {

// The record as 26 words: 18 one-word fields, then src and dst (4 words each, byte i of the address at
// bits 8 * (i % 4) of word i / 4). On Malformed only the first five fields mean anything
// (docs/rx_parser.md): the RTL drives the rest as 0, and parser_record_of(ParseResult) reads them as 0.
constexpr size_t kParserRecordScalars = 18;
using ParserRecord = std::array<uint32_t, kParserRecordScalars + 8>;
// Field names for reports: the 18 scalars ("src.version" = the addresses' IpAddr::version), then r_src, r_dst.
constexpr std::array<const char*, kParserRecordScalars + 2> kParserRecordFields = {
    "r_kind", "r_error", "r_vlan_tags", "r_ip_version", "r_l3_offset", "r_syntax_error", "r_ipv4_options",
    "r_ipv6_ext", "r_fragment", "r_l3_length", "r_udp_offset", "r_ipsec_offset", "r_ipsec_proto",
    "r_next_header_offset", "r_spi", "r_seq", "r_addr_set", "src.version", "r_src", "r_dst"};

// The RTL's code for one of parse_frame's static error strings (r_error for `error`, r_syntax_error for
// `syntax_error`; docs/rtl.md lists them): 0 for none, 0xFFFF for a string the RTL does not know.
uint32_t parser_error_code(const char* text);

ParserRecord parser_record_of(const ParseResult& r);
// What the pipeline gets from the RTL: every field of the record; the error strings are the model's texts
// for the codes. header_steps is not a pin (the walk's length is the timing model's): it stays 0.
ParseResult parse_result_of(const ParserRecord& rec);

// Words of field f of kParserRecordFields, and the first field where two records differ (-1: none).
std::vector<uint32_t> parser_record_field(const ParserRecord& rec, size_t f);
int first_field_difference(const ParserRecord& want, const ParserRecord& got);

// The record on a Verilated rx_parser's r_* pins.
template <typename Model>
ParserRecord parser_record_of_pins(const Model& m) {
    ParserRecord x = {m.r_kind, m.r_error, m.r_vlan_tags, m.r_ip_version, m.r_l3_offset, m.r_syntax_error,
                      m.r_ipv4_options, m.r_ipv6_ext, m.r_fragment, m.r_l3_length, m.r_udp_offset,
                      m.r_ipsec_offset, m.r_ipsec_proto, m.r_next_header_offset, m.r_spi, m.r_seq, m.r_addr_set,
                      // IpAddr::v4/v6 set the version together with the bytes
                      m.r_addr_set ? uint32_t(m.r_ip_version) : 0u};
    for (size_t w = 0; w < 4; ++w) {
        x[kParserRecordScalars + w] = m.r_src[w];
        x[kParserRecordScalars + 4 + w] = m.r_dst[w];
    }
    return x;
}

}  // namespace ov2
