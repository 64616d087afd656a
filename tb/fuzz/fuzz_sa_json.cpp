// fuzz_sa_json: the JSON SA reader (load_sa_text on text whose first non-blank character is '{' or '[').
// Only InputError may escape; its message is one line and echoes no 12+ hex-digit run of the input. What
// loads is carried on to offload_refusal, make_cam_entry and a CAM + crypto engine (fuzz_sa_common.h).
// Dictionary: tb/fuzz/dict/sa_json.dict.
#include "fuzz_sa_common.h"

namespace ov2::fuzz {

std::vector<Bytes> builtin_seeds() {
    const char* texts[] = {
        R"({"sas": [{"name": "a", "direction": "inbound", "src": "192.0.2.1", "dst": "192.0.2.2",
 "udp_esp_encapsulation": "none", "replay_window": 64, "replay_seq": 0, "pair": "b",
 "delete_policy": {"packet_lifetime": 10, "byte_lifetime": 0, "seq_wrap_margin": 256},
 "sec_assoc": [{"operation": "esp", "spi": "0x00001234", "mode": "tunnel", "esn": false, "seq_hi": 0,
   "encryption": {"algorithm": "aes-gcm-128", "key": "4c80cdefbb5d10da906ac73c3613a634", "salt": "2e443b68",
   "icv_len": 16}}]},
 {"name": "b", "direction": "outbound", "src": "192.0.2.2", "dst": "192.0.2.1",
 "sec_assoc": [{"operation": "esp", "spi": 4661, "mode": "tunnel",
   "encryption": {"algorithm": "aes-gcm-128", "key": "0x4c80cdefbb5d10da906ac73c3613a634", "salt": "2e443b68"}}]}]})",
        R"([{"dst": "2001:db8::2", "sec_assoc": [
  {"operation": "esp", "spi": "7", "mode": "transport", "esn": true, "seq_hi": 3,
   "encryption": {"algorithm": "aes-cbc-256", "key": "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"},
   "authentication": {"algorithm": "hmac-sha256-128", "key": "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"}},
  {"operation": "ah", "spi": "8", "mode": "transport",
   "authentication": {"algorithm": "aes-gmac-192", "key": "000102030405060708090a0b0c0d0e0f0001020304050607", "salt": "01020304"}}]}])",
        R"({"sas": [{"ip_version": 6, "udp_esp_encapsulation": "transport", "sec_assoc": [{"operation": "esp",
 "spi": 1, "mode": "transport", "encryption": {"algorithm": "null"},
 "authentication": {"algorithm": "hmac-sha384-192", "key": "00"}}]}]})",
        R"({"sas": [{"dst": "0.0.0.0", "sec_assoc": [{"operation": "ah", "spi": "0x1", "mode": "tunnel",
 "authentication": {"algorithm": "hmac-md5-96", "key": "00112233445566778899aabbccddeeff"}}]}]})",
    };
    std::vector<Bytes> out;
    for (const char* t : texts) out.emplace_back(t, t + std::char_traits<char>::length(t));
    return out;
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ov2::fuzz::maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ov2::fuzz::run_sa_text(data, size, ov2::SaFileFormat::Json, "fuzz.json");
    return 0;
}
