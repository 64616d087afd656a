// Reading and writing the frames the model receives (libpcap savefiles; pcapng is read too).
// The model works on Ethernet frames: captures of bare IP packets or Linux "cooked" captures get an
// Ethernet header put in front, and the reader says so (ethernet_synthesized()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "input_error.h"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace ov2 {

// One received frame. Reuse one Frame across next() calls: `bytes` keeps its capacity.
struct Frame {
    std::vector<uint8_t> bytes;  // Ethernet frame as captured (caplen bytes, after any link-header rewrite)
    uint64_t ts_ns = 0;          // capture timestamp, ns since the epoch
    uint32_t orig_len = 0;       // length on the wire, same link-header rewrite applied
    bool truncated = false;      // the capture kept fewer bytes than the wire carried (caplen < len)
};

class PcapReader {
public:
    PcapReader() = default;
    explicit PcapReader(const std::string& path) { open(path); }
    ~PcapReader();
    PcapReader(const PcapReader&) = delete;
    PcapReader& operator=(const PcapReader&) = delete;

    // Throws InputError: missing file, not a capture, truncated file header, unsupported link type.
    void open(const std::string& path);
    // Fills `frame` with the next record; false at the end of the file. Throws InputError on a truncated
    // or corrupt record (naming its 1-based record number).
    bool next(Frame& frame);
    void close();

    bool is_open() const { return handle_ != nullptr; }
    int link_type() const { return link_type_; }           // DLT_* of the file
    const char* link_type_name() const;                     // "EN10MB", "RAW", "LINUX_SLL", ...
    bool ethernet_synthesized() const { return rewrite_ != Rewrite::None; }  // a 14-byte header is put in front
    bool nanosecond_file() const { return nanosecond_file_; }  // the file stores ns timestamps
    uint64_t records_read() const { return records_; }
    const std::string& path() const { return path_; }

private:
    enum class Rewrite { None, FromIp, FromIpv4, FromIpv6, FromSll, FromSll2 };
    [[noreturn]] void fail_record(const std::string& problem, const std::string& expected) const;
    void to_ethernet(const uint8_t* data, uint32_t caplen, uint32_t len, Frame& frame) const;

    pcap_t* handle_ = nullptr;
    std::string path_;
    int link_type_ = 0;
    Rewrite rewrite_ = Rewrite::None;
    bool nanosecond_file_ = false;
    uint64_t records_ = 0;
};

// Writes Ethernet (DLT_EN10MB) pcaps with microsecond timestamps.
class PcapWriter {
public:
    static constexpr uint32_t kDefaultSnaplen = 262144;

    PcapWriter() = default;
    explicit PcapWriter(const std::string& path, uint32_t snaplen = kDefaultSnaplen) { open(path, snaplen); }
    ~PcapWriter();  // closes; errors at this point are lost: call close() to see them
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;

    // Throws InputError if the directory is missing or the file cannot be created.
    void open(const std::string& path, uint32_t snaplen = kDefaultSnaplen);
    // Frames longer than the snaplen are stored cut (caplen = snaplen, len = the full length).
    void write(const uint8_t* data, size_t len, uint64_t ts_ns);
    void write(const std::vector<uint8_t>& bytes, uint64_t ts_ns) { write(bytes.data(), bytes.size(), ts_ns); }
    void flush();  // throws InputError on a write error (disk full, ...)
    void close();  // flushes, then closes; throws like flush()

    bool is_open() const { return dumper_ != nullptr; }
    uint64_t records_written() const { return records_; }

private:
    void release();

    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    std::string path_;
    uint32_t snaplen_ = kDefaultSnaplen;
    uint64_t records_ = 0;
};

}  // namespace ov2
