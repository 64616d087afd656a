#include "pcap_io.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ov2 {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kSllHeader = 16;
constexpr size_t kSll2Header = 20;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
#ifndef DLT_LINUX_SLL2
constexpr int DLT_LINUX_SLL2 = 276;
#endif
constexpr const char* kSupportedLinkTypes =
    "EN10MB (1), RAW (101), IPV4 (228), IPV6 (229), LINUX_SLL (113) or LINUX_SLL2 (276)";

bool contains(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

// Why open() failed, worded for a user; libpcap's own text is kept where it says something useful.
[[noreturn]] void fail_open(const std::string& path, const std::string& libpcap_error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st))
        throw InputError(path, "", "cannot open: no such file", "an existing pcap or pcapng file");
    if (fs::is_directory(st))
        throw InputError(path, "", "cannot open: it is a directory", "a pcap or pcapng file");
    if (contains(libpcap_error, "truncated dump file") || contains(libpcap_error, "truncated pcapng"))
        throw InputError(path, "file header", "truncated (" + libpcap_error + ")",
                         "a complete pcap file header (24 bytes) or pcapng section header");
    if (contains(libpcap_error, "unknown file format"))
        throw InputError(path, "file header", "not a pcap or pcapng file (unknown magic number)",
                         "a capture written by tcpdump, Wireshark or libpcap");
    throw InputError(path, "", "cannot open: " + libpcap_error, "a readable pcap or pcapng file");
}

// pcap stores ns timestamps under its own magic number; pcapng keeps the resolution per interface.
bool has_nanosecond_magic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    uint8_t m[4] = {};
    if (!in.read(reinterpret_cast<char*>(m), sizeof m)) return false;
    const bool big = m[0] == 0xA1 && m[1] == 0xB2 && m[2] == 0x3C && m[3] == 0x4D;
    const bool little = m[0] == 0x4D && m[1] == 0x3C && m[2] == 0xB2 && m[3] == 0xA1;
    return big || little;
}

void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

}  // namespace

// ---- PcapReader -------------------------------------------------------------------------------------------

PcapReader::~PcapReader() { close(); }

void PcapReader::close() {
    if (handle_) pcap_close(handle_);
    handle_ = nullptr;
}

void PcapReader::open(const std::string& path) {
    close();
    path_ = path;
    records_ = 0;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    // Asking for ns precision makes libpcap scale µs files, so ts_ns is exact for both kinds.
    handle_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!handle_) fail_open(path, errbuf);
    nanosecond_file_ = has_nanosecond_magic(path);
    link_type_ = pcap_datalink(handle_);
    switch (link_type_) {
        case DLT_EN10MB: rewrite_ = Rewrite::None; break;
        case DLT_RAW: rewrite_ = Rewrite::FromIp; break;
        case DLT_IPV4: rewrite_ = Rewrite::FromIpv4; break;
        case DLT_IPV6: rewrite_ = Rewrite::FromIpv6; break;
        case DLT_LINUX_SLL: rewrite_ = Rewrite::FromSll; break;
        case DLT_LINUX_SLL2: rewrite_ = Rewrite::FromSll2; break;
        default: {
            const std::string name = link_type_name();
            close();
            throw InputError(path, "link type",
                             std::to_string(link_type_) + " (" + name + ") is not supported",
                             kSupportedLinkTypes);
        }
    }
}

const char* PcapReader::link_type_name() const {
    const char* name = pcap_datalink_val_to_name(link_type_);
    return name ? name : "unknown";
}

void PcapReader::fail_record(const std::string& problem, const std::string& expected) const {
    throw InputError(path_, "record " + std::to_string(records_), problem, expected);
}

bool PcapReader::next(Frame& frame) {
    if (!handle_) throw InputError(path_.empty() ? "pcap" : path_, "", "read before open()", "open() first");
    struct pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return false;  // end of file
    ++records_;
    if (rc == PCAP_ERROR) {
        const std::string why = pcap_geterr(handle_);
        if (contains(why, "truncated"))
            fail_record("cut short by the end of the file (" + why + ")",
                        "a complete record (was the capture interrupted?)");
        fail_record(why, "a valid capture record");
    }
    if (rc != 1) fail_record("libpcap returned " + std::to_string(rc), "a record");
    // A pcap record stores its seconds as an unsigned 32-bit field; libpcap sign-extends it when the file is in
    // host byte order (not when it is swapped), so seconds from 2^31 on (2038) would come back negative.
    const uint64_t sec = hdr->ts.tv_sec < 0 ? uint64_t(uint32_t(hdr->ts.tv_sec)) : uint64_t(hdr->ts.tv_sec);
    frame.ts_ns = sec * 1000000000ULL + static_cast<uint64_t>(hdr->ts.tv_usec);
    frame.truncated = hdr->caplen < hdr->len;
    to_ethernet(data, hdr->caplen, hdr->len, frame);
    return true;
}

// Puts `data` into frame.bytes as an Ethernet frame (see the link types in open()).
void PcapReader::to_ethernet(const uint8_t* data, uint32_t caplen, uint32_t len, Frame& frame) const {
    if (rewrite_ == Rewrite::None) {
        frame.bytes.assign(data, data + caplen);
        frame.orig_len = len;
        return;
    }
    uint16_t ether_type = kEtherTypeIpv4;
    size_t strip = 0;
    const uint8_t* src_mac = nullptr;
    switch (rewrite_) {
        case Rewrite::FromIp: {
            const int version = caplen ? data[0] >> 4 : -1;
            if (version != 4 && version != 6)
                fail_record(caplen ? "IP version nibble " + std::to_string(version) : std::string("empty record"),
                            "an IPv4 or IPv6 packet (link type RAW carries nothing else)");
            ether_type = version == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
            break;
        }
        case Rewrite::FromIpv4: ether_type = kEtherTypeIpv4; break;
        case Rewrite::FromIpv6: ether_type = kEtherTypeIpv6; break;
        case Rewrite::FromSll:
            if (caplen < kSllHeader)
                fail_record(std::to_string(caplen) + " bytes captured", "at least 16 (the LINUX_SLL header)");
            ether_type = static_cast<uint16_t>(data[14] << 8 | data[15]);
            if (data[4] == 0 && data[5] == 6) src_mac = data + 6;  // link-layer address length 6
            strip = kSllHeader;
            break;
        case Rewrite::FromSll2:
            if (caplen < kSll2Header)
                fail_record(std::to_string(caplen) + " bytes captured", "at least 20 (the LINUX_SLL2 header)");
            ether_type = static_cast<uint16_t>(data[0] << 8 | data[1]);
            if (data[11] == 6) src_mac = data + 12;
            strip = kSll2Header;
            break;
        case Rewrite::None: break;
    }
    const size_t payload = caplen - strip;
    frame.bytes.resize(kEthHeader + payload);
    uint8_t* out = frame.bytes.data();
    std::memset(out, 0, 12);
    if (src_mac) std::memcpy(out + 6, src_mac, 6);
    put_be16(out + 12, ether_type);
    if (payload) std::memcpy(out + kEthHeader, data + strip, payload);
    frame.orig_len = static_cast<uint32_t>(std::max<uint64_t>(len, strip) - strip + kEthHeader);
}

// ---- PcapWriter -------------------------------------------------------------------------------------------

PcapWriter::~PcapWriter() { release(); }

void PcapWriter::release() {
    if (dumper_) pcap_dump_close(dumper_);
    if (dead_) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
}

void PcapWriter::open(const std::string& path, uint32_t snaplen) {
    namespace fs = std::filesystem;
    release();
    path_ = path;
    snaplen_ = snaplen ? snaplen : kDefaultSnaplen;
    records_ = 0;
    const fs::path dir = fs::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !fs::is_directory(dir, ec))
        throw InputError(path, "", "cannot create: directory '" + dir.string() + "' does not exist",
                         "an existing directory");
    dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen_), PCAP_TSTAMP_PRECISION_MICRO);
    if (!dead_) throw InputError(path, "", "cannot create: libpcap out of memory", "a writable file");
    dumper_ = pcap_dump_open(dead_, path.c_str());
    if (!dumper_) {
        const std::string why = pcap_geterr(dead_);
        release();
        throw InputError(path, "", "cannot create: " + why, "a writable file");
    }
}

void PcapWriter::write(const uint8_t* data, size_t len, uint64_t ts_ns) {
    if (!dumper_) throw InputError(path_.empty() ? "pcap" : path_, "", "write before open()", "open() first");
    struct pcap_pkthdr hdr {};
    hdr.ts.tv_sec = static_cast<time_t>(ts_ns / 1000000000ULL);
    hdr.ts.tv_usec = static_cast<suseconds_t>((ts_ns % 1000000000ULL) / 1000ULL);
    hdr.len = static_cast<uint32_t>(std::min<size_t>(len, UINT32_MAX));
    hdr.caplen = static_cast<uint32_t>(std::min<size_t>(len, snaplen_));
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &hdr, data);
    ++records_;
}

void PcapWriter::flush() {
    if (!dumper_) return;
    if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_)))
        throw InputError(path_, "", "write failed after " + std::to_string(records_) + " records",
                         "a writable file with free space");
}

void PcapWriter::close() {
    if (!dumper_) return;
    try {
        flush();
    } catch (...) {
        release();
        throw;
    }
    release();
}

}  // namespace ov2
