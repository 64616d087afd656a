#include "sa_test_util.h"

#include <cctype>

namespace ov2::test {

std::vector<uint8_t> bytes(const std::string& hex) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

bool has_key_like_run(const std::string& message) {
    size_t run = 0;
    for (char c : message) {
        run = std::isxdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
        if (run >= 16) return true;
    }
    return false;
}

std::string error_of(const std::string& text, const std::string& name) {
    try {
        load_sa_text(text, name);
    } catch (const InputError& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        EXPECT_FALSE(has_key_like_run(message)) << message;
        return message;
    }
    ADD_FAILURE() << "loaded without an error:\n" << text;
    return "";
}

}  // namespace ov2::test
