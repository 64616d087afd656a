// fuzz_pcap: one input = the bytes of a pcap or pcapng file, read with PcapReader (through a memfd path)
// until next() returns false or an InputError. Only InputError may escape, with a one-line message.
// Invariants on every frame: a synthesized Ethernet header only for the rewritten link types, at least its
// 14 bytes then, records counted one by one; the frames survive a PcapWriter round trip (same bytes, same
// microsecond timestamp); each frame goes through parse_frame too.
#include <cstring>

#include "fuzz_util.h"
#include "input_error.h"
#include "pcap_io.h"
#include "rx_parser.h"

using namespace ov2;
using namespace ov2::fuzz;

namespace {

constexpr uint64_t kMaxFrames = 4096;    // bounds the work per input
constexpr size_t kRoundTripFrames = 64;  // frames re-written and read back

void put_le(Bytes& b, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_be(Bytes& b, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(v >> (8 * (n - 1 - i))));
}

// Classic pcap: magic (µs or ns), big or little endian.
Bytes pcap_file(uint32_t link, const std::vector<Bytes>& frames, bool ns, bool big, uint32_t snaplen = 65535) {
    Bytes f;
    auto put = [&](uint64_t v, size_t n) { big ? put_be(f, v, n) : put_le(f, v, n); };
    put(ns ? 0xA1B23C4D : 0xA1B2C3D4, 4);
    put(2, 2);
    put(4, 2);
    put(0, 4);
    put(0, 4);
    put(snaplen, 4);
    put(link, 4);
    uint32_t t = 1700000000;
    for (const Bytes& fr : frames) {
        put(t++, 4);
        put(ns ? 123456789 : 123456, 4);
        put(fr.size(), 4);
        put(fr.size() + (fr.size() % 3 == 0 ? 4 : 0), 4);  // some records "truncated" by the capture
        f.insert(f.end(), fr.begin(), fr.end());
    }
    return f;
}

// pcapng: section header, one interface (with if_tsresol for ns), enhanced packet blocks.
Bytes pcapng_file(uint16_t link, const std::vector<Bytes>& frames, bool ns) {
    Bytes f;
    auto block = [&](uint32_t type, const Bytes& body) {
        const uint32_t len = uint32_t(12 + body.size() + (4 - body.size() % 4) % 4);
        put_le(f, type, 4);
        put_le(f, len, 4);
        f.insert(f.end(), body.begin(), body.end());
        f.resize(f.size() + (4 - body.size() % 4) % 4, 0);
        put_le(f, len, 4);
    };
    Bytes shb;
    put_le(shb, 0x1A2B3C4D, 4);
    put_le(shb, 1, 2);
    put_le(shb, 0, 2);
    put_le(shb, ~uint64_t(0), 8);
    block(0x0A0D0D0A, shb);
    Bytes idb;
    put_le(idb, link, 2);
    put_le(idb, 0, 2);
    put_le(idb, 262144, 4);
    if (ns) {
        put_le(idb, 9, 2);  // if_tsresol
        put_le(idb, 1, 2);
        idb.push_back(9);
        idb.resize(idb.size() + 3, 0);
        put_le(idb, 0, 4);  // opt_endofopt
    }
    block(1, idb);
    uint64_t ts = 1700000000000000ULL;
    for (const Bytes& fr : frames) {
        Bytes epb;
        put_le(epb, 0, 4);
        put_le(epb, uint32_t(ts >> 32), 4);
        put_le(epb, uint32_t(ts), 4);
        put_le(epb, fr.size(), 4);
        put_le(epb, fr.size(), 4);
        epb.insert(epb.end(), fr.begin(), fr.end());
        epb.resize(epb.size() + (4 - fr.size() % 4) % 4, 0);
        block(6, epb);
        ts += 1000;
    }
    return f;
}

Bytes sample_ipv4() {
    Bytes ip = {0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 50, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
                0, 0, 0x12, 0x34, 0, 0, 0, 1, 1, 2, 3, 4};
    return ip;
}

Bytes sample_ipv6() {
    Bytes ip(40, 0);
    ip[0] = 0x60;
    ip[5] = 8;
    ip[6] = 51;
    ip[7] = 64;
    ip[8] = 0x20;
    ip[24] = 0x20;
    ip.insert(ip.end(), {4, 1, 0, 0, 0, 0, 1, 0});
    return ip;
}

Bytes eth(const Bytes& ip, uint16_t type) {
    Bytes f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, uint8_t(type >> 8), uint8_t(type)};
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

Bytes sll(const Bytes& ip, uint16_t type) {
    Bytes f = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, uint8_t(type >> 8), uint8_t(type)};
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

Bytes sll2(const Bytes& ip, uint16_t type) {
    Bytes f = {uint8_t(type >> 8), uint8_t(type), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0};
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

struct Files {
    MemFile in{"fuzz_pcap_in"};
    MemFile out{"fuzz_pcap_out"};
};

Files& files() {
    static Files* f = new Files;
    return *f;
}

}  // namespace

namespace ov2::fuzz {

std::vector<Bytes> builtin_seeds() {
    const Bytes v4 = sample_ipv4(), v6 = sample_ipv6();
    const std::vector<Bytes> ethernet = {eth(v4, 0x0800), eth(v6, 0x86DD), Bytes(60, 0xAB)};
    Bytes cut = pcap_file(1, ethernet, false, false);
    cut.resize(cut.size() - 5);  // the last record cut short
    return {
        pcap_file(1, ethernet, false, false),
        pcap_file(1, ethernet, true, true),
        pcap_file(1, ethernet, false, false, 40),
        pcap_file(101, {v4, v6}, false, false),
        pcap_file(228, {v4}, true, false),
        pcap_file(229, {v6}, false, true),
        pcap_file(113, {sll(v4, 0x0800), sll(v6, 0x86DD)}, false, false),
        pcap_file(276, {sll2(v4, 0x0800), sll2(v6, 0x86DD)}, false, false),
        pcap_file(105, ethernet, false, false),  // 802.11: unsupported link type
        pcapng_file(1, ethernet, false),
        pcapng_file(1, ethernet, true),
        pcapng_file(101, {v4, v6}, false),
        cut,
    };
}

}  // namespace ov2::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    maybe_write_seeds();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Files& f = files();
    f.in.assign(data, size);
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<Frame> kept;
    bool ethernet_link = false;
    try {
        PcapReader reader(f.in.path());
        ethernet_link = !reader.ethernet_synthesized();
        FUZZ_CHECK(reader.is_open() && reader.records_read() == 0, "open reader state");
        Frame frame;
        uint64_t n = 0;
        while (n < kMaxFrames && reader.next(frame)) {
            ++n;
            FUZZ_CHECK(reader.records_read() == n, "records_read does not count records");
            if (reader.ethernet_synthesized()) FUZZ_CHECK(frame.bytes.size() >= 14, "synthesized header missing");
            FUZZ_CHECK(frame.truncated == (frame.orig_len > frame.bytes.size()) || !ethernet_link,
                       "truncated flag and lengths disagree");
            (void)parse_frame(frame.bytes.data(), frame.bytes.size());
            if (kept.size() < kRoundTripFrames && frame.bytes.size() <= PcapWriter::kDefaultSnaplen)
                kept.push_back(frame);
        }
    } catch (const InputError& e) {
        check_error_message(e.what(), input);
    }
    if (kept.empty()) return 0;

    // Round trip through PcapWriter: what was read comes back the same (Ethernet, microseconds).
    {
        PcapWriter writer(f.out.path());
        for (const Frame& fr : kept) writer.write(fr.bytes, fr.ts_ns);
        writer.close();
    }
    PcapReader again(f.out.path());
    FUZZ_CHECK(!again.ethernet_synthesized() && !again.nanosecond_file(), "PcapWriter output link type");
    Frame back;
    for (const Frame& fr : kept) {
        FUZZ_CHECK(again.next(back), "PcapWriter lost a frame");
        FUZZ_CHECK(back.bytes == fr.bytes, "frame bytes differ after a PcapWriter round trip");
        if (fr.ts_ns / 1000000000ULL <= 0xFFFFFFFFULL)  // the pcap header keeps 32-bit seconds
            FUZZ_CHECK(back.ts_ns / 1000 == fr.ts_ns / 1000, "timestamp differs after a PcapWriter round trip: read " +
                                                                std::to_string(fr.ts_ns) + " ns, back " +
                                                                std::to_string(back.ts_ns) + " ns");
    }
    FUZZ_CHECK(!again.next(back), "PcapWriter wrote an extra frame");
    return 0;
}
