#include "vcd_reader.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace tracetest {

uint64_t VcdVar::at(uint64_t t) const {
    uint64_t v = 0;
    for (const auto& [time, value] : changes) {
        if (time > t) break;
        v = value;
    }
    return v;
}

std::vector<uint64_t> VcdVar::values() const {
    std::vector<uint64_t> out;
    for (const auto& c : changes)
        if (out.empty() || out.back() != c.second) out.push_back(c.second);
    return out;
}

const VcdVar& Vcd::var(const std::string& name) const {
    auto it = vars.find(name);
    if (it == vars.end()) throw std::runtime_error("VCD has no variable " + name);
    return it->second;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Vcd parse_vcd(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> tokens;
    for (std::string t; in >> t;) tokens.push_back(t);
    Vcd vcd;
    std::map<std::string, std::string> by_code;
    std::vector<std::string> scope;
    size_t i = 0;
    auto fail = [&](const std::string& why) {
        throw std::runtime_error("VCD token " + std::to_string(i) + " ('" + (i < tokens.size() ? tokens[i] : "EOF") +
                                 "'): " + why);
    };
    auto next = [&]() -> const std::string& {
        if (++i >= tokens.size()) fail("unexpected end");
        return tokens[i];
    };
    auto skip_to_end = [&](std::string* collect) {
        while (next() != "$end")
            if (collect) *collect += (collect->empty() ? "" : " ") + tokens[i];
    };
    // declarations
    for (; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        if (t == "$enddefinitions") {
            skip_to_end(nullptr);
            ++i;
            break;
        }
        if (t == "$timescale") skip_to_end(&vcd.timescale);
        else if (t == "$date" || t == "$version" || t == "$comment") skip_to_end(nullptr);
        else if (t == "$scope") {
            next();  // kind
            scope.push_back(next());
            if (next() != "$end") fail("$scope without $end");
        } else if (t == "$upscope") {
            if (scope.empty()) fail("$upscope at the top");
            scope.pop_back();
            if (next() != "$end") fail("$upscope without $end");
        } else if (t == "$var") {
            next();  // type
            VcdVar v;
            v.width = unsigned(std::stoul(next()));
            const std::string code = next();
            std::string name;
            for (const std::string& s : scope) name += s + ".";
            name += next();
            if (next() != "$end") {
                if (tokens[i].front() != '[') fail("expected a range or $end");
                if (next() != "$end") fail("$var without $end");
            }
            if (vcd.vars.count(name)) fail("variable declared twice: " + name);
            if (by_code.count(code)) fail("identifier declared twice: " + code);
            v.name = name;
            by_code[code] = name;
            vcd.order.push_back(name);
            vcd.vars[name] = v;
        } else {
            fail("unexpected declaration token");
        }
    }
    if (!scope.empty()) fail("unclosed $scope");
    // value changes
    bool have_time = false;
    uint64_t now = 0;
    auto record = [&](const std::string& code, uint64_t value) {
        auto it = by_code.find(code);
        if (it == by_code.end()) fail("value for an undeclared identifier");
        if (!have_time) fail("value before the first #time");
        VcdVar& v = vcd.vars[it->second];
        if (v.width < 64 && value >> v.width) fail("value wider than the variable");
        v.changes.emplace_back(now, value);
    };
    for (; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        if (t == "$dumpvars" || t == "$end" || t == "$dumpall" || t == "$dumpon" || t == "$dumpoff") continue;
        if (t[0] == '#') {
            const uint64_t time = std::stoull(t.substr(1));
            if (have_time && time < now) fail("time goes backwards");
            now = time;
            have_time = true;
            vcd.end_time = now;
        } else if (t[0] == '0' || t[0] == '1') {
            if (t.size() < 2) fail("scalar change without identifier");
            record(t.substr(1), uint64_t(t[0] - '0'));
        } else if (t[0] == 'b' || t[0] == 'B') {
            uint64_t value = 0;
            for (size_t k = 1; k < t.size(); ++k) {
                if (t[k] != '0' && t[k] != '1') fail("vector value with x/z or junk");
                value = value << 1 | uint64_t(t[k] - '0');
            }
            record(next(), value);
        } else {
            fail("unexpected value-change token");
        }
    }
    return vcd;
}

std::string scratch_dir() {
    namespace fs = std::filesystem;
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    const fs::path dir = fs::path(OV2_BINARY_DIR) / "tb_trace_tmp" / (std::string(info->test_suite_name()) + "." + info->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

}  // namespace tracetest
