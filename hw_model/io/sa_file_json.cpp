// The JSON SA format (docs/sa-formats.md): one object per IPSEC_OFFLOAD_V2_ADD_SA.
#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "sa_file_internal.h"
#include "text_file.h"

namespace ov2::sa_detail {
namespace {

using nlohmann::json;

constexpr int kMaxNesting = 64;  // the format needs 6 levels; this bounds recursion on hostile input

std::string line_where(const std::string& file, int line) { return file + ":" + std::to_string(line); }

std::string pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

// A JSON pointer for a message: each segment as key_text shows it (a key that looks like key material, or
// is long, is described, not echoed).
std::string shown_pointer(const std::string& ptr) {
    if (ptr.empty()) return "/";
    std::string out;
    for (size_t from = 1;;) {
        const size_t slash = ptr.find('/', from);
        out += "/" + key_text(ptr.substr(from, slash == std::string::npos ? std::string::npos : slash - from));
        if (slash == std::string::npos) return out;
        from = slash + 1;
    }
}

// ---- syntax -------------------------------------------------------------------------------------------------

void check_nesting(const std::string& text, const std::string& file) {
    int depth = 0, line = 1;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (c == '\n') ++line;
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxNesting)
                throw InputError(line_where(file, line), "JSON", "nested deeper than 64 levels",
                                 "the SA file structure (6 levels)");
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
}

// ---- JSON pointer -> line --------------------------------------------------------------------------------

// nlohmann keeps no positions, so a second pass over the (already valid) text maps every value's JSON
// pointer to its line; it also rejects duplicate keys, which nlohmann would silently collapse.
class JsonLineMap {
public:
    JsonLineMap(const std::string& text, const std::string& file) : s_(text), file_(file) {
        skip_ws();
        value("", 0);
    }
    int line_of(std::string pointer) const {
        for (;;) {
            auto it = lines_.find(pointer);
            if (it != lines_.end()) return it->second;
            const size_t slash = pointer.rfind('/');
            if (slash == std::string::npos) return 1;
            pointer.resize(slash);
        }
    }

private:
    bool more() const { return i_ < s_.size(); }
    void skip_ws() {
        while (more() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) {
            if (s_[i_] == '\n') ++line_;
            ++i_;
        }
    }
    std::string string_token() {
        const size_t start = i_++;
        bool escaped = false;
        for (; more(); ++i_) {
            if (escaped) escaped = false;
            else if (s_[i_] == '\\') escaped = true;
            else if (s_[i_] == '"') break;
        }
        ++i_;
        const std::string raw = s_.substr(start, std::min(i_, s_.size()) - start);
        if (raw.find('\\') == std::string::npos) return raw.substr(1, raw.size() >= 2 ? raw.size() - 2 : 0);
        return json::parse(raw).get<std::string>();
    }
    void value(const std::string& ptr, int depth) {
        lines_.emplace(ptr, line_);
        if (!more() || depth > kMaxNesting) return;
        const char c = s_[i_];
        if (c == '{') object(ptr, depth);
        else if (c == '[') array(ptr, depth);
        else if (c == '"') string_token();
        else while (more() && !std::strchr(",]} \t\r\n", s_[i_])) ++i_;
    }
    void object(const std::string& ptr, int depth) {
        ++i_;
        std::set<std::string> keys;
        for (skip_ws(); more() && s_[i_] != '}'; skip_ws()) {
            if (s_[i_] == ',') { ++i_; skip_ws(); }
            const int key_line = line_;
            const std::string key = string_token();
            const std::string child = ptr + "/" + pointer_token(key);
            if (!keys.insert(key).second)
                throw InputError(line_where(file_, key_line), shown_pointer(ptr),
                                 "key " + quote(key) + " appears twice", "each key once per object");
            skip_ws();
            if (more() && s_[i_] == ':') ++i_;
            skip_ws();
            value(child, depth + 1);
        }
        ++i_;
    }
    void array(const std::string& ptr, int depth) {
        ++i_;
        size_t index = 0;
        for (skip_ws(); more() && s_[i_] != ']'; skip_ws()) {
            if (s_[i_] == ',') { ++i_; skip_ws(); }
            value(ptr + "/" + std::to_string(index++), depth + 1);
        }
        ++i_;
    }

    const std::string& s_;
    const std::string& file_;
    size_t i_ = 0;
    int line_ = 1;
    std::map<std::string, int> lines_;
};

// ---- algorithm names ----------------------------------------------------------------------------------------

struct AlgName {
    const char* name;
    uint32_t id;
    size_t key_bytes;
};

const AlgName kEncryptionNames[] = {
    {"null", ndis::kEncNull, 0},           {"des-cbc", ndis::kEncDesCbc, 8},
    {"3des-cbc", ndis::kEnc3DesCbc, 24},   {"aes-cbc-128", ndis::kEncAesCbc128, 16},
    {"aes-cbc-192", ndis::kEncAesCbc192, 24}, {"aes-cbc-256", ndis::kEncAesCbc256, 32},
    {"aes-gcm-128", ndis::kEncAesGcm128, 16}, {"aes-gcm-192", ndis::kEncAesGcm192, 24},
    {"aes-gcm-256", ndis::kEncAesGcm256, 32},
};
const AlgName kAuthenticationNames[] = {
    {"none", ndis::kAuthNone, 0},
    {"hmac-md5-96", ndis::kAuthMd5, 16},
    {"hmac-sha1-96", ndis::kAuthSha1, 20},
    {"hmac-sha256-128", ndis::kAuthSha256, 32},
    {"aes-gmac-128", ndis::kAuthAesGmac128, 16},
    {"aes-gmac-192", ndis::kAuthAesGmac192, 24},
    {"aes-gmac-256", ndis::kAuthAesGmac256, 32},
};
// AES families whose size the key length picks ("aes-gcm" + 16-byte key = aes-gcm-128).
const char* const kSizedEncryption[] = {"aes-cbc", "aes-gcm"};
const char* const kSizedAuthentication[] = {"aes-gmac"};
// Names ov2sim knows but IPsecOV2 cannot express: the SA loads, marked not offloadable.
const char* const kForeignEncryption[] = {"aes-ccm", "aes-ctr", "chacha20-poly1305"};
const char* const kForeignAuthentication[] = {"hmac-sha384-192", "hmac-sha512-256", "aes-xcbc-mac-96"};
const char* const kCombinedForeign[] = {"aes-ccm", "chacha20-poly1305"};

template <size_t N>
bool in_list(const std::string& name, const char* const (&list)[N]) {
    for (const char* n : list)
        if (name == n) return true;
    return false;
}

// "aes-ccm" also as "aes-ccm-128/192/256"
template <size_t N>
const char* foreign_family(const std::string& name, const char* const (&list)[N]) {
    for (const char* n : list) {
        const std::string base = n;
        if (name == base) return n;
        if (name.rfind(base + "-", 0) == 0) {
            const std::string bits = name.substr(base.size() + 1);
            if (bits == "128" || bits == "192" || bits == "256") return n;
        }
    }
    return nullptr;
}

template <size_t N>
const AlgName* find_name(const std::string& name, const AlgName (&table)[N]) {
    for (const AlgName& a : table)
        if (name == a.name) return &a;
    return nullptr;
}

const std::string kEncryptionChoices =
    "null, des-cbc, 3des-cbc, aes-cbc, aes-cbc-128, aes-cbc-192, aes-cbc-256, aes-gcm, aes-gcm-128, aes-gcm-192, "
    "aes-gcm-256, or (not offloadable) aes-ccm, aes-ctr, chacha20-poly1305";
const std::string kAuthenticationChoices =
    "none, hmac-md5-96, hmac-sha1-96, hmac-sha256-128, aes-gmac, aes-gmac-128, aes-gmac-192, aes-gmac-256, or "
    "(not offloadable) hmac-sha384-192, hmac-sha512-256, aes-xcbc-mac-96";

// ---- the reader -----------------------------------------------------------------------------------------

struct ReadAlg {
    std::string name;      // as written
    AlgorithmInfo info;
    bool foreign = false;  // not offloadable
};

class JsonSaReader {
public:
    JsonSaReader(const std::string& file, const JsonLineMap& lines) : file_(file), lines_(lines) {}

    std::vector<AddSa> read(const json& doc) {
        std::string list_ptr;
        const json* list = &doc;
        if (doc.is_object()) {
            allow_keys(doc, "", {"sas", "description"});
            if (const json* d = member(doc, "description")) as_string(*d, "/description", "a string");
            list = member(doc, "sas");
            list_ptr = "/sas";
            if (!list) fail(at(""), "no \"sas\" list", "{\"sas\": [ ... ]} or a top-level array of SA objects");
        }
        if (!list->is_array()) fail(at(list_ptr), type_of(*list), "an array of SA objects");
        std::vector<AddSa> sas;
        std::vector<SaOrigin> origins(list->size());
        for (size_t i = 0; i < list->size(); ++i)
            sas.push_back(read_sa((*list)[i], list_ptr + "/" + std::to_string(i), origins[i]));
        check_across(sas, origins);
        return sas;
    }

private:
    // -- plumbing --
    FieldRef at(const std::string& ptr) const {
        return {line_where(file_, lines_.line_of(ptr)), ptr.empty() ? "/" : ptr};
    }
    [[noreturn]] void fail(const FieldRef& ref, const std::string& problem, const std::string& expected) const {
        sa_detail::fail(ref, problem, expected);
    }
    static std::string type_of(const json& v) {
        switch (v.type()) {
            case json::value_t::object: return "an object";
            case json::value_t::array: return "an array";
            case json::value_t::string: return "a string";
            case json::value_t::boolean: return "a boolean";
            case json::value_t::null: return "null";
            default: return "a number";
        }
    }
    static const json* member(const json& obj, const char* key) {
        auto it = obj.find(key);
        return it == obj.end() ? nullptr : &*it;
    }
    void allow_keys(const json& obj, const std::string& ptr, std::initializer_list<const char*> allowed) const {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            bool known = false;
            for (const char* a : allowed) known = known || it.key() == a;
            if (known) continue;
            std::vector<std::string> names(allowed.begin(), allowed.end());
            const bool showable = key_text(it.key()) == it.key();
            fail(at(showable ? ptr + "/" + pointer_token(it.key()) : ptr),
                 "unknown key" + (showable ? std::string() : " " + quote(it.key())), "one of " + join_or(names));
        }
    }
    const std::string& as_string(const json& v, const std::string& ptr, const std::string& expected) const {
        if (!v.is_string()) fail(at(ptr), type_of(v), expected);
        return v.get_ref<const std::string&>();
    }
    uint64_t as_uint(const json& v, const std::string& ptr, uint64_t max, const std::string& expected) const {
        if (v.is_number_unsigned()) {
            const uint64_t n = v.get<uint64_t>();
            if (n > max) fail(at(ptr), number_text(n) + " is too large", expected);
            return n;
        }
        if (v.is_number_integer()) fail(at(ptr), "negative", expected);
        if (v.is_number()) fail(at(ptr), "not an integer", expected);
        fail(at(ptr), type_of(v), expected);
    }
    bool as_bool(const json& v, const std::string& ptr) const {
        if (!v.is_boolean()) fail(at(ptr), type_of(v), "true or false");
        return v.get<bool>();
    }
    std::vector<uint8_t> hex_field(const json& v, const std::string& ptr) const {
        const std::string& text = as_string(v, ptr, "a hex string");
        std::vector<uint8_t> bytes;
        std::string problem;
        if (!parse_hex(text, bytes, problem)) fail(at(ptr), problem, "hex digits, 2 per byte, optionally after 0x");
        return bytes;
    }
    static std::string bytes_text(size_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

    // -- one SA --
    AddSa read_sa(const json& j, const std::string& ptr, SaOrigin& origin) {
        if (!j.is_object()) fail(at(ptr), type_of(j), "an SA object");
        allow_keys(j, ptr,
                   {"name", "direction", "src", "dst", "ip_version", "udp_esp_encapsulation", "replay_window",
                    "replay_seq", "pair", "delete_policy", "sec_assoc"});
        AddSa sa;
        read_labels(j, ptr, sa, origin);
        read_sec_assocs(j, ptr, sa, origin);
        read_addresses(j, ptr, sa);
        read_encapsulation(j, ptr, sa);
        read_replay(j, ptr, sa);
        read_delete_policy(j, ptr, sa);
        return sa;
    }

    void read_labels(const json& j, const std::string& ptr, AddSa& sa, SaOrigin& origin) {
        sa.name = file_ + "#" + (ptr.empty() ? "/" : ptr);
        origin.name = at(ptr);
        if (const json* v = member(j, "name")) {
            sa.name = as_string(*v, ptr + "/name", "a string");
            if (sa.name.empty()) fail(at(ptr + "/name"), "empty", "a name, or no \"name\" key");
            origin.name = at(ptr + "/name");
        }
        if (const json* v = member(j, "pair")) {
            sa.pair = as_string(*v, ptr + "/pair", "the name of the SA of the other direction");
            if (sa.pair.empty()) fail(at(ptr + "/pair"), "empty", "the name of the SA of the other direction");
            origin.pair = at(ptr + "/pair");
        }
        sa.flags = ndis::kAddSaInbound;
        if (const json* v = member(j, "direction")) {
            const std::string& d = as_string(*v, ptr + "/direction", "inbound or outbound");
            if (d == "outbound") sa.flags = 0;
            else if (d != "inbound") fail(at(ptr + "/direction"), quote(d), "inbound or outbound");
        }
    }

    // A wildcard ("0.0.0.0", "::" or absent) has no version of its own in NDIS (the IPv6 flag carries it):
    // the version comes from a specific address, else from ip_version, else from the wildcard literals.
    void read_addresses(const json& j, const std::string& ptr, AddSa& sa) {
        const std::optional<IpAddr> src = read_address(j, "src", ptr);
        const std::optional<IpAddr> dst = read_address(j, "dst", ptr);
        const std::optional<uint8_t> version = read_ip_version(j, ptr);
        const bool src_specific = src && !src->is_zero();
        const bool dst_specific = dst && !dst->is_zero();
        if (src_specific && dst_specific && src->version != dst->version)
            fail(at(ptr + "/dst"), "IPv" + std::to_string(dst->version) + " but src is IPv" + std::to_string(src->version),
                 "src and dst of the same IP version");
        uint8_t v = 0;
        if (src_specific || dst_specific) {
            v = src_specific ? src->version : dst->version;
            if (version && *version != v)
                fail(at(ptr + "/ip_version"), std::to_string(*version) + " but the addresses are IPv" + std::to_string(v),
                     "the version of src and dst (or no ip_version)");
        } else if (version) {
            v = *version;
        } else if (src && dst && src->version != dst->version) {
            fail(at(ptr + "/ip_version"), "missing and the wildcards src and dst differ in IP version",
                 "ip_version 4 or 6");
        } else if (src || dst) {
            v = src ? src->version : dst->version;
        } else {
            fail(at(ptr + "/ip_version"), "missing and both src and dst are absent",
                 "ip_version 4 or 6 when no address is given");
        }
        sa.src = src ? *src : IpAddr{};
        sa.dst = dst ? *dst : IpAddr{};
        sa.src.version = v;
        sa.dst.version = v;
        if (v == 6) sa.flags |= ndis::kAddSaIpv6;
    }

    std::optional<uint8_t> read_ip_version(const json& j, const std::string& ptr) const {
        const json* v = member(j, "ip_version");
        if (!v) return std::nullopt;
        const uint64_t n = as_uint(*v, ptr + "/ip_version", 6, "4 or 6");
        if (n != 4 && n != 6) fail(at(ptr + "/ip_version"), std::to_string(n), "4 or 6");
        return static_cast<uint8_t>(n);
    }

    std::optional<IpAddr> read_address(const json& j, const char* key, const std::string& ptr) const {
        const json* v = member(j, key);
        if (!v) return std::nullopt;
        const std::string field = ptr + "/" + key;
        const std::string& text = as_string(*v, field, "an IPv4 or IPv6 address");
        std::optional<IpAddr> addr;
        if (text.find('\0') == std::string::npos) addr = IpAddr::parse(text);
        if (!addr) fail(at(field), quote(text) + " is not an address", "an IPv4 or IPv6 address such as 192.0.2.1 or 2001:db8::1");
        return addr;
    }

    void read_encapsulation(const json& j, const std::string& ptr, AddSa& sa) {
        const json* v = member(j, "udp_esp_encapsulation");
        if (!v) return;
        static const std::map<std::string, uint32_t> names = {
            {"none", ndis::kUdpEspNone},
            {"transport", ndis::kUdpEspTransport},
            {"tunnel", ndis::kUdpEspTunnel},
            {"transport_over_udp_esp_tunnel", ndis::kTransportOverUdpEspTunnel},
            {"udp_esp_transport_over_tunnel", ndis::kUdpEspTransportOverTunnel}};
        const std::string field = ptr + "/udp_esp_encapsulation";
        const std::string expected =
            "none, transport, tunnel, transport_over_udp_esp_tunnel, udp_esp_transport_over_tunnel or 0, 1, 2, 4, 8";
        if (v->is_string()) {
            auto it = names.find(v->get<std::string>());
            if (it == names.end()) fail(at(field), quote(v->get<std::string>()), expected);
            sa.udp_esp_encapsulation = it->second;
        } else {
            const uint64_t n = as_uint(*v, field, 8, expected);
            if (n != 0 && n != 1 && n != 2 && n != 4 && n != 8) fail(at(field), std::to_string(n), expected);
            sa.udp_esp_encapsulation = static_cast<uint32_t>(n);
        }
        bool has_esp = false;
        for (size_t k = 0; k < sa.num_ext_hdrs; ++k) has_esp = has_esp || sa.sec_assoc[k].operation == IpsecOperation::Esp;
        if (sa.udp_esp_encapsulation && !has_esp)
            fail(at(field), "UDP encapsulation of an AH-only SA", "none (UDP encapsulation carries ESP only)");
    }

    void read_replay(const json& j, const std::string& ptr, AddSa& sa) {
        if (const json* v = member(j, "replay_window"))
            sa.replay_window = static_cast<uint32_t>(as_uint(*v, ptr + "/replay_window", UINT32_MAX, "a window size in packets (0 = no check)"));
        const json* v = member(j, "replay_seq");
        if (!v) return;
        bool esn = false;
        for (size_t k = 0; k < sa.num_ext_hdrs; ++k) esn = esn || (sa.sec_assoc[k].flags & ndis::kSaFlagEsn);
        sa.replay_seq = as_uint(*v, ptr + "/replay_seq", UINT64_MAX, "the highest sequence number already received");
        if (!esn && sa.replay_seq > UINT32_MAX)
            fail(at(ptr + "/replay_seq"), number_text(sa.replay_seq) + " needs more than 32 bits without ESN",
                 "a value below 2^32, or \"esn\": true");
    }

    void read_delete_policy(const json& j, const std::string& ptr, AddSa& sa) {
        const json* v = member(j, "delete_policy");
        if (!v) return;
        const std::string base = ptr + "/delete_policy";
        if (!v->is_object()) fail(at(base), type_of(*v), "an object");
        allow_keys(*v, base, {"packet_lifetime", "byte_lifetime", "seq_wrap_margin"});
        if (const json* p = member(*v, "packet_lifetime"))
            sa.delete_policy.packet_lifetime = as_uint(*p, base + "/packet_lifetime", UINT64_MAX, "a packet count (0 = never)");
        if (const json* b = member(*v, "byte_lifetime"))
            sa.delete_policy.byte_lifetime = as_uint(*b, base + "/byte_lifetime", UINT64_MAX, "a byte count (0 = never)");
        if (const json* m = member(*v, "seq_wrap_margin"))
            sa.delete_policy.seq_wrap_margin =
                static_cast<uint32_t>(as_uint(*m, base + "/seq_wrap_margin", UINT32_MAX, "a sequence-number margin (0 = off)"));
    }

    // -- sec_assoc --
    void read_sec_assocs(const json& j, const std::string& ptr, AddSa& sa, SaOrigin& origin) {
        const std::string base = ptr + "/sec_assoc";
        const json* list = member(j, "sec_assoc");
        if (!list) fail(at(base), "missing", "a sec_assoc list: [esp], [ah] or [esp, ah]");
        if (!list->is_array()) fail(at(base), type_of(*list), "a sec_assoc list: [esp], [ah] or [esp, ah]");
        if (list->empty() || list->size() > 2)
            fail(at(base), std::to_string(list->size()) + " entries", "1 (ESP or AH) or 2 (an [esp, ah] bundle)");
        std::vector<std::string> foreign;
        for (size_t k = 0; k < list->size(); ++k) {
            const std::string item = base + "/" + std::to_string(k);
            sa.sec_assoc[k] = read_sec_assoc((*list)[k], item, foreign);
            origin.spi[k] = at(item + "/spi");
        }
        sa.num_ext_hdrs = static_cast<uint32_t>(list->size());
        if (sa.num_ext_hdrs == 2 &&
            (sa.sec_assoc[0].operation != IpsecOperation::Esp || sa.sec_assoc[1].operation != IpsecOperation::Ah)) {
            const size_t bad = sa.sec_assoc[0].operation != IpsecOperation::Esp ? 0 : 1;
            fail(at(base + "/" + std::to_string(bad) + "/operation"),
                 std::string("[") + operation_name(sa.sec_assoc[0].operation) + ", " +
                     operation_name(sa.sec_assoc[1].operation) + "] bundle",
                 "[esp, ah]: NDIS applies ESP first, then AH");
        }
        for (const std::string& f : foreign)
            if (sa.not_offloadable.find(f) == std::string::npos)
                sa.not_offloadable += (sa.not_offloadable.empty() ? "" : ", ") + f;
    }

    SecurityAssociation read_sec_assoc(const json& j, const std::string& ptr, std::vector<std::string>& foreign) {
        if (!j.is_object()) fail(at(ptr), type_of(j), "a security association object");
        allow_keys(j, ptr, {"operation", "spi", "mode", "esn", "seq_hi", "encryption", "authentication"});
        SecurityAssociation s;
        s.operation = read_operation(j, ptr);
        s.spi = read_spi(j, ptr);
        s.mode = read_mode(j, ptr);
        read_esn(j, ptr, s);
        const bool ah = s.operation == IpsecOperation::Ah;
        const json* enc = member(j, "encryption");
        const json* auth = member(j, "authentication");
        if (ah && enc)
            fail(at(ptr + "/encryption"), "present in an AH SA",
                 "no encryption: AH only authenticates (an [esp, ah] bundle encrypts in its ESP entry)");
        if (ah && !auth) fail(at(ptr + "/authentication"), "missing in an AH SA", "an \"authentication\" object");
        if (!ah && !enc)
            fail(at(ptr + "/encryption"), "missing in an ESP SA",
                 "an \"encryption\" object (\"algorithm\": \"null\" for integrity-only ESP)");
        ReadAlg e, a;
        if (enc) e = read_encryption(*enc, ptr + "/encryption");
        if (auth) a = read_authentication(*auth, ptr + "/authentication");
        if (!ah) check_esp_algorithms(e, a, auth != nullptr, ptr);
        if (ah && !a.foreign && a.info.identifier == ndis::kAuthNone)
            fail(at(ptr + "/authentication/algorithm"), "none in an AH SA", "an authentication algorithm");
        if (e.foreign) foreign.push_back(e.name);
        if (a.foreign) foreign.push_back(a.name);
        s.encryption = std::move(e.info);
        s.authentication = std::move(a.info);
        return s;
    }

    void check_esp_algorithms(const ReadAlg& e, const ReadAlg& a, bool has_auth, const std::string& ptr) const {
        const bool combined = e.foreign ? in_list(e.name, kCombinedForeign) : is_gcm_encryption(e.info.identifier);
        const bool auth_none = !a.foreign && a.info.identifier == ndis::kAuthNone;
        if (combined && has_auth && !auth_none)
            fail(at(ptr + "/authentication"), e.name + " is a combined mode and takes no authentication",
                 "no \"authentication\" (or \"none\") with " + e.name);
        if (!a.foreign && is_gmac_auth(a.info.identifier) && !(e.info.identifier == ndis::kEncNull && !e.foreign))
            fail(at(ptr + "/authentication/algorithm"), a.name + " with " + e.name + " encryption",
                 "encryption null with " + a.name + " (RFC 4543 ENCR_NULL_AUTH_AES_GMAC)");
        if (!e.foreign && e.info.identifier == ndis::kEncNull && auth_none)
            fail(at(ptr + "/authentication"), "null encryption without authentication",
                 "an authentication algorithm (RFC 4303 section 3.2 forbids NULL/NULL)");
    }

    IpsecOperation read_operation(const json& j, const std::string& ptr) const {
        const json* v = member(j, "operation");
        if (!v) fail(at(ptr + "/operation"), "missing", "esp or ah");
        const std::string& op = as_string(*v, ptr + "/operation", "esp or ah");
        if (op == "esp") return IpsecOperation::Esp;
        if (op == "ah") return IpsecOperation::Ah;
        fail(at(ptr + "/operation"), quote(op), "esp or ah");
    }

    uint32_t read_spi(const json& j, const std::string& ptr) const {
        const std::string field = ptr + "/spi";
        const json* v = member(j, "spi");
        const std::string expected = "a non-zero 32-bit SPI (a number or a string such as \"0x00001234\")";
        if (!v) fail(at(field), "missing", expected);
        uint64_t spi = 0;
        if (v->is_string()) {
            const std::string& text = v->get_ref<const std::string&>();
            const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
            const std::string digits = hex ? text.substr(2) : text;
            const char* allowed = hex ? "0123456789abcdefABCDEF" : "0123456789";
            if (digits.empty() || digits.size() > (hex ? 8u : 10u) ||
                digits.find_first_not_of(allowed) != std::string::npos)
                fail(at(field), quote(text), expected);
            spi = std::stoull(digits, nullptr, hex ? 16 : 10);
            if (spi > UINT32_MAX) fail(at(field), quote(text) + " does not fit 32 bits", expected);
        } else {
            spi = as_uint(*v, field, UINT32_MAX, expected);
        }
        if (spi == 0) fail(at(field), "0 (reserved: RFC 4303 section 2.1)", expected);
        return static_cast<uint32_t>(spi);
    }

    SaMode read_mode(const json& j, const std::string& ptr) const {
        const json* v = member(j, "mode");
        if (!v) fail(at(ptr + "/mode"), "missing", "transport or tunnel");
        const std::string& m = as_string(*v, ptr + "/mode", "transport or tunnel");
        if (m == "transport") return SaMode::Transport;
        if (m == "tunnel") return SaMode::Tunnel;
        fail(at(ptr + "/mode"), quote(m), "transport or tunnel");
    }

    void read_esn(const json& j, const std::string& ptr, SecurityAssociation& s) const {
        const json* esn = member(j, "esn");
        if (esn && as_bool(*esn, ptr + "/esn")) s.flags |= ndis::kSaFlagEsn;
        const json* hi = member(j, "seq_hi");
        if (!hi) return;
        s.sequence_number_high_order =
            static_cast<uint32_t>(as_uint(*hi, ptr + "/seq_hi", UINT32_MAX, "the high 32 bits of the ESN"));
        if (s.sequence_number_high_order && !(s.flags & ndis::kSaFlagEsn))
            fail(at(ptr + "/seq_hi"), "set without ESN", "\"esn\": true, or no seq_hi");
    }

    // -- algorithms --
    ReadAlg read_encryption(const json& j, const std::string& ptr) const {
        if (!j.is_object()) fail(at(ptr), type_of(j), "an object with algorithm, key (and salt, icv_len for GCM)");
        allow_keys(j, ptr, {"algorithm", "key", "salt", "icv_len"});
        ReadAlg r;
        r.name = algorithm_name(j, ptr, kEncryptionChoices);
        if (const char* family = foreign_family(r.name, kForeignEncryption)) {
            r.foreign = true;
            r.name = family;
            read_foreign_key(j, ptr, r.info);
            return r;
        }
        const json* key = member(j, "key");
        if (!key && in_list(r.name, kSizedEncryption))
            fail(at(ptr + "/key"), "missing", "16, 24 or 32 bytes of hex for " + r.name);
        const std::vector<uint8_t> bytes = key ? hex_field(*key, ptr + "/key") : std::vector<uint8_t>{};
        const AlgName* alg = resolve(r.name, bytes.size(), kEncryptionNames, kSizedEncryption, ptr, kEncryptionChoices);
        r.info.identifier = alg->id;
        if (alg->id != ndis::kEncNull && !key) fail(at(ptr + "/key"), "missing", expected_key(r.name, alg));
        check_key_length(r.name, alg, bytes.size(), ptr);
        r.info.key = bytes;
        if (is_gcm_encryption(alg->id)) add_salt_and_icv(j, ptr, r, {8, 12, 16});
        else forbid_salt_and_icv(j, ptr, r.name);
        return r;
    }

    ReadAlg read_authentication(const json& j, const std::string& ptr) const {
        if (!j.is_object()) fail(at(ptr), type_of(j), "an object with algorithm and key");
        allow_keys(j, ptr, {"algorithm", "key", "salt", "icv_len"});
        ReadAlg r;
        r.name = algorithm_name(j, ptr, kAuthenticationChoices);
        if (const char* family = foreign_family(r.name, kForeignAuthentication)) {
            r.foreign = true;
            r.name = family;
            read_foreign_key(j, ptr, r.info);
            return r;
        }
        const json* key = member(j, "key");
        if (!key && in_list(r.name, kSizedAuthentication))
            fail(at(ptr + "/key"), "missing", "16, 24 or 32 bytes of hex for " + r.name);
        const std::vector<uint8_t> bytes = key ? hex_field(*key, ptr + "/key") : std::vector<uint8_t>{};
        const AlgName* alg =
            resolve(r.name, bytes.size(), kAuthenticationNames, kSizedAuthentication, ptr, kAuthenticationChoices);
        r.info.identifier = alg->id;
        if (alg->id != ndis::kAuthNone && !key) fail(at(ptr + "/key"), "missing", expected_key(r.name, alg));
        check_key_length(r.name, alg, bytes.size(), ptr);
        r.info.key = bytes;
        if (is_gmac_auth(alg->id)) add_salt_and_icv(j, ptr, r, {16});
        else forbid_salt_and_icv(j, ptr, r.name);
        return r;
    }

    std::string algorithm_name(const json& j, const std::string& ptr, const std::string& choices) const {
        const json* v = member(j, "algorithm");
        if (!v) fail(at(ptr + "/algorithm"), "missing", "one of " + choices);
        return as_string(*v, ptr + "/algorithm", "one of " + choices);
    }

    template <size_t N, size_t M>
    const AlgName* resolve(const std::string& name, size_t key_bytes, const AlgName (&table)[N],
                           const char* const (&sized)[M], const std::string& ptr, const std::string& choices) const {
        if (in_list(name, sized)) {
            if (key_bytes != 16 && key_bytes != 24 && key_bytes != 32)
                fail(at(ptr + "/key"), bytes_text(key_bytes), "16, 24 or 32 for " + name);
            return find_name(name + "-" + std::to_string(key_bytes * 8), table);
        }
        const AlgName* alg = find_name(name, table);
        if (!alg) fail(at(ptr + "/algorithm"), "unknown algorithm " + quote(name), "one of " + choices);
        return alg;
    }

    static std::string expected_key(const std::string& name, const AlgName* alg) {
        return std::to_string(alg->key_bytes) + " bytes of hex for " + name;
    }

    void check_key_length(const std::string& name, const AlgName* alg, size_t key_bytes, const std::string& ptr) const {
        if (key_bytes == alg->key_bytes) return;
        if (alg->key_bytes == 0) fail(at(ptr + "/key"), bytes_text(key_bytes) + " for " + name, "no key (or \"\")");
        fail(at(ptr + "/key"), bytes_text(key_bytes), std::to_string(alg->key_bytes) + " for " + name);
    }

    // GCM/GMAC: AlgorithmInfo.key = AES key || 4-byte salt, additional_info = ICV length.
    void add_salt_and_icv(const json& j, const std::string& ptr, ReadAlg& r, std::initializer_list<uint32_t> icvs) const {
        const json* salt = member(j, "salt");
        if (!salt) fail(at(ptr + "/salt"), "missing", "4 bytes of hex (the RFC 4106/4543 salt) for " + r.name);
        const std::vector<uint8_t> s = hex_field(*salt, ptr + "/salt");
        if (s.size() != 4) fail(at(ptr + "/salt"), bytes_text(s.size()), "4 for " + r.name);
        r.info.key.insert(r.info.key.end(), s.begin(), s.end());
        std::vector<std::string> allowed;
        for (uint32_t i : icvs) allowed.push_back(std::to_string(i));
        r.info.additional_info = *(icvs.end() - 1);
        const json* icv = member(j, "icv_len");
        if (!icv) return;
        const uint64_t n = as_uint(*icv, ptr + "/icv_len", UINT32_MAX, join_or(allowed) + " (bytes)");
        if (std::find(icvs.begin(), icvs.end(), n) == icvs.end())
            fail(at(ptr + "/icv_len"), std::to_string(n), join_or(allowed) + " (bytes) for " + r.name);
        r.info.additional_info = static_cast<uint32_t>(n);
    }

    void forbid_salt_and_icv(const json& j, const std::string& ptr, const std::string& name) const {
        if (member(j, "salt")) fail(at(ptr + "/salt"), "not used by " + name, "no salt (only GCM and GMAC take one)");
        if (member(j, "icv_len"))
            fail(at(ptr + "/icv_len"), "not used by " + name, "no icv_len (the algorithm name fixes it)");
    }

    // Not offloadable: keep the key material as written (key || salt), check only that it is hex.
    void read_foreign_key(const json& j, const std::string& ptr, AlgorithmInfo& info) const {
        if (const json* key = member(j, "key")) info.key = hex_field(*key, ptr + "/key");
        if (const json* salt = member(j, "salt")) {
            const std::vector<uint8_t> s = hex_field(*salt, ptr + "/salt");
            info.key.insert(info.key.end(), s.begin(), s.end());
        }
        if (const json* icv = member(j, "icv_len"))
            info.additional_info = static_cast<uint32_t>(as_uint(*icv, ptr + "/icv_len", 64, "an ICV length in bytes"));
    }

    const std::string& file_;
    const JsonLineMap& lines_;
};

}  // namespace

std::vector<AddSa> parse_json(const std::string& text, const std::string& file) {
    check_nesting(text, file);
    const json doc = parse_json_text(text, file);
    const JsonLineMap lines(text, file);
    return JsonSaReader(file, lines).read(doc);
}

}  // namespace ov2::sa_detail
