// The iproute2 SA format (docs/sa-formats.md): `ip xfrm state add ...` lines and the listing that
// `ip [-s] xfrm state` prints. Both are read with one keyword parser: a listing is an `add` command spread
// over indented lines, plus a few lines of its own (anti-replay context, lifetime, stats, ...).
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "sa_file_internal.h"

namespace ov2::sa_detail {
namespace {

// ---- lexing ---------------------------------------------------------------------------------------------

struct Token {
    std::string text;
    int line = 0;
};

struct Line {
    int line = 0;
    bool indented = false;  // listing detail line (starts with a tab or a space)
    std::vector<Token> tokens;
};

std::string where(const std::string& file, int line) { return file + ":" + std::to_string(line); }

void reject_control_characters(std::string_view s, const std::string& file, int line) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
            char code[8];
            std::snprintf(code, sizeof code, "0x%02x", u);
            throw InputError(where(file, line), "", std::string("control character ") + code, "printable text");
        }
    }
}

// Shell-like words: '...' and "..." quote, a backslash escapes, '#' starts a comment, a trailing backslash
// continues the line. Returns true when the line continues.
bool lex_physical_line(std::string_view s, int line, const std::string& file, std::vector<Token>& out) {
    reject_control_characters(s, file, line);
    size_t i = 0;
    const size_t n = s.size();
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    for (;;) {
        while (i < n && blank(s[i])) ++i;
        if (i == n || s[i] == '#') return false;
        std::string word;
        while (i < n && !blank(s[i])) {
            const char c = s[i];
            if (c == '\'' || c == '"') {
                size_t j = i + 1;
                for (; j < n && s[j] != c; ++j) {
                    if (c == '"' && s[j] == '\\' && j + 1 < n) ++j;
                    word += s[j];
                }
                if (j >= n)
                    throw InputError(where(file, line), "", std::string("unterminated ") + c + " quote",
                                     std::string("a closing ") + c + " on the same line");
                i = j + 1;
            } else if (c == '\\') {
                if (i + 1 == n) {
                    if (!word.empty()) out.push_back({word, line});
                    return true;
                }
                word += s[i + 1];
                i += 2;
            } else {
                word += c;
                ++i;
            }
        }
        out.push_back({word, line});
    }
}

std::vector<Line> split_lines(std::string_view text, const std::string& file) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    std::vector<Line> lines;
    Line current;
    bool continuing = false;
    int number = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view physical = text.substr(pos, end - pos);
        pos = end + 1;
        ++number;
        if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
        if (!continuing) current = Line{number, !physical.empty() && (physical[0] == ' ' || physical[0] == '\t'), {}};
        continuing = lex_physical_line(physical, number, file, current.tokens);
        if (!continuing && !current.tokens.empty()) lines.push_back(current);
    }
    if (continuing && !current.tokens.empty()) lines.push_back(current);
    return lines;
}

// ---- small parsers --------------------------------------------------------------------------------------

// iproute2's get_u32(..., 0): decimal, 0x hex or 0 octal; the whole word must be the number.
std::optional<uint64_t> parse_number(std::string_view text, uint64_t max) {
    if (text.empty() || text[0] == '-' || text[0] == '+') return std::nullopt;
    const std::string s(text);
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
    if (errno || end != s.c_str() + s.size() || v > max) return std::nullopt;
    return v;
}

// ip -s prints "0x1234(4660)" and "12(0x0000000c)": the part in parentheses repeats the number.
std::string_view without_paren_suffix(std::string_view text) {
    const size_t open = text.find('(');
    if (open != std::string_view::npos && open > 0 && text.back() == ')') return text.substr(0, open);
    return text;
}

std::string_view without_trailing_comma(std::string_view text) {
    if (!text.empty() && text.back() == ',') text.remove_suffix(1);
    return text;
}

bool matches(const std::string& prefix, const char* full) {
    return !prefix.empty() && std::strncmp(prefix.c_str(), full, prefix.size()) == 0 && prefix.size() <= std::strlen(full);
}

bool is_bitmap_word(const std::string& t) {
    if (t.size() != 8) return false;
    for (char c : t)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

// ---- the state being read -------------------------------------------------------------------------------

template <class T>
struct Seen {
    T value{};
    int line = 0;
    explicit operator bool() const { return line != 0; }
};

struct Algo {
    std::string kind;  // enc, auth, auth-trunc, aead, comp
    std::string name;
    std::vector<uint8_t> key;
    std::optional<uint32_t> bits;  // auth-trunc: truncation, aead: ICV, in bits
    int line = 0;
};

struct Encap {
    std::string type;
    uint32_t sport = 0;
    uint32_t dport = 0;
};

struct TextState {
    int line = 0;
    bool listing = false;
    Seen<IpAddr> src, dst;
    Seen<std::string> proto, mode, dir, offload_dir;
    Seen<uint32_t> spi, replay_window, listed_window;
    Seen<uint64_t> seq, seq_hi;
    Seen<bool> esn;
    std::optional<Algo> enc, auth, aead, comp;
    Seen<Encap> encap;
};

enum class Context { Command, Listing };

// ---- the keyword parser ---------------------------------------------------------------------------------

class Cursor {
public:
    Cursor(std::vector<Token> tokens, const std::string& file) : t_(std::move(tokens)), file_(file) {}
    bool done() const { return pos_ >= t_.size(); }
    const Token& peek() const { return t_[pos_]; }
    const Token& next() { return t_[pos_++]; }
    // The value after `keyword`, or an error naming what should have followed.
    const Token& value(const Token& keyword, const std::string& expected) {
        if (done()) throw InputError(where(file_, keyword.line), keyword.text, "missing value", expected);
        return next();
    }

private:
    std::vector<Token> t_;
    size_t pos_ = 0;
    const std::string& file_;
};

const char* const kXfrmFlags[] = {"noecn", "decap-dscp", "nopmtudisc", "wildrecv", "icmp", "af-unspec", "align4", "esn"};
constexpr uint32_t kXfrmFlagEsn = 0x80;
const char* const kLimits[] = {"time-soft",  "time-hard",  "time-use-soft", "time-use-hard",
                               "byte-soft",  "byte-hard",  "packet-soft",   "packet-hard"};
const char* const kModes[] = {"transport", "tunnel", "ro", "in_trigger", "beet", "iptfs"};
const char* const kIptfsNumbers[] = {"pkt-size", "max-queue-size", "drop-time", "reorder-window", "init-delay"};
const char* const kSelectorWords[] = {"src", "dst", "dev", "proto", "sport", "dport", "type", "code", "key", "uid"};

template <size_t N>
int index_in(const std::string& word, const char* const (&list)[N]) {
    for (size_t i = 0; i < N; ++i)
        if (word == list[i]) return static_cast<int>(i);
    return -1;
}

class KeywordParser {
public:
    KeywordParser(const std::string& file, Context ctx) : file_(file), ctx_(ctx) {}

    // Applies keywords until the cursor is empty; an unknown keyword is an error.
    void run(Cursor& c, TextState& st) {
        while (!c.done()) {
            const Token kw = c.next();
            if (!apply(kw, c, st)) unknown_keyword(kw);
        }
    }

private:
    [[noreturn]] void fail(const Token& at, const std::string& field, const std::string& problem,
                           const std::string& expected) const {
        throw InputError(where(file_, at.line), field, problem, expected);
    }
    [[noreturn]] void unknown_keyword(const Token& kw) const {
        fail(kw, "", "unknown keyword " + quote(kw.text),
             ctx_ == Context::Command
                 ? "an ip xfrm state add argument: src, dst, proto, spi, mode, reqid, enc, auth, auth-trunc, aead, "
                   "replay-window, replay-seq, replay-seq-hi, flag, sel, limit, encap, dir, offload, mark, if_id, ..."
                 : "an ip xfrm state listing line (proto, replay-window, flag, aead, enc, auth, auth-trunc, encap, "
                   "anti-replay, sel, lifetime, stats, dir, crypto offload parameters, ...)");
    }
    template <class T>
    void once(Seen<T>& slot, const Token& kw, T value) const {
        if (slot) fail(kw, kw.text, "given twice (also on line " + std::to_string(slot.line) + ")", "it once per state");
        slot.value = std::move(value);
        slot.line = kw.line;
    }
    uint64_t number(Cursor& c, const Token& kw, uint64_t max, const std::string& expected) const {
        const Token& v = c.value(kw, expected);
        std::string_view text = v.text;
        if (ctx_ == Context::Listing) text = without_trailing_comma(without_paren_suffix(text));
        const std::optional<uint64_t> n = parse_number(text, UINT64_MAX);
        if (!n) fail(v, kw.text, quote(v.text) + " is not a valid number", expected);
        if (*n > max) fail(v, kw.text, number_text(*n) + " is out of range", expected);
        return *n;
    }
    IpAddr address(const Token& kw, const Token& v) const {
        std::optional<IpAddr> a;
        if (v.text.find('/') == std::string::npos) a = IpAddr::parse(v.text);
        if (!a) fail(v, kw.text, quote(v.text) + " is not an address", "an IPv4 or IPv6 host address");
        return *a;
    }

    bool apply(const Token& kw, Cursor& c, TextState& st) {
        const std::string& k = kw.text;
        if (k == "src" || k == "dst") {
            const IpAddr a = address(kw, c.value(kw, "an IPv4 or IPv6 address"));
            once(k == "src" ? st.src : st.dst, kw, a);
        } else if (k == "proto") {
            once(st.proto, kw, c.value(kw, "esp or ah").text);
        } else if (k == "spi") {
            once(st.spi, kw, static_cast<uint32_t>(number(c, kw, UINT32_MAX, "a 32-bit SPI such as 0x00001234")));
        } else if (k == "mode") {
            mode(kw, c, st);
        } else if (k == "dir") {
            once(st.dir, kw, direction(kw, c));
        } else if (k == "reqid" || k == "seq" || k == "if_id" || k == "tfcpad" || k == "pcpu-num" ||
                   k == "replay-oseq" || k == "replay-oseq-hi" || index_in(k, kIptfsNumbers) >= 0) {
            number(c, kw, UINT32_MAX, "a 32-bit number");  // no bearing on the NIC's receive path
        } else if (k == "replay-window") {
            once(st.replay_window, kw, static_cast<uint32_t>(number(c, kw, 4096, "a window of 0 to 4096 packets")));
        } else if (k == "replay-seq") {
            once(st.seq, kw, number(c, kw, UINT32_MAX, "a 32-bit sequence number"));
        } else if (k == "replay-seq-hi") {
            once(st.seq_hi, kw, number(c, kw, UINT32_MAX, "the high 32 bits of the ESN"));
        } else if (k == "flag") {
            flags(kw, c, st);
        } else if (k == "extra-flag") {
            extra_flags(kw, c);
        } else if (k == "sel") {
            selector(kw, c);
        } else if (k == "limit") {
            const Token& name = c.value(kw, "a limit name and value, e.g. limit byte-hard 1000000");
            if (index_in(name.text, kLimits) < 0)
                fail(name, "limit", "unknown limit " + quote(name.text), "one of time-soft, time-hard, time-use-soft, "
                                                                          "time-use-hard, byte-soft, byte-hard, "
                                                                          "packet-soft, packet-hard");
            number(c, name, UINT64_MAX, "a number");  // the Linux stack enforces lifetimes, not the NIC
        } else if (k == "encap") {
            encap(kw, c, st);
        } else if (k == "coa" || k == "ctx") {
            c.value(kw, k == "coa" ? "an address" : "a security context");
        } else if (k == "mark" || k == "output-mark") {
            mark(kw, c);
        } else if (k == "offload") {
            offload(kw, c, st);
        } else if (k == "dont-frag") {
        } else if (k == "enc" || k == "auth" || k == "auth-trunc" || k == "aead" || k == "comp") {
            algorithm(kw, c, st);
        } else {
            return false;
        }
        return true;
    }

    void mode(const Token& kw, Cursor& c, TextState& st) const {
        const Token& v = c.value(kw, "transport or tunnel");
        for (const char* m : kModes)
            if (matches(v.text, m)) return once(st.mode, kw, std::string(m));
        fail(v, "mode", "unknown mode " + quote(v.text), "transport or tunnel (beet, ro, in_trigger, iptfs: not offloadable)");
    }

    std::string direction(const Token& kw, Cursor& c) const {
        const Token& v = c.value(kw, "in or out");
        if (v.text != "in" && v.text != "out") fail(v, kw.text, quote(v.text), "in or out");
        return v.text;
    }

    void flags(const Token& kw, Cursor& c, TextState& st) const {
        const std::string expected = "flag names (noecn, decap-dscp, nopmtudisc, wildrecv, icmp, af-unspec, align4, "
                                     "esn) or one 0x hex value";
        // `ip -s xfrm state` prints "flag  (0x00000000)" for an SA without flags; the "(...)" group is gone
        // by now, so nothing follows the keyword.
        if (ctx_ == Context::Listing && c.done()) return;
        const Token& first = c.value(kw, expected);
        uint32_t bits = 0;
        if (first.text.size() > 2 && first.text.compare(0, 2, "0x") == 0) {
            const std::optional<uint64_t> v = parse_number(first.text, 0xff);
            if (!v) fail(first, "flag", quote(first.text) + " is not an 8-bit value", expected);
            bits = static_cast<uint32_t>(*v);
        } else {
            const int idx = index_in(first.text, kXfrmFlags);
            if (idx < 0) fail(first, "flag", "unknown flag " + quote(first.text), expected);
            bits = 1u << idx;
            while (!c.done()) {
                const int more = index_in(c.peek().text, kXfrmFlags);
                if (more >= 0) bits |= 1u << more;
                else if (!leftover_flag_bits(c.peek().text, bits)) break;
                c.next();
            }
        }
        if (bits & kXfrmFlagEsn) once(st.esn, kw, true);
    }

    // Listings print flag bits without a name as bare hex after the names ("flag af-unspec 80"). align4 and
    // the others only steer the Linux stack, so only esn matters here.
    bool leftover_flag_bits(const std::string& word, uint32_t& bits) const {
        if (ctx_ != Context::Listing || word.empty() || word.size() > 2) return false;
        const std::optional<uint64_t> v = parse_number("0x" + word, 0xff);
        if (!v) return false;
        bits |= static_cast<uint32_t>(*v);
        return true;
    }

    void extra_flags(const Token& kw, Cursor& c) const {
        const Token& first = c.value(kw, "dont-encap-dscp, oseq-may-wrap or a 0x value");
        if (first.text.compare(0, 2, "0x") == 0) {
            if (!parse_number(first.text, UINT32_MAX)) fail(first, kw.text, quote(first.text), "a 32-bit 0x value");
            return;
        }
        auto known = [](const std::string& w) { return w == "dont-encap-dscp" || w == "oseq-may-wrap"; };
        if (!known(first.text)) fail(first, kw.text, "unknown extra flag " + quote(first.text), "dont-encap-dscp or oseq-may-wrap");
        while (!c.done() && known(c.peek().text)) c.next();
    }

    // The policy selector of a state: the NIC matches on the SA's own addresses, so it is read and dropped.
    void selector(const Token& kw, Cursor& c) const {
        const std::string expected = "src ADDR[/PLEN], dst ADDR[/PLEN], dev DEV, proto PROTO, sport, dport, ...";
        if (c.done() || index_in(c.peek().text, kSelectorWords) < 0)
            fail(kw, "sel", c.done() ? "empty selector" : "unknown selector field " + quote(c.peek().text), expected);
        while (!c.done() && index_in(c.peek().text, kSelectorWords) >= 0) {
            const Token word = c.next();
            c.value(word, "a value after sel " + word.text);
        }
    }

    void encap(const Token& kw, Cursor& c, TextState& st) const {
        Encap e;
        const bool listed = !c.done() && c.peek().text == "type";  // "encap type espinudp sport 4500 dport 4500 addr A"
        if (listed) c.next();
        const Token& type = c.value(kw, "espinudp SPORT DPORT OADDR");
        if (type.text != "espinudp" && type.text != "espinudp-nonike" && type.text != "espintcp")
            fail(type, "encap", "unknown encapsulation " + quote(type.text), "espinudp, espinudp-nonike or espintcp");
        e.type = type.text;
        e.sport = static_cast<uint32_t>(port(c, kw, listed ? "sport" : nullptr));
        e.dport = static_cast<uint32_t>(port(c, kw, listed ? "dport" : nullptr));
        if (listed) label(c, kw, "addr");
        c.value(kw, "the original address (OADDR), e.g. 0.0.0.0");
        once(st.encap, kw, e);
    }
    uint64_t port(Cursor& c, const Token& kw, const char* label_word) const {
        if (label_word) label(c, kw, label_word);
        return number(c, kw, 65535, "a UDP port");
    }
    void label(Cursor& c, const Token& kw, const char* word) const {
        const Token& t = c.value(kw, word);
        if (t.text != word) fail(t, kw.text, quote(t.text), word);
    }

    void mark(const Token& kw, Cursor& c) const {
        const Token& v = c.value(kw, "a mark value");
        if (v.text.find('/') != std::string::npos) return;  // listing form: 0x1/0xffffffff
        if (!parse_number(v.text, UINT32_MAX)) fail(v, kw.text, quote(v.text), "a 32-bit mark");
        if (!c.done() && c.peek().text == "mask") {
            const Token m = c.next();
            number(c, m, UINT32_MAX, "a 32-bit mask");
        }
    }

    void offload(const Token& kw, Cursor& c, TextState& st) const {
        if (!c.done() && (c.peek().text == "crypto" || c.peek().text == "packet")) c.next();
        bool dev = false;
        while (!c.done() && (c.peek().text == "dev" || c.peek().text == "dir")) {
            const Token word = c.next();
            if (word.text == "dev") {
                c.value(word, "a device name");
                dev = true;
            } else {
                once(st.offload_dir, word, direction(word, c));
            }
        }
        if (!dev || !st.offload_dir) fail(kw, "offload", "incomplete", "offload [crypto|packet] dev DEV dir in|out");
    }

    void algorithm(const Token& kw, Cursor& c, TextState& st) const {
        Algo a;
        a.kind = kw.text;
        a.line = kw.line;
        a.name = c.value(kw, "an algorithm name such as 'cbc(aes)'").text;
        if (a.kind != "comp") a.key = key(c.value(kw, "key material (0x followed by hex digits)"), kw);
        if (a.kind == "comp" && ctx_ == Context::Listing && !c.done() && c.peek().text.compare(0, 2, "0x") == 0) c.next();
        if (a.kind == "auth-trunc") a.bits = static_cast<uint32_t>(number(c, kw, 4096, "the ICV length in bits"));
        if (a.kind == "aead") a.bits = static_cast<uint32_t>(number(c, kw, 4096, "the ICV length in bits (64, 96 or 128)"));
        std::optional<Algo>* slot = &st.enc;
        if (a.kind == "aead") slot = &st.aead;
        else if (a.kind == "auth" || a.kind == "auth-trunc") slot = &st.auth;
        else if (a.kind == "comp") slot = &st.comp;
        const bool clash = slot->has_value() || (a.kind == "aead" && (st.enc || st.auth)) ||
                           ((a.kind == "enc" || a.kind == "auth" || a.kind == "auth-trunc") && st.aead);
        if (clash)
            fail(kw, a.kind, slot->has_value() ? "a second " + a.kind + " algorithm" : "aead mixed with enc/auth",
                 "one aead, or one enc with at most one auth or auth-trunc");
        *slot = std::move(a);
    }

    // Listings always print 0x-hex; commands also take a plain string whose bytes are the key (as ip does).
    std::vector<uint8_t> key(const Token& v, const Token& kw) const {
        std::vector<uint8_t> bytes;
        const bool hex = v.text.size() >= 2 && v.text.compare(0, 2, "0x") == 0;
        if (!hex && ctx_ == Context::Listing)
            fail(v, kw.text, "key not shown (listing made with nokeys?)", "0x followed by the key in hex");
        if (!hex) return std::vector<uint8_t>(v.text.begin(), v.text.end());
        std::string problem;
        if (!parse_hex(v.text, bytes, problem)) fail(v, kw.text + " key", problem, "0x followed by 2 hex digits per byte");
        return bytes;
    }

    const std::string& file_;
    Context ctx_;
};

// ---- from a parsed state to an AddSa --------------------------------------------------------------------

struct HmacInfo {
    const char* name;
    uint32_t id;
    size_t key_bytes;
    uint32_t full_bits;
    uint32_t linux_default_bits;  // what `auth` (no -trunc) gives: the kernel's icv_truncbits
    uint32_t ndis_bits;           // the truncation IPsecOV2's identifier stands for
};
const HmacInfo kHmacs[] = {
    {"hmac(md5)", ndis::kAuthMd5, 16, 128, 96, 96},
    {"hmac(sha1)", ndis::kAuthSha1, 20, 160, 96, 96},
    {"hmac(sha256)", ndis::kAuthSha256, 32, 256, 96, 128},
};
// pfkey compatibility names the kernel accepts for `add`; listings print the first form.
const std::map<std::string, std::string> kAliases = {
    {"md5", "hmac(md5)"},       {"sha1", "hmac(sha1)"},       {"sha256", "hmac(sha256)"},
    {"sha384", "hmac(sha384)"}, {"sha512", "hmac(sha512)"},   {"rmd160", "hmac(rmd160)"},
    {"aes", "cbc(aes)"},        {"des", "cbc(des)"},          {"des3_ede", "cbc(des3_ede)"},
    {"cipher_null", "ecb(cipher_null)"}, {"blowfish", "cbc(blowfish)"}, {"cast5", "cbc(cast5)"},
    {"serpent", "cbc(serpent)"}, {"twofish", "cbc(twofish)"}, {"camellia", "cbc(camellia)"},
};
const std::set<std::string> kForeignEnc = {"rfc3686(ctr(aes))", "cbc(blowfish)", "cbc(cast5)",
                                           "cbc(serpent)",      "cbc(twofish)",  "cbc(camellia)"};
const std::set<std::string> kForeignAuth = {"hmac(sha384)", "hmac(sha512)", "hmac(rmd160)", "xcbc(aes)", "cmac(aes)"};
const std::set<std::string> kForeignAead = {"rfc4309(ccm(aes))", "rfc7539esp(chacha20,poly1305)"};

const char* const kEncChoices = "cbc(aes), cbc(des3_ede), cbc(des), ecb(cipher_null), or (not offloadable) "
                                "rfc3686(ctr(aes)), cbc(serpent), cbc(twofish), cbc(camellia), cbc(cast5), "
                                "cbc(blowfish)";
const char* const kAuthChoices = "hmac(md5), hmac(sha1), hmac(sha256), digest_null, or (not offloadable) "
                                 "hmac(sha384), hmac(sha512), hmac(rmd160), xcbc(aes), cmac(aes)";
const char* const kAeadChoices = "rfc4106(gcm(aes)), rfc4543(gcm(aes)), or (not offloadable) rfc4309(ccm(aes)), "
                                 "rfc7539esp(chacha20,poly1305)";

std::string canonical(const std::string& name) {
    auto it = kAliases.find(name);
    return it == kAliases.end() ? name : it->second;
}

std::string bytes_text(size_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

uint32_t aes_size_id(size_t key_bytes, uint32_t id128, uint32_t id192, uint32_t id256) {
    return key_bytes == 16 ? id128 : key_bytes == 24 ? id192 : id256;
}

class StateBuilder {
public:
    explicit StateBuilder(const std::string& file) : file_(file) {}

    AddSa build(const TextState& st, SaOrigin& origin) {
        foreign_.clear();
        auth_not_offloadable_ = false;
        AddSa sa;
        sa.name = where(file_, st.line);
        sa.replay_window = 0;  // Linux: no replay-window means no anti-replay window
        origin.name = {sa.name, ""};
        const IpsecOperation op = operation(st);
        SecurityAssociation& s = sa.sec_assoc[0];
        s.operation = op;
        s.spi = spi(st);
        origin.spi[0] = {where(file_, st.spi.line), "spi"};
        addresses(st, sa);
        sa.flags |= direction(st);
        s.mode = mode(st);
        if (op == IpsecOperation::Esp) esp_algorithms(st, s);
        else ah_algorithm(st, s);
        sequence_numbers(st, sa);
        encapsulation(st, sa);
        for (const std::string& f : foreign_) sa.not_offloadable += (sa.not_offloadable.empty() ? "" : ", ") + f;
        return sa;
    }

private:
    [[noreturn]] void fail(int line, const std::string& field, const std::string& problem,
                           const std::string& expected) const {
        throw InputError(where(file_, line), field, problem, expected);
    }
    void foreign(const std::string& why) {
        for (const std::string& f : foreign_)
            if (f == why) return;
        foreign_.push_back(why);
    }

    IpsecOperation operation(const TextState& st) const {
        if (!st.proto) fail(st.line, "proto", "missing", "proto esp or proto ah");
        const std::string& p = st.proto.value;
        if (p == "esp") return IpsecOperation::Esp;
        if (p == "ah") return IpsecOperation::Ah;
        if (p == "comp" || p == "route2" || p == "hao" || p == "ipsec-any")
            fail(st.proto.line, "proto", quote(p) + " is not IPsec ESP/AH", "proto esp or proto ah");
        fail(st.proto.line, "proto", "unknown protocol " + quote(p), "esp or ah");
    }

    uint32_t spi(const TextState& st) const {
        if (!st.spi) fail(st.line, "spi", "missing", "spi 0x... (a non-zero 32-bit SPI)");
        if (st.spi.value == 0) fail(st.spi.line, "spi", "0 (reserved: RFC 4303 section 2.1)", "a non-zero SPI");
        return st.spi.value;
    }

    void addresses(const TextState& st, AddSa& sa) const {
        if (!st.dst) fail(st.line, "dst", "missing", "dst ADDR (the SA's destination address)");
        if (st.src && st.src.value.version != st.dst.value.version)
            fail(st.dst.line, "dst", "IPv" + std::to_string(st.dst.value.version) + " but src is IPv" +
                                         std::to_string(st.src.value.version),
                 "src and dst of the same IP version");
        sa.dst = st.dst.value;
        sa.src = st.src ? st.src.value : IpAddr{};
        sa.src.version = sa.dst.version;
        sa.flags = sa.dst.version == 6 ? ndis::kAddSaIpv6 : 0;
    }

    // `dir in|out` (or the offload's dir) when given; inbound otherwise: the model is a receive path.
    uint32_t direction(const TextState& st) const {
        if (st.dir && st.offload_dir && st.dir.value != st.offload_dir.value)
            fail(st.offload_dir.line, "dir", "offload dir " + st.offload_dir.value + " but the state is dir " + st.dir.value,
                 "the same direction");
        const Seen<std::string>& d = st.dir ? st.dir : st.offload_dir;
        return (!d || d.value == "in") ? ndis::kAddSaInbound : 0;
    }

    SaMode mode(const TextState& st) {
        if (!st.mode || st.mode.value == "transport") return SaMode::Transport;
        if (st.mode.value == "tunnel") return SaMode::Tunnel;
        foreign("mode " + st.mode.value);
        return SaMode::Transport;
    }

    void esp_algorithms(const TextState& st, SecurityAssociation& s) {
        if (st.comp) fail(st.comp->line, "comp", "an IPComp algorithm in an ESP state", "no comp (IPComp is proto comp)");
        if (st.aead) return aead(*st.aead, s);
        if (!st.enc)
            fail(st.line, "enc", "ESP without enc or aead",
                 "enc ALGO KEY (enc 'ecb(cipher_null)' \"\" for integrity-only ESP) or aead ALGO KEY ICV-BITS");
        encryption(*st.enc, s);
        if (st.auth) authentication(*st.auth, s);
        if (s.encryption.identifier == ndis::kEncNull && s.authentication.identifier == ndis::kAuthNone &&
            !auth_not_offloadable_)
            fail(st.enc->line, "enc " + st.enc->name, "null encryption without authentication",
                 "an auth or auth-trunc algorithm (RFC 4303 section 3.2 forbids NULL/NULL)");
    }

    void ah_algorithm(const TextState& st, SecurityAssociation& s) {
        for (const std::optional<Algo>* a : {&st.enc, &st.aead, &st.comp})
            if (a->has_value())
                fail((*a)->line, (*a)->kind, "present in an AH state", "only auth or auth-trunc with proto ah");
        if (!st.auth) fail(st.line, "auth", "AH without an authentication algorithm", "auth-trunc ALGO KEY BITS or auth ALGO KEY");
        authentication(*st.auth, s);
        if (s.authentication.identifier == ndis::kAuthNone && !auth_not_offloadable_)
            fail(st.auth->line, st.auth->kind + " " + st.auth->name, "no authentication in an AH state",
                 "an authentication algorithm");
    }

    void encryption(const Algo& a, SecurityAssociation& s) {
        const std::string name = canonical(a.name);
        const std::string field = a.kind + " " + name;
        const size_t n = a.key.size();
        auto want = [&](size_t bytes) {
            if (n != bytes) fail(a.line, field, bytes_text(n), std::to_string(bytes));
        };
        if (name == "cbc(aes)") {
            if (n != 16 && n != 24 && n != 32) fail(a.line, field, bytes_text(n), "16, 24 or 32");
            s.encryption.identifier = aes_size_id(n, ndis::kEncAesCbc128, ndis::kEncAesCbc192, ndis::kEncAesCbc256);
        } else if (name == "cbc(des3_ede)") {
            want(24);
            s.encryption.identifier = ndis::kEnc3DesCbc;
        } else if (name == "cbc(des)") {
            want(8);
            s.encryption.identifier = ndis::kEncDesCbc;
        } else if (name == "ecb(cipher_null)") {
            if (n) fail(a.line, field, bytes_text(n), "no key (\"\")");
            s.encryption.identifier = ndis::kEncNull;
        } else if (kForeignEnc.count(name)) {
            foreign(name);
        } else {
            fail(a.line, a.kind, "unknown algorithm " + quote(a.name), std::string("one of ") + kEncChoices);
        }
        s.encryption.key = a.key;
    }

    void authentication(const Algo& a, SecurityAssociation& s) {
        const std::string name = canonical(a.name);
        const std::string field = a.kind + " " + name;
        s.authentication.key = a.key;
        if (name == "digest_null") {
            if (!a.key.empty()) fail(a.line, field, bytes_text(a.key.size()), "no key (\"\")");
            return;
        }
        if (kForeignAuth.count(name)) {
            auth_not_offloadable_ = true;
            return foreign(name);
        }
        const HmacInfo* h = nullptr;
        for (const HmacInfo& i : kHmacs)
            if (name == i.name) h = &i;
        if (!h) fail(a.line, a.kind, "unknown algorithm " + quote(a.name), std::string("one of ") + kAuthChoices);
        if (a.key.size() != h->key_bytes) fail(a.line, field, bytes_text(a.key.size()), std::to_string(h->key_bytes));
        const uint32_t bits = a.bits ? *a.bits : h->linux_default_bits;
        if (bits == 0 || bits > h->full_bits || bits % 8)
            fail(a.line, field, std::to_string(bits) + " bits", "a multiple of 8 up to " + std::to_string(h->full_bits));
        if (bits != h->ndis_bits) {
            auth_not_offloadable_ = true;
            return foreign(name + " truncated to " + std::to_string(bits) + " bits" +
                           (a.bits ? "" : " (the Linux default for auth)"));
        }
        s.authentication.identifier = h->id;
    }

    void aead(const Algo& a, SecurityAssociation& s) {
        const std::string field = a.kind + " " + a.name;
        const size_t n = a.key.size();
        const uint32_t bits = a.bits.value_or(0);
        if (kForeignAead.count(a.name)) {
            s.encryption.key = a.key;
            auth_not_offloadable_ = true;
            return foreign(a.name);
        }
        const bool gcm = a.name == "rfc4106(gcm(aes))";
        if (!gcm && a.name != "rfc4543(gcm(aes))")
            fail(a.line, a.kind, "unknown algorithm " + quote(a.name), std::string("one of ") + kAeadChoices);
        if (n != 20 && n != 28 && n != 36)
            fail(a.line, field, bytes_text(n), "20, 28 or 36 (an AES key followed by the 4-byte salt)");
        if (gcm && bits != 64 && bits != 96 && bits != 128) fail(a.line, field, "ICV " + std::to_string(bits) + " bits", "64, 96 or 128");
        if (!gcm && bits != 128) fail(a.line, field, "ICV " + std::to_string(bits) + " bits", "128 (RFC 4543)");
        if (gcm) {
            s.encryption = {aes_size_id(n - 4, ndis::kEncAesGcm128, ndis::kEncAesGcm192, ndis::kEncAesGcm256), a.key,
                            bits / 8};
        } else {  // ESP with NULL encryption and AES-GMAC authentication
            s.encryption = {ndis::kEncNull, {}, 0};
            s.authentication = {aes_size_id(n - 4, ndis::kAuthAesGmac128, ndis::kAuthAesGmac192, ndis::kAuthAesGmac256),
                                a.key, 16};
        }
    }

    void sequence_numbers(const TextState& st, AddSa& sa) const {
        SecurityAssociation& s = sa.sec_assoc[0];
        const bool esn = static_cast<bool>(st.esn);
        if (esn) s.flags |= ndis::kSaFlagEsn;
        if (!st.listing && esn && (!st.replay_window || st.replay_window.value == 0))
            fail(st.esn.line, "flag esn", "set without a replay window", "replay-window N (N > 0) with flag esn, as ip requires");
        if (st.seq_hi && st.seq_hi.value && !esn)
            fail(st.seq_hi.line, st.listing ? "seq-hi" : "replay-seq-hi", "non-zero without ESN", "flag esn");
        s.sequence_number_high_order = static_cast<uint32_t>(st.seq_hi.value);
        sa.replay_seq = (esn ? st.seq_hi.value << 32 : 0) | st.seq.value;
        // Listings of ESN (and > 32 packet) windows print "replay-window 0" and the real size in the context.
        sa.replay_window = st.listed_window ? st.listed_window.value : st.replay_window.value;
    }

    void encapsulation(const TextState& st, AddSa& sa) {
        if (!st.encap) return;
        const Encap& e = st.encap.value;
        if (sa.sec_assoc[0].operation != IpsecOperation::Esp)
            fail(st.encap.line, "encap", "UDP encapsulation of an AH state", "no encap (UDP encapsulation carries ESP only)");
        if (e.type != "espinudp") foreign("encap " + e.type);
        else if (e.sport != kUdpEspPort || e.dport != kUdpEspPort)
            foreign("encap espinudp on ports " + std::to_string(e.sport) + "/" + std::to_string(e.dport) +
                    " (IPsecOV2 UDP-ESP is port 4500)");
        sa.udp_esp_encapsulation = sa.sec_assoc[0].mode == SaMode::Tunnel ? ndis::kUdpEspTunnel : ndis::kUdpEspTransport;
    }

    const std::string& file_;
    std::vector<std::string> foreign_;
    bool auth_not_offloadable_ = false;
};

// ---- the file -------------------------------------------------------------------------------------------

class TextSaReader {
public:
    explicit TextSaReader(const std::string& file) : file_(file), builder_(file) {}

    std::vector<AddSa> read(const std::vector<Line>& lines) {
        for (size_t i = 0; i < lines.size();) {
            const Line& l = lines[i];
            if (is_detail(l))
                fail(l.tokens[0], "", "indented line outside a state listing",
                     "a listing starting with an unindented 'src ADDR dst ADDR' line");
            if (l.tokens[0].text == "src") {
                size_t end = i + 1;
                while (end < lines.size() && is_detail(lines[end])) ++end;
                read_listing(lines, i, end);
                i = end;
            } else {
                read_command(l);
                ++i;
            }
        }
        check_across(sas_, origins_);
        return sas_;
    }

private:
    [[noreturn]] void fail(const Token& at, const std::string& field, const std::string& problem,
                           const std::string& expected) const {
        throw InputError(where(file_, at.line), field, problem, expected);
    }

    void add(const TextState& st) {
        SaOrigin origin;
        sas_.push_back(builder_.build(st, origin));
        origins_.push_back(origin);
    }
    // Listing detail lines are indented; an indented `ip ...` line is still a command.
    static bool is_detail(const Line& l) {
        return l.indented && l.tokens[0].text != "ip" && l.tokens[0].text != "sudo";
    }

    // -- ip xfrm state add ... --
    void read_command(const Line& l) {
        const std::vector<Token>& t = l.tokens;
        size_t k = 0;
        auto word = [&](const char* expected) -> const Token& {
            if (k >= t.size()) fail(t.back(), "", "command ends early", expected);
            return t[k];
        };
        const char* kExpected = "ip xfrm state add ..., ip xfrm policy ... (ignored), a state listing "
                                "(src ADDR dst ADDR + indented lines), a # comment or a blank line";
        if (t[k].text == "sudo") ++k;
        if (word(kExpected).text != "ip") fail(t[k], "", "line starts with " + quote(t[0].text), kExpected);
        for (++k; k < t.size() && !t[k].text.empty() && t[k].text[0] == '-'; ++k) skip_ip_option(t, k);
        if (!matches(word("xfrm").text, "xfrm")) fail(t[k], "", "not an ip xfrm command: " + quote(t[k].text), kExpected);
        ++k;
        const Token& object = word("state or policy");
        if (matches(object.text, "policy")) return;  // policies steer the stack; the NIC holds SAs only
        if (!matches(object.text, "state") && !matches(object.text, "sa"))
            fail(object, "", "ip xfrm " + quote(object.text) + " is not supported", "ip xfrm state add or ip xfrm policy");
        ++k;
        const Token& verb = word("add");
        if ((verb.text == "flush" || verb.text == "deleteall") && sas_.empty()) return;
        if (!matches(verb.text, "add"))
            fail(verb, "", "ip xfrm state " + quote(verb.text) + " is not supported",
                 "ip xfrm state add (flush and deleteall only before the first state)");
        TextState st;
        st.line = l.line;
        Cursor c(std::vector<Token>(t.begin() + static_cast<long>(k) + 1, t.end()), file_);
        KeywordParser(file_, Context::Command).run(c, st);
        add(st);
    }

    void skip_ip_option(const std::vector<Token>& t, size_t& k) const {
        static const std::set<std::string> plain = {"-4", "-6", "-s", "-stats", "-statistics", "-d", "-details"};
        if (plain.count(t[k].text)) return;
        if (t[k].text == "-n" || t[k].text == "-netns") {
            if (k + 1 >= t.size()) fail(t[k], t[k].text, "missing namespace name", "-n NETNS");
            ++k;
            return;
        }
        fail(t[k], "", "unsupported ip option " + quote(t[k].text), "-4, -6, -s, -d or -n NETNS");
    }

    // -- the listing of one state (or one policy, which is skipped) --
    void read_listing(const std::vector<Line>& lines, size_t first, size_t end) {
        const Line& header = lines[first];
        if (is_policy_header(header)) return;
        TextState st;
        st.line = header.line;
        st.listing = true;
        parse_listing_tokens(header.tokens, st);
        SubBlock sub = SubBlock::None;
        for (size_t i = first + 1; i < end; ++i) read_listing_line(lines[i], st, sub);
        add(st);
    }

    static bool is_policy_header(const Line& header) {
        for (size_t i = 0; i + 1 < header.tokens.size(); ++i) {
            const std::string& w = header.tokens[i].text;
            if ((w == "src" || w == "dst") && header.tokens[i + 1].text.find('/') != std::string::npos) return true;
        }
        return false;
    }

    enum class SubBlock { None, Lifetime, Stats };

    void read_listing_line(const Line& l, TextState& st, SubBlock& sub) {
        const std::vector<Token>& t = l.tokens;
        const std::string& first = t[0].text;
        if (in_sub_block(t, sub)) return;
        sub = SubBlock::None;
        for (const Token& w : t)
            if (w.text.rfind("(ERROR", 0) == 0) fail(w, "", "the listing reports a truncated attribute", "a complete listing");
        if (first == "lifetime" && t.size() == 2 && (t[1].text == "config:" || t[1].text == "current:")) {
            sub = SubBlock::Lifetime;
        } else if (first == "stats:" && t.size() == 1) {
            sub = SubBlock::Stats;
        } else if (first == "anti-replay") {
            anti_replay(t, st);
        } else if (first == "seq-hi" || first == "oseq-hi" || first == "replay_window" ||
                   (first == "replay-window" && t.size() > 1 && t[1].text.back() == ',')) {
            counters(t, 0, st);
        } else if (is_bitmap_line(t)) {
        } else if (first == "lastused" || first == "security" || first == "extra_flag" || first == "iptfs-opts") {
        } else if (first == "crypto") {
            crypto_offload(t, st);
        } else {
            parse_listing_tokens(t, st);
        }
    }

    // `ip -s` blocks: "lifetime config:" / "lifetime current:" and "stats:", each followed by fixed lines.
    static bool in_sub_block(const std::vector<Token>& t, SubBlock sub) {
        const std::string& first = t[0].text;
        if (sub == SubBlock::Lifetime)
            return first == "limit:" || first == "expire" || first == "add" ||
                   (first.size() > 8 && first.compare(first.size() - 8, 8, "(bytes),") == 0);
        if (sub == SubBlock::Stats)
            return first == "failed" || (first == "replay-window" && t.size() > 2 && t[2].text == "replay");
        return false;
    }

    static bool is_bitmap_line(const std::vector<Token>& t) {
        for (const Token& w : t)
            if (!is_bitmap_word(w.text)) return false;
        return true;
    }

    // Everything of a listing line except "(...)" groups that ip -s adds ("(256 bits)", "(0x00100000)").
    void parse_listing_tokens(const std::vector<Token>& t, TextState& st) {
        std::vector<Token> kept;
        for (size_t i = 0; i < t.size(); ++i) {
            if (t[i].text.empty() || t[i].text[0] != '(') {
                kept.push_back(t[i]);
                continue;
            }
            // skip to the token that closes the parenthesis; a quoted "" token is empty text
            while (i < t.size() && (t[i].text.empty() || t[i].text.back() != ')')) ++i;
        }
        Cursor c(std::move(kept), file_);
        KeywordParser(file_, Context::Listing).run(c, st);
    }

    // "anti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000" or "anti-replay esn context:" [counters]
    void anti_replay(const std::vector<Token>& t, TextState& st) {
        size_t k = 1;
        if (k < t.size() && t[k].text == "esn") ++k;
        if (k >= t.size() || t[k].text != "context:")
            fail(t[0], "anti-replay", "unexpected layout", "anti-replay context: ... or anti-replay esn context:");
        counters(t, k + 1, st);
    }

    // "name value," pairs of the anti-replay lines.
    void counters(const std::vector<Token>& t, size_t k, TextState& st) {
        static const std::set<std::string> ignored = {"oseq", "oseq-hi", "bitmap", "bitmap-length"};
        static const std::set<std::string> known = {"seq", "seq-hi", "replay_window", "replay-window"};
        while (k < t.size()) {
            const Token& name = t[k];
            const std::string n(without_trailing_comma(name.text));
            // The name first: the messages below quote it unfiltered (user text, maybe key material).
            if (!known.count(n) && !ignored.count(n))
                fail(name, "anti-replay", "unknown counter " + quote(n), "seq, seq-hi, oseq, oseq-hi, bitmap, replay_window");
            if (k + 1 >= t.size()) fail(name, n, "missing value", "a number after " + n);
            const Token& v = t[k + 1];
            const std::optional<uint64_t> value = parse_number(without_trailing_comma(v.text), UINT32_MAX);
            if (!value) fail(v, n, quote(v.text) + " is not a valid number", "a 32-bit number");
            if (n == "seq") set_once(st.seq, name, *value);
            else if (n == "seq-hi") set_once(st.seq_hi, name, *value);
            else if (n == "replay_window" || n == "replay-window") set_once(st.listed_window, name, static_cast<uint32_t>(*value));
            k += 2;
        }
    }
    template <class T>
    void set_once(Seen<T>& slot, const Token& at, T value) const {
        if (slot) fail(at, at.text, "given twice (also on line " + std::to_string(slot.line) + ")", "it once per state");
        slot.value = value;
        slot.line = at.line;
    }

    // "crypto offload parameters: dev eth0 dir in mode crypto"
    void crypto_offload(const std::vector<Token>& t, TextState& st) {
        if (t.size() < 3 || t[1].text != "offload" || t[2].text != "parameters:")
            fail(t[0], "crypto", "unexpected layout", "crypto offload parameters: dev DEV dir in|out [mode crypto|packet]");
        for (size_t k = 3; k + 1 < t.size(); k += 2) {
            if (t[k].text != "dir") continue;
            if (t[k + 1].text != "in" && t[k + 1].text != "out") fail(t[k + 1], "dir", quote(t[k + 1].text), "in or out");
            set_once(st.offload_dir, t[k], t[k + 1].text);
        }
    }

    const std::string& file_;
    StateBuilder builder_;
    std::vector<AddSa> sas_;
    std::vector<SaOrigin> origins_;
};

}  // namespace

std::vector<AddSa> parse_iproute2(const std::string& text, const std::string& file) {
    return TextSaReader(file).read(split_lines(text, file));
}

}  // namespace ov2::sa_detail
