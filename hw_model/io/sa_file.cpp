#include "sa_file.h"

#include <cstdio>
#include <map>
#include <tuple>

#include "sa_file_internal.h"
#include "text_file.h"

namespace ov2 {
namespace sa_detail {

namespace {

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

size_t longest_hex_run(std::string_view text) {
    size_t best = 0, run = 0;
    for (char c : text) {
        run = is_hex_digit(c) ? run + 1 : 0;
        best = std::max(best, run);
    }
    return best;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

}  // namespace

std::string quote(std::string_view text) {
    constexpr size_t kKeyLikeHexRun = 12;  // a 6-byte fragment; SPIs (8 digits) still show
    constexpr size_t kLongest = 48;
    if (longest_hex_run(text) >= kKeyLikeHexRun)
        return "a " + std::to_string(text.size()) + "-character value (not shown: it looks like key material)";
    if (text.size() > kLongest) return "a " + std::to_string(text.size()) + "-character value";
    return "'" + std::string(text) + "'";
}

std::string key_text(const std::string& key) {
    const std::string q = quote(key);
    return q == "'" + key + "'" ? key : "(" + q + ")";
}

bool parse_hex(std::string_view text, std::vector<uint8_t>& out, std::string& problem) {
    out.clear();
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
    for (size_t i = 0; i < text.size(); ++i) {
        if (!is_hex_digit(text[i])) {
            problem = "not hexadecimal (character " + std::to_string(i + 1) + " of " + std::to_string(text.size()) +
                      ")";
            return false;
        }
    }
    if (text.size() % 2) {
        problem = "odd number of hex digits (" + std::to_string(text.size()) + ")";
        return false;
    }
    out.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2)
        out.push_back(static_cast<uint8_t>(hex_value(text[i]) << 4 | hex_value(text[i + 1])));
    return true;
}

std::string hex32(uint32_t value) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", value);
    return buf;
}

std::string number_text(uint64_t value) {
    const std::string digits = std::to_string(value);
    return digits.size() >= 12 ? "a " + std::to_string(digits.size()) + "-digit number" : digits;
}

std::string join_or(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += i + 1 == items.size() ? " or " : ", ";
        out += items[i];
    }
    return out;
}

const char* operation_name(IpsecOperation op) { return op == IpsecOperation::Ah ? "ah" : "esp"; }

namespace {

void check_unique_names(const std::vector<AddSa>& sas, const std::vector<SaOrigin>& origins) {
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < sas.size(); ++i) {
        auto [it, fresh] = seen.emplace(sas[i].name, i);
        if (!fresh)
            fail(origins[i].name, quote(sas[i].name) + " is also the name of the SA at " + origins[it->second].name.where,
                 "a unique name per SA");
    }
}

void check_pairs(const std::vector<AddSa>& sas, const std::vector<SaOrigin>& origins) {
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < sas.size(); ++i) by_name.emplace(sas[i].name, i);
    for (size_t i = 0; i < sas.size(); ++i) {
        if (sas[i].pair.empty()) continue;
        auto it = by_name.find(sas[i].pair);
        if (it == by_name.end())
            fail(origins[i].pair, "no SA is named " + quote(sas[i].pair), "the name of an SA in this file");
        if (sas[it->second].inbound() == sas[i].inbound())
            fail(origins[i].pair,
                 quote(sas[i].pair) + " is " + (sas[i].inbound() ? "inbound" : "outbound") + " too",
                 "an SA of the other direction");
    }
}

void check_unique_inbound(const std::vector<AddSa>& sas, const std::vector<SaOrigin>& origins) {
    using Key = std::tuple<IpsecOperation, uint32_t, uint8_t, std::array<uint8_t, 16>>;
    std::map<Key, std::pair<size_t, size_t>> seen;
    for (size_t i = 0; i < sas.size(); ++i) {
        if (!sas[i].inbound()) continue;
        for (size_t k = 0; k < sas[i].num_ext_hdrs && k < 2; ++k) {
            const SecurityAssociation& sa = sas[i].sec_assoc[k];
            const Key key{sa.operation, sa.spi, sas[i].dst.version, sas[i].dst.bytes};
            auto [it, fresh] = seen.emplace(key, std::make_pair(i, k));
            if (fresh) continue;
            const auto [j, kj] = it->second;
            fail(origins[i].spi[k],
                 std::string("inbound ") + operation_name(sa.operation) + " SPI " + hex32(sa.spi) + " to " +
                     sas[i].dst.str() + " of " + quote(sas[i].name) + " is also used by " + quote(sas[j].name) +
                     " (" + origins[j].spi[kj].where + ")",
                 "a unique (spi, dst, operation) among inbound SAs");
        }
    }
}

}  // namespace

void check_across(const std::vector<AddSa>& sas, const std::vector<SaOrigin>& origins) {
    check_unique_names(sas, origins);
    check_pairs(sas, origins);
    check_unique_inbound(sas, origins);
}

}  // namespace sa_detail

SaFileFormat detect_sa_format(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        return (c == '{' || c == '[') ? SaFileFormat::Json : SaFileFormat::Iproute2;
    }
    return SaFileFormat::Iproute2;
}

std::vector<AddSa> load_sa_text(const std::string& text, const std::string& name_for_errors) {
    if (detect_sa_format(text) == SaFileFormat::Json) return sa_detail::parse_json(text, name_for_errors);
    return sa_detail::parse_iproute2(text, name_for_errors);
}

std::vector<AddSa> load_sa_file(const std::string& path) {
    return load_sa_text(read_text_file(path, "an SA file", "SA file"), path);
}

}  // namespace ov2
