#include "system_util.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <botan/aead.h>
#include <botan/cipher_mode.h>
#include <botan/mac.h>
#include <gtest/gtest.h>

#include "mac_rx.h"

namespace systest {

namespace fs = std::filesystem;

std::string ov2sim_path() { return std::string(OV2_BINARY_DIR) + "/ov2sim"; }
std::string default_scenario() { return std::string(OV2_SOURCE_DIR) + "/tb/scenarios/default"; }

std::string scratch_dir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "no_test";
    const fs::path dir = fs::path(OV2_BINARY_DIR) / "tb_system_tmp" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

bool file_exists(const std::string& path) { return fs::exists(path); }

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

namespace {
std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

// The notice AddressSanitizer prints once per process when an exception is thrown after SystemC switched
// coroutine stacks behind its back (QuickThreads is not annotated for ASan: google/sanitizers#189). The
// cycle mode's crypto stage is an SC_METHOD, and Botan reports a failed GCM tag by throwing, so every
// ASan run with an authentication failure prints it. It is not a finding (a real one aborts the run:
// scripts/sanitize.sh sets abort_on_error); the tests that want an empty stderr drop these three lines.
std::string without_asan_stack_switch_notice(std::string err) {
    const size_t warning = err.find("WARNING: ASan is ignoring requested __asan_handle_no_return");
    const size_t link = err.find("google/sanitizers/issues/189", warning);
    if (warning == std::string::npos || link == std::string::npos) return err;
    const size_t line_start = err.rfind('\n', warning);  // the line begins with "==PID=="
    const size_t begin = line_start == std::string::npos ? 0 : line_start + 1;
    const size_t end = err.find('\n', link);
    err.erase(begin, end == std::string::npos ? std::string::npos : end + 1 - begin);
    return err;
}

}  // namespace

RunResult run_ov2sim(const std::vector<std::string>& args, const std::string& work) {
    const std::string out_file = work + "/ov2sim.stdout", err_file = work + "/ov2sim.stderr";
    std::string cmd = "SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 " + shell_quote(ov2sim_path());
    for (const std::string& a : args) cmd += " " + shell_quote(a);
    cmd += " >" + shell_quote(out_file) + " 2>" + shell_quote(err_file) + " </dev/null";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    r.out = read_file(out_file);
    r.err = without_asan_stack_switch_notice(read_file(err_file));
    return r;
}

RunResult run_sim(const std::string& pcap, const std::string& sa, const std::string& out,
                  const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"run", "--pcap", pcap, "--sa", sa, "--out", out, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    fs::path work = fs::path(out).parent_path();
    if (!fs::is_directory(work)) work = fs::path(OV2_BINARY_DIR);
    // one stdout/stderr pair per output directory, so that two runs in one test do not overwrite each other
    const std::string tag = fs::path(out).filename().string();
    const fs::path logs = work / ("logs_" + tag);
    fs::create_directories(logs);
    return run_ov2sim(args, logs.string());
}

std::vector<json> read_jsonl(const std::string& path) {
    std::vector<json> out;
    for (const std::string& line : split_lines(read_file(path)))
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

std::vector<json> by_frame(const std::vector<json>& lines, size_t frames) {
    std::vector<json> out(frames + 1);
    for (const json& l : lines) {
        const size_t f = l.at("frame").get<size_t>();
        if (f < 1 || f > frames) {
            ADD_FAILURE() << "frame " << f << " is not an input frame (1.." << frames << ")";
            continue;
        }
        if (!out[f].is_null()) ADD_FAILURE() << "frame " << f << " appears twice in oob.jsonl";
        out[f] = l;
    }
    for (size_t f = 1; f <= frames; ++f)
        if (out[f].is_null()) ADD_FAILURE() << "frame " << f << " missing from oob.jsonl";
    return out;
}

json crypto_fields(const json& l) {
    json out;
    for (const char* k : {"frame", "indicated", "crypto_done", "next_crypto_done", "sa_delete_req", "crypto_status",
                          "nbl_info", "header_info", "stack_verdict", "nic_reason", "length", "drop_reason"})
        if (l.contains(k)) out[k] = l[k];
    return out;
}

// ---- pcaps ---------------------------------------------------------------------------------------------

void write_pcap(const std::string& path, const std::vector<Bytes>& frames, uint32_t spacing_us,
                const std::vector<uint32_t>& orig_lens) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (!dead) throw std::runtime_error("pcap_open_dead failed");
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    if (!d) {
        const std::string why = pcap_geterr(dead);
        pcap_close(dead);
        throw std::runtime_error("pcap_dump_open " + path + ": " + why);
    }
    const uint64_t base_us = 1'700'000'000ULL * 1'000'000ULL;
    for (size_t i = 0; i < frames.size(); ++i) {
        const uint64_t t = base_us + uint64_t(i + 1) * spacing_us;
        struct pcap_pkthdr h = {};
        h.ts.tv_sec = time_t(t / 1'000'000);
        h.ts.tv_usec = suseconds_t(t % 1'000'000);
        h.caplen = h.len = uint32_t(frames[i].size());
        if (i < orig_lens.size() && orig_lens[i]) h.len = orig_lens[i];
        pcap_dump(reinterpret_cast<u_char*>(d), &h, frames[i].data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

std::vector<Bytes> read_pcap(const std::string& path) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
    if (!p) throw std::runtime_error("pcap_open_offline " + path + ": " + errbuf);
    std::vector<Bytes> out;
    struct pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1) out.emplace_back(data, data + h->caplen);
    pcap_close(p);
    return out;
}

size_t pcap_records(const std::string& path) { return read_pcap(path).size(); }

// ---- frames --------------------------------------------------------------------------------------------

std::string hex(const Bytes& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t v : b) {
        s += digits[v >> 4];
        s += digits[v & 15];
    }
    return s;
}

Bytes from_hex(const std::string& text) {
    Bytes out;
    for (size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(uint8_t(std::stoul(text.substr(i, 2), nullptr, 16)));
    return out;
}

Bytes ip4(const char* dotted) {
    Bytes b(4);
    if (inet_pton(AF_INET, dotted, b.data()) != 1) throw std::invalid_argument(dotted);
    return b;
}

Bytes ipv4_packet(const Bytes& src, const Bytes& dst, uint8_t proto, const Bytes& payload, uint16_t id) {
    const size_t total = 20 + payload.size();
    Bytes p = {0x45, 0, uint8_t(total >> 8), uint8_t(total), uint8_t(id >> 8), uint8_t(id), 0, 0, 64, proto, 0, 0};
    p.insert(p.end(), src.begin(), src.end());
    p.insert(p.end(), dst.begin(), dst.end());
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    p[10] = uint8_t(~sum >> 8);
    p[11] = uint8_t(~sum);
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
}

Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& data) {
    const size_t len = 8 + data.size();
    Bytes u = {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport),
               uint8_t(len >> 8),   uint8_t(len),   0, 0};
    u.insert(u.end(), data.begin(), data.end());
    return u;
}

Bytes ethernet(const Bytes& l3, uint16_t ethertype) {
    Bytes f = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x14,
               uint8_t(ethertype >> 8), uint8_t(ethertype)};
    f.insert(f.end(), l3.begin(), l3.end());
    if (f.size() < 60) f.resize(60, 0);
    return f;
}

Bytes with_fcs(const Bytes& frame) {
    const uint32_t fcs = ov2::ethernet_fcs(frame.data(), frame.size());
    Bytes f = frame;
    for (int i = 0; i < 4; ++i) f.push_back(uint8_t(fcs >> (8 * i)));
    return f;
}

namespace {

void put_be32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

Bytes esp_plaintext(const Bytes& payload, uint8_t next_header, size_t align) {
    Bytes pt = payload;
    const size_t pad = (align - (payload.size() + 2) % align) % align;
    for (size_t i = 1; i <= pad; ++i) pt.push_back(uint8_t(i));
    pt.push_back(uint8_t(pad));
    pt.push_back(next_header);
    return pt;
}

}  // namespace

Bytes esp_gcm(const GcmSa& sa, uint32_t seq, const Bytes& iv8, const Bytes& payload, uint8_t next_header) {
    Bytes esp;
    put_be32(esp, sa.spi);
    put_be32(esp, seq);
    const Bytes aad = esp;  // SPI || sequence number (no ESN)
    esp.insert(esp.end(), iv8.begin(), iv8.end());
    const std::string name =
        "AES-" + std::to_string(sa.key.size() * 8) + "/GCM(" + std::to_string(sa.icv) + ")";
    auto enc = Botan::AEAD_Mode::create_or_throw(name, Botan::ENCRYPTION);
    enc->set_key(sa.key.data(), sa.key.size());
    enc->set_associated_data(aad.data(), aad.size());
    Bytes nonce = sa.salt;
    nonce.insert(nonce.end(), iv8.begin(), iv8.end());
    enc->start(nonce.data(), nonce.size());
    const Bytes pt = esp_plaintext(payload, next_header, 4);
    Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
    enc->finish(buf);  // ciphertext || tag
    esp.insert(esp.end(), buf.begin(), buf.end());
    return esp;
}

Bytes esp_cbc_sha1(const CbcSha1Sa& sa, uint32_t seq, const Bytes& iv16, const Bytes& payload, uint8_t next_header) {
    Bytes esp;
    put_be32(esp, sa.spi);
    put_be32(esp, seq);
    esp.insert(esp.end(), iv16.begin(), iv16.end());
    auto enc = Botan::Cipher_Mode::create_or_throw(
        "AES-" + std::to_string(sa.enc_key.size() * 8) + "/CBC/NoPadding", Botan::ENCRYPTION);
    enc->set_key(sa.enc_key.data(), sa.enc_key.size());
    enc->start(iv16.data(), iv16.size());
    const Bytes pt = esp_plaintext(payload, next_header, 16);
    Botan::secure_vector<uint8_t> buf(pt.begin(), pt.end());
    enc->finish(buf);
    esp.insert(esp.end(), buf.begin(), buf.end());
    auto mac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-1)");
    mac->set_key(sa.auth_key.data(), sa.auth_key.size());
    mac->update(esp.data(), esp.size());
    const Botan::secure_vector<uint8_t> icv = mac->final();
    esp.insert(esp.end(), icv.begin(), icv.begin() + 12);
    return esp;
}

}  // namespace systest
