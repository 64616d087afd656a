// fuzz_oid_script: one input = an --oids file (docs/usage.md), read with load_oid_script through a memfd
// path. Only InputError may escape; its message is one line and echoes no 12+ hex-digit run of the input.
// What loads: events sorted by frame (stable), before_frame >= 1, an add_sa with at least one SA, the other
// kinds with an SA name. Dictionary: tb/fuzz/dict/oid_script.dict.
#include <algorithm>

#include "fuzz_util.h"
#include "input_error.h"
#include "oid_script.h"

using namespace ov2;
using namespace ov2::fuzz;

namespace ov2::fuzz {

std::vector<Bytes> builtin_seeds() {
    const char* texts[] = {
        R"({"oids": [
  {"before_frame": 100, "oid": "add_sa", "sas": [{"name": "esp-esn-1", "dst": "192.0.2.2", "sec_assoc": [
    {"operation": "esp", "spi": "0x1234", "mode": "tunnel", "esn": true, "seq_hi": 1,
     "encryption": {"algorithm": "aes-gcm-128", "key": "4c80cdefbb5d10da906ac73c3613a634", "salt": "2e443b68"}}]}]},
  {"before_frame": 200, "oid": "update_sa", "sa": "esp-esn-1", "seq_hi": 2},
  {"before_frame": 50, "oid": "update_sa", "sa": "x", "spi": "0x1234", "operation": "ah", "seq_hi": "0xffffffff"},
  {"before_frame": 300, "oid": "delete_sa", "sa": "esp-esn-1"}
]})",
        R"({"oids": []})",
        R"({"oids": [{"before_frame": "7", "oid": "delete_sa", "sa": "a"}, {"before_frame": 7, "oid": "delete_sa", "sa": "b"}]})",
    };
    std::vector<Bytes> out;
    for (const char* t : texts) out.emplace_back(t, t + std::char_traits<char>::length(t));
    return out;
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static MemFile* file = new MemFile("fuzz_oids");
    file->assign(data, size);
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<OidEvent> events;
    try {
        events = load_oid_script(file->path());
    } catch (const InputError& e) {
        check_error_message(e.what(), input);
        return 0;
    }
    for (size_t i = 0; i < events.size(); ++i) {
        const OidEvent& e = events[i];
        FUZZ_CHECK(e.before_frame >= 1, "before_frame 0 accepted");
        if (i) FUZZ_CHECK(events[i - 1].before_frame <= e.before_frame, "events not sorted by frame");
        if (e.kind == OidEvent::Kind::AddSa) FUZZ_CHECK(!e.sas.empty(), "add_sa without SAs");
        else FUZZ_CHECK(!e.sa.empty(), "delete_sa/update_sa without an SA name");
        FUZZ_CHECK(is_one_line(e.origin), "origin is not one line");
    }
    return 0;
}
