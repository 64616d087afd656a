#include "text_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "input_error.h"

namespace ov2 {

using nlohmann::json;

std::string read_text_file(const std::string& path, const std::string& a_noun, const std::string& noun) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) throw InputError(path, "", "cannot open: no such file", "an existing " + noun);
    if (fs::is_directory(st)) throw InputError(path, "", "cannot open: it is a directory", a_noun);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "", "cannot open: permission denied or unreadable", "a readable " + noun);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw InputError(path, "", "read error", "a readable " + noun);
    return text.str();
}

namespace {

bool is_token_name(const std::string& s) {
    static const std::set<std::string> names = {"<uninitialized>", "true literal", "false literal", "null literal",
                                                "string literal", "number literal", "'['", "'{'", "']'", "'}'",
                                                "':'", "','", "<parse error>", "end of input",
                                                "'[', '{', or a literal", "unknown token"};
    return names.count(s) != 0;
}

// LINE:COLUMN of the byte nlohmann stopped at (its own count puts an unescaped newline on the next line).
std::string position_of(const std::string& text, size_t byte) {
    const size_t p = byte ? std::min(byte - 1, text.size()) : 0;
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(p), '\n'));
    const size_t newline = p ? text.rfind('\n', p - 1) : std::string::npos;
    const size_t column = newline == std::string::npos ? p + 1 : p - newline;
    return std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message minus its "last read: '...'" part, which quotes the input (a key, possibly).
[[noreturn]] void throw_syntax_error(const json::parse_error& e, const std::string& text, const std::string& file) {
    const std::string what = e.what();
    const size_t at = what.find(" at line ");
    const size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
    std::string body = colon == std::string::npos ? "invalid JSON" : what.substr(colon + 2);
    std::string expected;
    const size_t last_read = body.find("; last read: '");
    if (last_read != std::string::npos) {
        const size_t ex = body.rfind("; expected ");
        if (ex != std::string::npos && ex > last_read && is_token_name(body.substr(ex + 11)))
            expected = body.substr(ex + 11);
        body.resize(last_read);
    }
    const size_t ex = body.find("; expected ");
    if (ex != std::string::npos) {
        expected = body.substr(ex + 11);
        body.resize(ex);
    }
    if (expected.empty()) expected = "valid JSON (RFC 8259)";
    throw InputError(file + ":" + position_of(text, e.byte), "JSON", body, expected);
}

// 406: a number literal beyond a double ("1e999"). nlohmann names the literal, not its position: find it
// for the line, and never quote it.
[[noreturn]] void throw_range_error(const json::out_of_range& e, const std::string& text, const std::string& file) {
    const std::string what = e.what();
    const size_t open = what.find('\'');
    const size_t close = open == std::string::npos ? open : what.find('\'', open + 1);
    size_t at = close == std::string::npos ? std::string::npos : text.find(what.substr(open + 1, close - open - 1));
    if (at == std::string::npos) at = 0;
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
    throw InputError(file + ":" + std::to_string(line), "JSON", "number out of range", "a number that fits a double");
}

}  // namespace

json parse_json_text(const std::string& text, const std::string& file) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw_syntax_error(e, text, file);
    } catch (const json::out_of_range& e) {
        throw_range_error(e, text, file);
    }
}

}  // namespace ov2
