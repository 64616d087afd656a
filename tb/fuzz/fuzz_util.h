// Shared by the fuzz targets (tb/fuzz/fuzz_*.cpp): invariant checks that abort, the CAM programmed through
// its registers, an independent ESP/AH sender and verifier (Botan, written here from the RFCs, not from
// hw_model/crypto_engine.cpp), and a memfd for the readers that want a path. See docs/fuzzing.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto_engine.h"
#include "ov2_types.h"
#include "sa_cam.h"

// Every fuzz target defines these two (libFuzzer calls them; so does tb/fuzz/replay_main.cpp).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace ov2::fuzz {

using Bytes = std::vector<uint8_t>;

// Inputs the target makes itself (valid frames, op sequences, files): written into the corpus by
// `OV2_FUZZ_WRITE_SEEDS=DIR fuzz_x` and replayed (plus mutations) by the fuzz_replay tests.
std::vector<Bytes> builtin_seeds();

// Called from LLVMFuzzerInitialize: when OV2_FUZZ_WRITE_SEEDS names a directory, writes builtin_seeds()
// there (seed-NNNN) and exits.
void maybe_write_seeds();

[[noreturn]] void violation(const char* file, int line, const char* cond, const std::string& detail);
#define FUZZ_CHECK(cond, detail)                                                     \
    do {                                                                             \
        if (!(cond)) ::ov2::fuzz::violation(__FILE__, __LINE__, #cond, (detail));    \
    } while (0)

std::string hex(const uint8_t* p, size_t n);
inline std::string hex(const Bytes& b) { return hex(b.data(), b.size()); }

// ---- error messages -------------------------------------------------------------------------------------

// One line: no control character at all.
bool is_one_line(std::string_view message);
// A run of 12 or more hex digits of the message that also occurs in the input (key material echoed back).
std::optional<std::string> echoed_hex_run(std::string_view message, std::string_view input);
// Both checks on an InputError message; aborts with the message on a violation.
void check_error_message(const std::string& message, std::string_view input);

// ---- CAM through registers ------------------------------------------------------------------------------

// SA_CTRL on, every capability, every algorithm and UDP-ESP type enabled (what DriverShim writes by default).
void enable_everything(SaCamTable& cam);
// SA_DATA0..47 then SA_CMD write; true when SA_STATUS says the command was taken.
bool program_entry(SaCamTable& cam, uint32_t index, const CamEntry& e);
bool invalidate_entry(SaCamTable& cam, uint32_t index);
// The crypto engine follows the table as Ov2System::connect_crypto_to_cam wires it (hw_model/ov2_top.cpp).
void follow_cam(SaCamTable& cam, CryptoEngine& crypto);

// ---- independent ESP/AH sender and verifier -------------------------------------------------------------

// What an SA's algorithms mean on the wire, from this file's own table (RFC 4106/4543/2403/2404/4868).
struct WireAlgo {
    enum class Cipher { None, Gcm, Cbc } cipher = Cipher::None;
    enum class Mac { None, Aead, Hmac, Gmac } mac = Mac::None;
    std::string cipher_name;  // Botan, e.g. "AES-128/GCM(16)", "DES/CBC/NoPadding"
    std::string mac_name;     // "HMAC(SHA-1)", "GMAC(AES-128)"
    size_t enc_key_len = 0, auth_key_len = 0;
    size_t iv_len = 0, icv_len = 0, block_len = 1;
};
// nullopt when the entry does not name one runnable algorithm combination.
std::optional<WireAlgo> wire_algo(const CamEntry& e);

struct BuildOptions {
    uint32_t seq = 1;              // low 32 bits on the wire; seq_hi is the entry's (ESN)
    uint8_t seed = 0;              // varies IV, payload bytes and addresses
    size_t payload_bytes = 40;
    bool udp_encap = false;        // ESP in UDP/4500
    IpAddr src;                    // unset = a fixed address of the entry's version
    IpAddr dst;                    // unset = the entry's destination (a fixed one for a wildcard entry)
    const Bytes* payload = nullptr;  // what the SA protects; default: tunnel an inner IP packet, else UDP
    uint8_t payload_next_header = 0;  // with `payload`
};
// Ethernet frame with one IPv4/IPv6 datagram protected by the entry: ESP (tunnel SA: an inner IP packet
// as payload, transport: UDP), or AH over such a payload. Empty when wire_algo() refuses the entry.
Bytes build_frame(const CamEntry& e, const BuildOptions& o);
// AH (outer, `ah`) + ESP (`esp`) bundle.
Bytes build_bundle_frame(const CamEntry& ah, const CamEntry& esp, const BuildOptions& o);

enum class Verdict { Unsupported, BadLength, Bad, Ok };
struct EspCheck {
    Verdict verdict = Verdict::Unsupported;
    size_t data_off = 0, data_len = 0;  // ciphertext (payload .. next header) in the buffer
    Bytes plaintext;                    // data_len bytes, when Ok
};
// ESP at esp_off of the datagram that ends at `end`; seq_hi for ESN is the entry's.
EspCheck verify_esp(const CamEntry& e, const uint8_t* buf, size_t esp_off, size_t end);
// AH at ah_off directly after a plain IP header at l3 (IPv4 IHL 5 / IPv6 without extension headers);
// Unsupported for anything else. ah_len_out: the AH header length from its payload-length field.
Verdict verify_ah_simple(const CamEntry& e, const uint8_t* buf, size_t l3, size_t ah_off, size_t end,
                         size_t* ah_len_out = nullptr);

// ---- files ----------------------------------------------------------------------------------------------

// An anonymous in-memory file with a path (/proc/self/fd/N) for readers that open by name.
class MemFile {
public:
    explicit MemFile(const char* name);
    ~MemFile();
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    void assign(const uint8_t* data, size_t size);
    Bytes contents() const;
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

// Deterministic generator (xorshift64*) for the replay tests and the builders.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 1) {}
    uint64_t next() {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 0x2545F4914F6CDD1DULL;
    }
    uint32_t below(uint32_t n) { return n ? uint32_t(next() % n) : 0; }

private:
    uint64_t s_;
};

}  // namespace ov2::fuzz
