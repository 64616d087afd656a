// PcapReader / PcapWriter: round trips, every link type, and every broken-file case with its message.
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pcap_io.h"

namespace ov2 {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t kTs = 1700000000123456789ULL;  // ns

// A fresh directory per test process (ctest runs tests in parallel).
std::string temp_path(const std::string& name) {
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    const fs::path dir = fs::path(testing::TempDir()) /
                         ("ov2_pcap_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
    return b;
}

Bytes ipv4_packet(size_t n = 40) {
    Bytes b = pattern(n, 3);
    b[0] = 0x45;
    return b;
}

Bytes ipv6_packet(size_t n = 60) {
    Bytes b = pattern(n, 9);
    b[0] = 0x60;
    return b;
}

// Writes a capture with libpcap itself (any link type, µs or ns timestamps).
void write_capture(const std::string& path, int dlt, const std::vector<Bytes>& packets,
                   u_int precision = PCAP_TSTAMP_PRECISION_MICRO, uint32_t snaplen = 65535) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, int(snaplen), precision);
    ASSERT_NE(dead, nullptr);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    ASSERT_NE(d, nullptr) << pcap_geterr(dead);
    for (size_t i = 0; i < packets.size(); ++i) {
        pcap_pkthdr h{};
        h.ts.tv_sec = 1700000000;
        h.ts.tv_usec = suseconds_t(precision == PCAP_TSTAMP_PRECISION_NANO ? 123456789 + i : 123456 + i);
        h.len = uint32_t(packets[i].size());
        h.caplen = std::min(h.len, snaplen);
        pcap_dump(reinterpret_cast<u_char*>(d), &h, packets[i].data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

uint32_t file_link_type(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    uint8_t h[24] = {};
    in.read(reinterpret_cast<char*>(h), sizeof h);
    return uint32_t(h[20]) | uint32_t(h[21]) << 8 | uint32_t(h[22]) << 16 | uint32_t(h[23]) << 24;
}

void chop(const std::string& path, uintmax_t bytes_off_end) {
    fs::resize_file(path, fs::file_size(path) - bytes_off_end);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no InputError";
    return "";
}

Bytes eth_header(uint16_t ether_type, const Bytes& src_mac = Bytes(6, 0)) {
    Bytes h(12, 0);
    std::copy(src_mac.begin(), src_mac.end(), h.begin() + 6);
    h.push_back(uint8_t(ether_type >> 8));
    h.push_back(uint8_t(ether_type));
    return h;
}

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// ---- round trips --------------------------------------------------------------------------------------------

TEST(PcapIo, WriterReaderRoundTrip) {
    const std::string path = temp_path("rt.pcap");
    const std::vector<Bytes> frames = {pattern(60, 1), pattern(1514, 2), pattern(64, 3)};
    {
        PcapWriter w(path);
        for (size_t i = 0; i < frames.size(); ++i) w.write(frames[i], kTs + i * 1000);
        EXPECT_EQ(w.records_written(), 3u);
        w.close();
        EXPECT_FALSE(w.is_open());
    }
    EXPECT_EQ(file_link_type(path), 1u);  // LINKTYPE_ETHERNET
    PcapReader r(path);
    EXPECT_EQ(r.link_type(), DLT_EN10MB);
    EXPECT_STREQ(r.link_type_name(), "EN10MB");
    EXPECT_FALSE(r.ethernet_synthesized());
    EXPECT_FALSE(r.nanosecond_file());
    Frame f;
    for (size_t i = 0; i < frames.size(); ++i) {
        ASSERT_TRUE(r.next(f));
        EXPECT_EQ(f.bytes, frames[i]);
        EXPECT_EQ(f.orig_len, frames[i].size());
        EXPECT_FALSE(f.truncated);
        EXPECT_EQ(f.ts_ns, (kTs + i * 1000) / 1000 * 1000);  // microsecond file
    }
    EXPECT_FALSE(r.next(f));
    EXPECT_FALSE(r.next(f));  // stays at the end
    EXPECT_EQ(r.records_read(), 3u);
}

TEST(PcapIo, WriterCutsAtSnaplenAndReaderFlagsTruncation) {
    const std::string path = temp_path("snap.pcap");
    PcapWriter w(path, 64);
    w.write(pattern(100, 5), kTs);
    w.write(pattern(64, 6), kTs);
    w.close();
    PcapReader r(path);
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_TRUE(f.truncated);
    EXPECT_EQ(f.orig_len, 100u);
    const Bytes full = pattern(100, 5);
    EXPECT_EQ(f.bytes, Bytes(full.begin(), full.begin() + 64));
    ASSERT_TRUE(r.next(f));
    EXPECT_FALSE(f.truncated);
}

TEST(PcapIo, FrameBufferKeepsItsCapacity) {
    const std::string path = temp_path("cap.pcap");
    PcapWriter w(path);
    w.write(pattern(1500, 1), kTs);
    w.write(pattern(60, 2), kTs);
    w.write(pattern(1200, 3), kTs);
    w.close();
    PcapReader r(path);
    Frame f;
    ASSERT_TRUE(r.next(f));
    const uint8_t* data = f.bytes.data();
    const size_t capacity = f.bytes.capacity();
    ASSERT_TRUE(r.next(f));
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.bytes.data(), data);
    EXPECT_EQ(f.bytes.capacity(), capacity);
    EXPECT_EQ(f.bytes, pattern(1200, 3));
}

TEST(PcapIo, NanosecondCapture) {
    const std::string path = temp_path("ns.pcap");
    write_capture(path, DLT_EN10MB, {pattern(60, 1), pattern(60, 2)}, PCAP_TSTAMP_PRECISION_NANO);
    PcapReader r(path);
    EXPECT_TRUE(r.nanosecond_file());
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.ts_ns, 1700000000123456789ULL);
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.ts_ns, 1700000000123456790ULL);
}

// ---- link types ---------------------------------------------------------------------------------------------

TEST(PcapIo, RawIpGetsAnEthernetHeader) {
    const std::string path = temp_path("raw.pcap");
    write_capture(path, DLT_RAW, {ipv4_packet(), ipv6_packet()});
    EXPECT_EQ(file_link_type(path), 101u);  // LINKTYPE_RAW
    PcapReader r(path);
    EXPECT_TRUE(r.ethernet_synthesized());
    EXPECT_STREQ(r.link_type_name(), "RAW");
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x0800), ipv4_packet()));
    EXPECT_EQ(f.orig_len, 40u + 14u);
    EXPECT_EQ(f.ts_ns, 1700000000123456000ULL);
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x86DD), ipv6_packet()));
    EXPECT_FALSE(r.next(f));
}

TEST(PcapIo, RawRecordThatIsNotIpIsAnError) {
    const std::string path = temp_path("rawbad.pcap");
    Bytes bad = ipv4_packet();
    bad[0] = 0x55;
    write_capture(path, DLT_RAW, {ipv4_packet(), bad});
    PcapReader r(path);
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(error_of([&] { r.next(f); }),
              path + ": record 2: IP version nibble 5; expected an IPv4 or IPv6 packet (link type RAW carries nothing "
                     "else)");
}

TEST(PcapIo, Ipv4AndIpv6LinkTypes) {
    const std::string v4 = temp_path("v4.pcap"), v6 = temp_path("v6.pcap");
    write_capture(v4, DLT_IPV4, {ipv4_packet()});
    write_capture(v6, DLT_IPV6, {ipv6_packet()});
    EXPECT_EQ(file_link_type(v4), 228u);
    EXPECT_EQ(file_link_type(v6), 229u);
    Frame f;
    PcapReader r4(v4);
    EXPECT_TRUE(r4.ethernet_synthesized());
    ASSERT_TRUE(r4.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x0800), ipv4_packet()));
    PcapReader r6(v6);
    ASSERT_TRUE(r6.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x86DD), ipv6_packet()));
    EXPECT_EQ(f.orig_len, 60u + 14u);
}

TEST(PcapIo, LinuxCookedCaptures) {
    const Bytes mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    Bytes sll = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06};  // packet type, ARPHRD_ETHER, address length 6
    sll.insert(sll.end(), mac.begin(), mac.end());
    sll.insert(sll.end(), {0x00, 0x00, 0x08, 0x00});  // address padding, protocol IPv4
    const std::string p1 = temp_path("sll.pcap");
    write_capture(p1, DLT_LINUX_SLL, {concat(sll, ipv4_packet())});
    EXPECT_EQ(file_link_type(p1), 113u);
    PcapReader r1(p1);
    EXPECT_TRUE(r1.ethernet_synthesized());
    Frame f;
    ASSERT_TRUE(r1.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x0800, mac), ipv4_packet()));
    EXPECT_EQ(f.orig_len, 40u + 14u);

    Bytes sll2 = {0x86, 0xDD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x06};
    sll2.insert(sll2.end(), mac.begin(), mac.end());
    sll2.insert(sll2.end(), {0x00, 0x00});
    const std::string p2 = temp_path("sll2.pcap");
    write_capture(p2, 276, {concat(sll2, ipv6_packet())});
    PcapReader r2(p2);
    ASSERT_TRUE(r2.next(f));
    EXPECT_EQ(f.bytes, concat(eth_header(0x86DD, mac), ipv6_packet()));
    EXPECT_EQ(f.orig_len, 60u + 14u);

    const std::string p3 = temp_path("sllshort.pcap");
    write_capture(p3, DLT_LINUX_SLL, {Bytes(10, 0)});
    PcapReader r3(p3);
    EXPECT_EQ(error_of([&] { r3.next(f); }),
              p3 + ": record 1: 10 bytes captured; expected at least 16 (the LINUX_SLL header)");
}

TEST(PcapIo, UnsupportedLinkTypeIsNamed) {
    const std::string path = temp_path("wifi.pcap");
    write_capture(path, DLT_IEEE802_11, {pattern(30, 1)});
    EXPECT_EQ(error_of([&] { PcapReader r(path); }),
              path + ": link type: 105 (IEEE802_11) is not supported; expected EN10MB (1), RAW (101), IPV4 (228), "
                     "IPV6 (229), LINUX_SLL (113) or LINUX_SLL2 (276)");
}

// ---- broken files -----------------------------------------------------------------------------------------

TEST(PcapIo, TruncatedLastRecordIsAnErrorNotAnEnd) {
    const std::string path = temp_path("trunc.pcap");
    write_capture(path, DLT_EN10MB, {pattern(60, 1), pattern(60, 2), pattern(60, 3)});
    chop(path, 10);
    PcapReader r(path);
    Frame f;
    ASSERT_TRUE(r.next(f));
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(error_of([&] { r.next(f); }),
              path + ": record 3: cut short by the end of the file (truncated dump file; tried to read 60 captured "
                     "bytes, only got 50); expected a complete record (was the capture interrupted?)");
}

TEST(PcapIo, TruncatedRecordHeaderIsAnError) {
    const std::string path = temp_path("trunchdr.pcap");
    write_capture(path, DLT_EN10MB, {pattern(60, 1), pattern(60, 2)});
    chop(path, 60 + 9);  // leaves 7 bytes of the second record header
    PcapReader r(path);
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(error_of([&] { r.next(f); }),
              path + ": record 2: cut short by the end of the file (truncated dump file; tried to read 16 header "
                     "bytes, only got 7); expected a complete record (was the capture interrupted?)");
}

TEST(PcapIo, OpenErrors) {
    EXPECT_EQ(error_of([] { PcapReader r("/nonexistent/x.pcap"); }),
              "/nonexistent/x.pcap: cannot open: no such file; expected an existing pcap or pcapng file");
    const std::string dir = fs::path(temp_path("x")).parent_path().string();
    EXPECT_EQ(error_of([&] { PcapReader r(dir); }), dir + ": cannot open: it is a directory; expected a pcap or pcapng file");

    const std::string text = temp_path("notes.txt");
    std::ofstream(text) << "this is not a capture file, just some text\n";
    EXPECT_EQ(error_of([&] { PcapReader r(text); }),
              text + ": file header: not a pcap or pcapng file (unknown magic number); expected a capture written by "
                     "tcpdump, Wireshark or libpcap");

    const std::string short_header = temp_path("short.pcap");
    write_capture(short_header, DLT_EN10MB, {});
    chop(short_header, 14);
    EXPECT_EQ(error_of([&] { PcapReader r(short_header); }),
              short_header + ": file header: truncated (truncated dump file; tried to read 24 file header bytes, only "
                             "got 6); expected a complete pcap file header (24 bytes) or pcapng section header");

    const std::string empty = temp_path("empty.pcap");
    std::ofstream(empty).flush();
    EXPECT_NE(error_of([&] { PcapReader r(empty); }).find(empty + ": "), std::string::npos);

    PcapReader unopened;
    Frame f;
    EXPECT_EQ(error_of([&] { unopened.next(f); }), "pcap: read before open(); expected open() first");
}

TEST(PcapIo, WriterErrors) {
    EXPECT_EQ(error_of([] { PcapWriter w("/nonexistent/dir/out.pcap"); }),
              "/nonexistent/dir/out.pcap: cannot create: directory '/nonexistent/dir' does not exist; expected an "
              "existing directory");
    const std::string dir = fs::path(temp_path("x")).parent_path().string();
    EXPECT_NE(error_of([&] { PcapWriter w(dir); }).find(dir + ": cannot create: "), std::string::npos);
    PcapWriter unopened;
    EXPECT_EQ(error_of([&] { unopened.write(pattern(60, 1), 0); }), "pcap: write before open(); expected open() first");
    unopened.flush();  // no-op when closed
    unopened.close();
}

// pcapng, written by hand: section header, interface description (Ethernet), one enhanced packet block.
TEST(PcapIo, PcapngIsReadToo) {
    Bytes file;
    auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) file.push_back(uint8_t(v >> (8 * i))); };
    auto u16 = [&](uint16_t v) { file.push_back(uint8_t(v)); file.push_back(uint8_t(v >> 8)); };
    u32(0x0A0D0D0A); u32(28); u32(0x1A2B3C4D); u16(1); u16(0); u32(0xFFFFFFFF); u32(0xFFFFFFFF); u32(28);
    u32(1); u32(20); u16(1); u16(0); u32(65535); u32(20);
    const Bytes frame = pattern(62, 4);  // padded to 64 in the block
    const uint64_t ts_us = 1700000000123456ULL;
    u32(6); u32(32 + 64); u32(0); u32(uint32_t(ts_us >> 32)); u32(uint32_t(ts_us)); u32(62); u32(62);
    file.insert(file.end(), frame.begin(), frame.end());
    file.push_back(0);
    file.push_back(0);
    u32(32 + 64);
    const std::string path = temp_path("one.pcapng");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
    PcapReader r(path);
    EXPECT_EQ(r.link_type(), DLT_EN10MB);
    Frame f;
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.bytes, frame);
    EXPECT_EQ(f.ts_ns, ts_us * 1000);
    EXPECT_FALSE(r.next(f));
}

TEST(PcapIo, EmptyCaptureReadsNothing) {
    const std::string path = temp_path("none.pcap");
    PcapWriter(path).close();
    PcapReader r(path);
    Frame f;
    EXPECT_FALSE(r.next(f));
    EXPECT_EQ(r.records_read(), 0u);
}

TEST(PcapIo, PublishedVectorsPcapHas80Frames) {
    PcapReader r(std::string(OV2_SHARED_DIR) + "/vectors/published/published_vectors.pcap");
    EXPECT_EQ(r.link_type(), DLT_EN10MB);
    Frame f;
    size_t frames = 0;
    while (r.next(f)) {
        ++frames;
        EXPECT_FALSE(f.truncated);
        EXPECT_GE(f.bytes.size(), 14u + 20u);
        EXPECT_EQ(f.orig_len, f.bytes.size());
    }
    EXPECT_EQ(frames, 80u);
}

}  // namespace
}  // namespace ov2
