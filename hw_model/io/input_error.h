// The one exception type of ov2sim's input layer (SA files, pcaps). Its what() is a single line:
//   WHERE: FIELD: PROBLEM; expected EXPECTED
// WHERE is FILE:LINE (text, JSON) or FILE (pcap), FIELD names what was read (a JSON pointer, an ip-xfrm
// keyword, "record 7"). Messages never carry key material: callers pass lengths and positions, not values.
#pragma once

#include <stdexcept>
#include <string>

namespace ov2 {

class InputError : public std::runtime_error {
public:
    InputError(const std::string& where, const std::string& field, const std::string& problem,
               const std::string& expected)
        : std::runtime_error(render(where, field, problem, expected)) {}

private:
    static std::string one_line(const std::string& text) {
        std::string out;
        out.reserve(text.size());
        for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
        return out;
    }
    static std::string render(const std::string& where, const std::string& field, const std::string& problem,
                              const std::string& expected) {
        std::string line = one_line(where) + ": ";
        if (!field.empty()) line += one_line(field) + ": ";
        line += one_line(problem);
        if (!expected.empty()) line += "; expected " + one_line(expected);
        return line;
    }
};

}  // namespace ov2
