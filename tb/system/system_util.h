// Helpers for the system tests: run the built ov2sim CLI in a scratch directory, read what it wrote, and
// build inputs (pcaps through libpcap, ESP frames through Botan, SA files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace systest {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;

// ---- paths and files -----------------------------------------------------------------------------------
std::string ov2sim_path();                  // OV2_BINARY_DIR "/ov2sim"
std::string default_scenario();             // OV2_SOURCE_DIR "/tb/scenarios/default"
constexpr size_t kDefaultScenarioFrames = 44;  // frames in tb/scenarios/default/frames.pcap
// A fresh, empty directory under OV2_BINARY_DIR/tb_system_tmp named after the running test.
std::string scratch_dir();
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
bool file_exists(const std::string& path);
std::vector<std::string> split_lines(const std::string& text);  // without empty trailing line

// ---- running the CLI ------------------------------------------------------------------------------------
struct RunResult {
    int exit_code = -1;
    std::string out, err;
    std::vector<std::string> err_lines() const { return split_lines(err); }
};
// `ov2sim ARGS...` (each arg shell-quoted), stdout and stderr captured to files in `work`.
RunResult run_ov2sim(const std::vector<std::string>& args, const std::string& work);
// ov2sim run --pcap P --sa S --out OUT --quiet EXTRA...
RunResult run_sim(const std::string& pcap, const std::string& sa, const std::string& out,
                  const std::vector<std::string>& extra = {});

std::vector<json> read_jsonl(const std::string& path);
json read_json(const std::string& path);
// oob.jsonl lines indexed by frame number (1-based); fails the test on a duplicate or missing frame.
std::vector<json> by_frame(const std::vector<json>& lines, size_t frames);
// The fields that say what the NIC and the stack did (no times).
json crypto_fields(const json& line);

// ---- pcaps ---------------------------------------------------------------------------------------------
// Ethernet pcap (libpcap dumper), frame i at base + i * spacing_us microseconds.
// orig_lens (optional, one per frame, 0 = the frame's size): the record's wire length, for captures that cut frames.
void write_pcap(const std::string& path, const std::vector<Bytes>& frames, uint32_t spacing_us = 1,
                const std::vector<uint32_t>& orig_lens = {});
std::vector<Bytes> read_pcap(const std::string& path);  // every record (libpcap), caplen bytes
size_t pcap_records(const std::string& path);

// ---- frames --------------------------------------------------------------------------------------------
std::string hex(const Bytes& b);
Bytes from_hex(const std::string& text);
Bytes ip4(const char* dotted);
Bytes ipv4_packet(const Bytes& src, const Bytes& dst, uint8_t proto, const Bytes& payload, uint16_t id = 1);
Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& data);  // checksum 0 (IPv4)
Bytes ethernet(const Bytes& l3, uint16_t ethertype = 0x0800);          // padded to 60 bytes
Bytes with_fcs(const Bytes& frame);                                     // frame || FCS (ethernet_fcs)

struct GcmSa {
    uint32_t spi;
    Bytes key;   // 16, 24 or 32 bytes
    Bytes salt;  // 4 bytes
    size_t icv = 16;
};
struct CbcSha1Sa {
    uint32_t spi;
    Bytes enc_key;   // AES-128: 16 bytes
    Bytes auth_key;  // 20 bytes, HMAC-SHA1-96
};
// ESP (SPI .. ICV) with RFC 4303 default padding.
Bytes esp_gcm(const GcmSa& sa, uint32_t seq, const Bytes& iv8, const Bytes& payload, uint8_t next_header);
Bytes esp_cbc_sha1(const CbcSha1Sa& sa, uint32_t seq, const Bytes& iv16, const Bytes& payload, uint8_t next_header);

}  // namespace systest
