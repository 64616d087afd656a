#include "oid_script.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "sa_file.h"
#include "sa_file_internal.h"
#include "text_file.h"

namespace ov2 {

using nlohmann::json;

const char* oid_event_name(OidEvent::Kind kind) {
    switch (kind) {
    case OidEvent::Kind::AddSa: return "add_sa";
    case OidEvent::Kind::DeleteSa: return "delete_sa";
    case OidEvent::Kind::UpdateSa: return "update_sa";
    }
    return "unknown";
}

namespace {

using sa_detail::quote;  // user text in a message: quoted when short, described when it looks like a key
using sa_detail::number_text;  // a number from the input: described when it is as long as a key
using sa_detail::key_text;     // a JSON key in a field name: described when quote() would not show it


uint32_t number_field(const json& j, const std::string& path, const std::string& ptr, uint64_t max) {
    uint64_t v = 0;
    if (j.is_number_unsigned()) {
        v = j.get<uint64_t>();
    } else if (j.is_string()) {
        try {
            size_t used = 0;
            const std::string s = j.get<std::string>();
            v = std::stoull(s, &used, 0);
            if (used != s.size()) throw std::invalid_argument(s);
        } catch (const std::exception&) {
            throw InputError(path, ptr, "not a number", "a whole number (decimal or \"0x...\")");
        }
    } else {
        throw InputError(path, ptr, "not a number", "a whole number (decimal or \"0x...\")");
    }
    if (v > max) throw InputError(path, ptr, number_text(v) + " is too large", "at most " + std::to_string(max));
    return uint32_t(v);
}

std::string string_field(const json& j, const std::string& path, const std::string& ptr) {
    if (!j.is_string() || j.get<std::string>().empty())
        throw InputError(path, ptr, "missing or not a string", "the name of an SA");
    return j.get<std::string>();
}

void check_keys(const json& ev, const std::string& path, const std::string& ptr,
                std::initializer_list<const char*> allowed) {
    for (const auto& item : ev.items()) {
        const std::string& key = item.key();  // not a structured binding: C++17 cannot capture those in a lambda
        if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
            std::string names;
            for (const char* a : allowed) names += std::string(names.empty() ? "" : ", ") + a;
            throw InputError(path, ptr + "/" + key_text(key), "unknown key", names);
        }
    }
}

OidEvent parse_event(const json& ev, const std::string& path, const std::string& ptr) {
    if (!ev.is_object()) throw InputError(path, ptr, "not an object", "{\"before_frame\": N, \"oid\": ...}");
    OidEvent e;
    e.origin = path + ": " + ptr;
    if (!ev.contains("before_frame")) throw InputError(path, ptr + "/before_frame", "missing", "a frame index from 1");
    e.before_frame = number_field(ev["before_frame"], path, ptr + "/before_frame", 0xFFFFFFFFu);
    if (e.before_frame == 0) throw InputError(path, ptr + "/before_frame", "0", "a frame index from 1");
    const std::string oid = ev.contains("oid") && ev["oid"].is_string() ? ev["oid"].get<std::string>() : "";
    if (oid == "add_sa") {
        check_keys(ev, path, ptr, {"before_frame", "oid", "sas"});
        e.kind = OidEvent::Kind::AddSa;
        if (!ev.contains("sas") || !ev["sas"].is_array() || ev["sas"].empty())
            throw InputError(path, ptr + "/sas", "missing or empty", "a list of SA objects as in an SA file");
        e.sas = load_sa_text(json{{"sas", ev["sas"]}}.dump(), path + " " + ptr);
    } else if (oid == "delete_sa") {
        check_keys(ev, path, ptr, {"before_frame", "oid", "sa"});
        e.kind = OidEvent::Kind::DeleteSa;
        e.sa = string_field(ev.value("sa", json()), path, ptr + "/sa");
    } else if (oid == "update_sa") {
        check_keys(ev, path, ptr, {"before_frame", "oid", "sa", "spi", "operation", "seq_hi"});
        e.kind = OidEvent::Kind::UpdateSa;
        e.sa = string_field(ev.value("sa", json()), path, ptr + "/sa");
        if (!ev.contains("seq_hi")) throw InputError(path, ptr + "/seq_hi", "missing", "the new ESN high 32 bits");
        e.seq_hi = number_field(ev["seq_hi"], path, ptr + "/seq_hi", 0xFFFFFFFFu);
        if (ev.contains("spi")) {
            e.spi_given = true;
            e.spi = number_field(ev["spi"], path, ptr + "/spi", 0xFFFFFFFFu);
            if (ev.contains("operation") && !ev["operation"].is_string())
                throw InputError(path, ptr + "/operation", "not a string", "esp or ah");
            const std::string op = ev.value("operation", "esp");
            if (op != "esp" && op != "ah") throw InputError(path, ptr + "/operation", quote(op), "esp or ah");
            e.operation = op == "ah" ? IpsecOperation::Ah : IpsecOperation::Esp;
        }
    } else {
        throw InputError(path, ptr + "/oid", quote(oid), "add_sa, delete_sa or update_sa");
    }
    return e;
}

}  // namespace

std::vector<OidEvent> load_oid_script(const std::string& path) {
    const std::string text = read_text_file(path, "a JSON OID script", "JSON OID script");
    json doc = parse_json_text(text, path);
    if (!doc.is_object() || !doc.contains("oids") || !doc["oids"].is_array())
        throw InputError(path, "/oids", "missing", "{\"oids\": [...]}");
    check_keys(doc, path, "", {"oids"});
    std::vector<OidEvent> events;
    for (size_t i = 0; i < doc["oids"].size(); ++i)
        events.push_back(parse_event(doc["oids"][i], path, "/oids/" + std::to_string(i)));
    std::stable_sort(events.begin(), events.end(),
                     [](const OidEvent& a, const OidEvent& b) { return a.before_frame < b.before_frame; });
    return events;
}

}  // namespace ov2
