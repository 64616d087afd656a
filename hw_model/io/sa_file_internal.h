// Shared by the two SA file readers (sa_file_json.cpp, sa_file_iproute2.cpp); not part of the API.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "input_error.h"
#include "ov2_types.h"

namespace ov2::sa_detail {

// A place in the input: "sa.json:12" plus the field ("/sas/0/spi", "spi").
struct FieldRef {
    std::string where;
    std::string field;
};

// Where each SA came from, for the checks that compare SAs with each other.
struct SaOrigin {
    FieldRef name;
    FieldRef pair;
    std::array<FieldRef, 2> spi;
};

[[noreturn]] inline void fail(const FieldRef& at, const std::string& problem, const std::string& expected) {
    throw InputError(at.where, at.field, problem, expected);
}

// User text a message may quote: short text as 'text'; long or key-like text (12+ hex digits) is described,
// not shown, so a key typed into the wrong field never reaches a message.
std::string quote(std::string_view text);
// A JSON key in a field name or pointer: as is, unless quote() would not show it; then described, in ( ).
std::string key_text(const std::string& key);

// Hex key text ("0x" optional) into bytes. On failure returns false and says why, without the text itself.
bool parse_hex(std::string_view text, std::vector<uint8_t>& out, std::string& problem);

std::string hex32(uint32_t value);                    // "0x00001234"
std::string number_text(uint64_t value);              // decimal; "a 17-digit number" when it could be a key (12+)
std::string join_or(const std::vector<std::string>& items);  // "a, b or c"
const char* operation_name(IpsecOperation op);        // "esp" / "ah"

// Checks across the SAs of one file: unique names, pair names that exist and point the other way,
// and no two inbound SAs with the same (spi, dst, operation).
void check_across(const std::vector<AddSa>& sas, const std::vector<SaOrigin>& origins);

std::vector<AddSa> parse_json(const std::string& text, const std::string& file);
std::vector<AddSa> parse_iproute2(const std::string& text, const std::string& file);

}  // namespace ov2::sa_detail
