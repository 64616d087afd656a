#include "sim_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "text_file.h"

namespace ov2 {

namespace {

using nlohmann::json;

bool parse_bool(const std::string& where, const std::string& key, const std::string& v) {
    if (v == "true" || v == "1" || v == "on") return true;
    if (v == "false" || v == "0" || v == "off") return false;
    throw InputError(where, key, "'" + v + "' is not a switch", "true or false");
}

uint32_t parse_u32(const std::string& where, const std::string& key, const std::string& v) {
    try {
        size_t used = 0;
        const unsigned long long n = std::stoull(v, &used, 0);
        if (used == v.size() && n <= 0xFFFFFFFFull && v[0] != '-') return uint32_t(n);
    } catch (const std::exception&) {
    }
    throw InputError(where, key, "'" + v + "' is not a whole number", "0 to 4294967295 (decimal or 0x hex)");
}

struct CapSwitch {
    const char* name;
    bool Capabilities::* field;
};
const CapSwitch kCapSwitches[] = {
    {"ipv6_supported", &Capabilities::ipv6_supported},
    {"ipv4_options", &Capabilities::ipv4_options},
    {"ipv6_non_ipsec_extension_headers", &Capabilities::ipv6_non_ipsec_extension_headers},
    {"ah", &Capabilities::ah},
    {"esp", &Capabilities::esp},
    {"ah_esp_combined", &Capabilities::ah_esp_combined},
    {"transport", &Capabilities::transport},
    {"tunnel", &Capabilities::tunnel},
    {"transport_tunnel_combined", &Capabilities::transport_tunnel_combined},
    {"lso_supported", &Capabilities::lso_supported},
    {"extended_sequence_numbers", &Capabilities::extended_sequence_numbers},
};

// `field` is how errors name the setting: "caps.ah" on the command line, "/caps/ah" in a config file.
void set_cap(const std::string& where, const std::string& field, const std::string& key, const std::string& value,
             Capabilities& caps) {
    for (const CapSwitch& s : kCapSwitches) {
        if (key == s.name) {
            caps.*s.field = parse_bool(where, field, value);
            return;
        }
    }
    if (key == "udp_esp") caps.udp_esp = parse_u32(where, field, value);
    else if (key == "authentication_algorithms") caps.authentication_algorithms = parse_u32(where, field, value);
    else if (key == "encryption_algorithms") caps.encryption_algorithms = parse_u32(where, field, value);
    else if (key == "sa_offload_capacity") caps.sa_offload_capacity = parse_u32(where, field, value);
    else {
        std::string names;
        for (const CapSwitch& s : kCapSwitches) names += std::string(s.name) + ", ";
        throw InputError(where, field, "unknown capability",
                         names + "udp_esp, authentication_algorithms, encryption_algorithms, sa_offload_capacity");
    }
}

void set_mac(const std::string& where, const std::string& field, const std::string& key, const std::string& value,
             MacConfig& mac) {
    if (key == "frames_have_fcs") mac.frames_have_fcs = parse_bool(where, field, value);
    else if (key == "min_frame_bytes") mac.min_frame_bytes = parse_u32(where, field, value);
    else if (key == "max_frame_bytes") mac.max_frame_bytes = parse_u32(where, field, value);
    else if (key == "pacing") {
        if (value == "line") mac.pacing = Pacing::LineRate;
        else if (value == "capture") mac.pacing = Pacing::Capture;
        else throw InputError(where, field, "'" + value + "'", "line or capture");
    } else {
        throw InputError(where, field, "unknown MAC setting",
                         "frames_have_fcs, min_frame_bytes, max_frame_bytes or pacing");
    }
}

void set_one(const std::string& where, const std::string& field, const std::string& name, const std::string& value,
             SimConfig& c) {
    if (name.rfind("caps.", 0) == 0) return set_cap(where, field, name.substr(5), value, c.driver.caps);
    if (name.rfind("mac.", 0) == 0) return set_mac(where, field, name.substr(4), value, c.mac);
    if (name == "mode") {
        if (value == "cycle") c.mode = TimingMode::Cycle;
        else if (value == "fast") c.mode = TimingMode::Fast;
        else throw InputError(where, field, "'" + value + "'", "cycle or fast");
        return;
    }
    if (name == "offload_enabled") {
        c.driver.offload_enabled = parse_bool(where, field, value);
        return;
    }
    if (name == "sa_cam_bundles") {
        c.sa_cam_bundles = parse_u32(where, field, value);
        if (c.sa_cam_bundles == 0 || c.sa_cam_bundles > 2048)
            throw InputError(where, field, std::to_string(c.sa_cam_bundles), "1 to 2048");
        return;
    }
    try {
        c.timing.set(name, value);
    } catch (const std::invalid_argument& e) {
        // The field is named already: drop the message's own "timing parameter NAME: " prefix.
        std::string problem = e.what();
        const std::string prefix = "timing parameter " + name + ": ";
        if (problem.rfind(prefix, 0) == 0) problem.erase(0, prefix.size());
        throw InputError(where, field, problem, "");
    }
}

std::string scalar_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_number_float()) {
        std::ostringstream s;
        s.precision(17);
        s << v.get<double>();
        return s.str();
    }
    return v.dump();
}

// TimingParams::set checks each parameter alone; what spans parameters is checked once they are all set.
void check_combined(const std::string& where, const SimConfig& c) {
    try {
        c.timing.validate_combined();
    } catch (const std::invalid_argument& e) {
        throw InputError(where, "", e.what(), "");
    }
}

}  // namespace

void apply_settings(const std::vector<std::string>& assignments, SimConfig& config) {
    for (const std::string& assignment : assignments) {
        const size_t eq = assignment.find('=');
        if (eq == std::string::npos || eq == 0)
            throw InputError("--set", assignment, "not NAME=VALUE", "e.g. --set core_clock_mhz=250");
        const std::string name = assignment.substr(0, eq);
        set_one("--set", name, name, assignment.substr(eq + 1), config);
    }
    check_combined("--set", config);
}

void apply_option(const std::string& option, const std::string& name, const std::string& value, SimConfig& config) {
    set_one(option, name, name, value, config);
}

void load_sim_config(const std::string& path, SimConfig& config) {
    const std::string text = read_text_file(path, "a JSON config file", "JSON config file");
    json doc = parse_json_text(text, path);
    if (!doc.is_object()) throw InputError(path, "/", "not a JSON object", "{\"timing\": {...}, ...}");
    for (auto& [key, value] : doc.items()) {
        if (key == "timing" || key == "mac" || key == "caps") {
            if (!value.is_object()) throw InputError(path, "/" + key, "not an object", "an object of settings");
            const std::string prefix = key == "timing" ? "" : key + ".";
            for (auto& [name, v] : value.items())
                set_one(path, "/" + key + "/" + name, prefix + name, scalar_text(v), config);
        } else if (key == "offload_enabled" || key == "sa_cam_bundles" || key == "mode") {
            set_one(path, "/" + key, key, scalar_text(value), config);
        } else {
            throw InputError(path, "/" + key, "unknown key",
                             "timing, mac, caps, offload_enabled, sa_cam_bundles or mode");
        }
    }
    check_combined(path, config);
}

RtlSwap parse_rtl_option(const std::string& names) {
    static const char* kExpected = "a comma list of cam, parser and wb (e.g. cam,parser,wb)";
    RtlSwap swap;
    size_t from = 0;
    for (;;) {
        const size_t comma = names.find(',', from);
        const std::string name = names.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        if (name == "cam") swap.cam = true;
        else if (name == "parser") swap.parser = true;
        else if (name == "wb") swap.wb = true;
        else if (name.empty()) throw InputError("--rtl", "", "empty block name in '" + names + "'", kExpected);
        else throw InputError("--rtl", name, "not an RTL block", kExpected);
        if (comma == std::string::npos) return swap;
        from = comma + 1;
    }
}

}  // namespace ov2
