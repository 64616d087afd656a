// HostBus: MMIO decode into the two register blocks of BAR0, and the DMA link (posted writes, round-trip
// reads, bandwidth, maximum payload). Each TEST is its own elaboration (toolchain.md pitfall 9).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "bus.h"
#include "host_memory.h"
#include "ov2_types.h"

using namespace ov2;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

namespace {

uint64_t now_ps() { return sc_core::sc_time_stamp().value(); }

// A register block: records every access and answers reads with 0xC0DE0000 | offset.
struct RegTarget : sc_core::sc_module {
    struct Access {
        bool write;
        uint64_t offset;
        uint32_t len;
        uint32_t value;
    };
    tlm_utils::simple_target_socket<RegTarget> socket{"socket"};
    std::vector<Access> log;

    explicit RegTarget(sc_core::sc_module_name n) : sc_module(n) {
        socket.register_b_transport(this, &RegTarget::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& t, sc_time&) {
        Access a{t.is_write(), t.get_address(), t.get_data_length(), 0};
        if (t.is_write()) {
            std::memcpy(&a.value, t.get_data_ptr(), 4);
        } else {
            const uint32_t v = 0xC0DE0000u | uint32_t(t.get_address());
            std::memcpy(t.get_data_ptr(), &v, 4);
        }
        log.push_back(a);
        t.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

struct Master : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Master> dma{"dma"};
    tlm_utils::simple_initiator_socket<Master> mmio{"mmio"};
    std::function<void(Master&)> body;
    bool finished = false;  // the body ran to its end (no ASSERT bailed out, no deadlock)

    explicit Master(sc_core::sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(Master);
        SC_THREAD(run);
    }
    void run() {
        if (body) body(*this);
        finished = true;
    }
    static tlm::tlm_response_status go(tlm_utils::simple_initiator_socket<Master>& s, tlm::tlm_command cmd,
                                       uint64_t addr, void* data, uint32_t len, sc_time& delay,
                                       uint64_t* addr_after = nullptr) {
        tlm::tlm_generic_payload t;
        t.set_command(cmd);
        t.set_address(addr);
        t.set_data_ptr(static_cast<uint8_t*>(data));
        t.set_data_length(len);
        t.set_streaming_width(len);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        s->b_transport(t, delay);
        if (addr_after) *addr_after = t.get_address();
        return t.get_response_status();
    }
    tlm::tlm_response_status dma_write(uint64_t addr, const std::vector<uint8_t>& data, sc_time& delay) {
        std::vector<uint8_t> copy = data;  // the bus must copy: the initiator's buffer is reused at once
        const auto rc = go(dma, tlm::TLM_WRITE_COMMAND, addr, copy.data(), uint32_t(copy.size()), delay);
        std::fill(copy.begin(), copy.end(), 0xEE);
        return rc;
    }
    tlm::tlm_response_status dma_read(uint64_t addr, std::vector<uint8_t>& data, sc_time& delay) {
        return go(dma, tlm::TLM_READ_COMMAND, addr, data.data(), uint32_t(data.size()), delay);
    }
};

struct Bench {
    TimingParams timing;
    std::unique_ptr<HostBus> bus;
    HostMemory mem{"mem", 0x10000};
    RegTarget wb{"wb"};
    RegTarget cam{"cam"};
    Master master{"master"};

    explicit Bench(const TimingParams& t) : timing(t) {
        bus = std::make_unique<HostBus>("bus", timing);
        master.dma.bind(bus->dma_in);
        master.mmio.bind(bus->mmio_in);
        bus->host_mem.bind(mem.dma);
        bus->wb_regs.bind(wb.socket);
        bus->cam_regs.bind(cam.socket);
    }
    void run(std::function<void(Master&)> body, sc_time limit = sc_time(100, sc_core::SC_US)) {
        master.body = std::move(body);
        sc_core::sc_start(limit);
        EXPECT_TRUE(master.finished) << "the test body did not run to its end";
    }
};

// Round numbers: 64 Gb/s makes 64 bytes take exactly 8 ns on the link.
TimingParams round_timing() {
    TimingParams t;
    t.bus_bandwidth_gbps = 64.0;
    t.bus_latency_ns = 250.0;
    t.mmio_latency_ns = 500.0;
    t.bus_max_payload_bytes = 256;
    return t;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
    return v;
}

bool memory_equals(HostMemory& mem, uint64_t addr, const std::vector<uint8_t>& v) {
    return std::memcmp(mem.at(addr), v.data(), v.size()) == 0;
}

}  // namespace

// ---- MMIO ----------------------------------------------------------------------------------------------

TEST(HostBus, MmioBelow0x100GoesToWritebackTheRestToTheCam) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        struct Case {
            uint64_t offset;
            bool to_wb;
        };
        const Case cases[] = {{reg::kRxCtrl, true}, {reg::kRxRingTail, true}, {0x0FC, true},
                              {reg::kSaCtrl, false}, {reg::kSaCmd, false}, {reg::kSaData0, false}, {0xFFC, false}};
        uint32_t value = 0x1234;
        for (const Case& c : cases) {
            sc_time delay = sc_core::SC_ZERO_TIME;
            uint64_t addr_after = 0;
            const size_t wb_before = b.wb.log.size(), cam_before = b.cam.log.size();
            EXPECT_EQ(Master::go(m.mmio, tlm::TLM_WRITE_COMMAND, reg::kMmioBase + c.offset, &value, 4, delay,
                                 &addr_after),
                      tlm::TLM_OK_RESPONSE)
                << std::hex << c.offset;
            EXPECT_EQ(delay, sc_time(500, SC_NS)) << "an MMIO access costs mmio_latency_ns";
            EXPECT_EQ(addr_after, reg::kMmioBase + c.offset) << "the bus restores the initiator's address";
            RegTarget& hit = c.to_wb ? b.wb : b.cam;
            RegTarget& miss = c.to_wb ? b.cam : b.wb;
            ASSERT_EQ(hit.log.size(), (c.to_wb ? wb_before : cam_before) + 1) << std::hex << c.offset;
            EXPECT_EQ(miss.log.size(), c.to_wb ? cam_before : wb_before) << std::hex << c.offset;
            EXPECT_EQ(hit.log.back().offset, c.offset) << "the register block sees the offset in BAR0";
            EXPECT_TRUE(hit.log.back().write);
            EXPECT_EQ(hit.log.back().value, value);
            ++value;
        }
        // reads are routed the same way
        uint32_t r = 0;
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(Master::go(m.mmio, tlm::TLM_READ_COMMAND, reg::kMmioBase + reg::kRxRingHead, &r, 4, delay),
                  tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(r, 0xC0DE0000u | reg::kRxRingHead);
        EXPECT_EQ(Master::go(m.mmio, tlm::TLM_READ_COMMAND, reg::kMmioBase + reg::kSaCapacity, &r, 4, delay),
                  tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(r, 0xC0DE0000u | reg::kSaCapacity);
    });
    EXPECT_EQ(b.bus->stats().mmio_writes, 7u);
    EXPECT_EQ(b.bus->stats().mmio_reads, 2u);
    EXPECT_EQ(b.bus->stats().mmio_errors, 0u);
    EXPECT_EQ(b.bus->stats().dma_writes + b.bus->stats().dma_reads, 0u) << "MMIO is not DMA";
}

TEST(HostBus, MmioOutsideBar0IsAnAddressErrorAndCounted) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        const uint64_t bad[] = {0, reg::kMmioBase - 4, reg::kMmioBase + reg::kMmioSize,
                                reg::kMmioBase + 0x10000, 0x1000};
        uint32_t value = 0xDEAD;
        for (uint64_t a : bad) {
            sc_time delay = sc_core::SC_ZERO_TIME;
            EXPECT_EQ(Master::go(m.mmio, tlm::TLM_WRITE_COMMAND, a, &value, 4, delay), tlm::TLM_ADDRESS_ERROR_RESPONSE)
                << std::hex << a;
            EXPECT_EQ(Master::go(m.mmio, tlm::TLM_READ_COMMAND, a, &value, 4, delay), tlm::TLM_ADDRESS_ERROR_RESPONSE)
                << std::hex << a;
        }
        // starts inside BAR0, ends beyond it
        uint32_t two[2] = {1, 2};
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(Master::go(m.mmio, tlm::TLM_WRITE_COMMAND, reg::kMmioBase + reg::kMmioSize - 4, two, 8, delay),
                  tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
    EXPECT_TRUE(b.wb.log.empty()) << "nothing outside BAR0 reaches a register block";
    EXPECT_TRUE(b.cam.log.empty());
    EXPECT_EQ(b.bus->stats().mmio_errors, 11u);
    EXPECT_EQ(b.bus->stats().mmio_writes + b.bus->stats().mmio_reads, 0u);
}

// ---- DMA -----------------------------------------------------------------------------------------------

TEST(HostBus, DmaWriteIsPostedAndVisibleOneLatencyAfterTheTransfer) {
    Bench b(round_timing());
    const std::vector<uint8_t> data = pattern(64, 3);
    uint64_t returned_at = 0;
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x2000, data, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(delay, sc_time(8, SC_NS)) << "the initiator is held for the link time only (64 B at 64 Gb/s)";
        sc_core::wait(delay);
        returned_at = now_ps();
        EXPECT_FALSE(memory_equals(b.mem, 0x2000, data)) << "visible before the bus latency passed";
        sc_core::wait(sc_time(258, SC_NS) - sc_core::sc_time_stamp() - sc_time(1, SC_PS));  // 1 ps before
        EXPECT_EQ(b.mem.at(0x2000)[0], 0) << "visible at " << now_ps() << " ps, before 8 ns + 250 ns";
        sc_core::wait(sc_time(2, SC_PS));
        EXPECT_TRUE(memory_equals(b.mem, 0x2000, data)) << "not visible at " << now_ps() << " ps";
    });
    EXPECT_EQ(returned_at, 8000u);
    EXPECT_TRUE(memory_equals(b.mem, 0x2000, data));
    EXPECT_EQ(b.bus->stats().dma_writes, 1u);
    EXPECT_EQ(b.bus->stats().dma_bytes, 64u);
    EXPECT_EQ(b.bus->stats().dma_errors, 0u);
}

TEST(HostBus, PostedWritesBecomeVisibleInIssueOrder) {
    Bench b(round_timing());
    const std::vector<uint8_t> first = pattern(64, 1), second = pattern(64, 100), other = pattern(64, 50);
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        // Two writes to the same address (the later must win), then one elsewhere, without waiting in between.
        EXPECT_EQ(m.dma_write(0x3000, first, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x3000, second, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x4000, other, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(delay, sc_time(24, SC_NS));
        // visible at 258, 266 and 274 ns
        sc_core::wait(sc_time(260, SC_NS));
        EXPECT_TRUE(memory_equals(b.mem, 0x3000, first)) << "the first write is due at 258 ns";
        EXPECT_EQ(b.mem.at(0x4000)[0], 0);
        sc_core::wait(sc_time(8, SC_NS));  // 268 ns
        EXPECT_TRUE(memory_equals(b.mem, 0x3000, second)) << "the second write is due at 266 ns";
        EXPECT_EQ(b.mem.at(0x4000)[0], 0) << "the third write is due at 274 ns";
        sc_core::wait(sc_time(8, SC_NS));  // 276 ns
        EXPECT_TRUE(memory_equals(b.mem, 0x4000, other));
    });
    EXPECT_TRUE(memory_equals(b.mem, 0x3000, second));
    EXPECT_EQ(b.bus->stats().posted_high_water, 3u);
}

// The cycle mode's lazy commit: a posted write lands when a reader asks (never before its time), and the
// last one in flight lands at its own time whether anyone asks or not.
TEST(HostBus, LazyCommitLandsWritesWhenAReaderAsksOrWhenTheLastIsVisible) {
    Bench b(round_timing());
    b.bus->set_lazy_commit(true);
    const std::vector<uint8_t> first = pattern(64, 1), second = pattern(64, 100), third = pattern(64, 50);
    uint64_t last_landed_at = 0;
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x3000, first, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x3000, second, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x4000, third, delay), tlm::TLM_OK_RESPONSE);
        // visible at 258, 266 and 274 ns
        sc_core::wait(sc_time(257, SC_NS));
        b.bus->commit_visible_now();
        EXPECT_EQ(b.mem.at(0x3000)[0], 0) << "a write landed before its time";
        sc_core::wait(sc_time(10, SC_NS));  // 267 ns: the first two are visible, nobody asked yet
        EXPECT_EQ(b.mem.at(0x3000)[0], 0) << "lazy: nothing lands before a reader asks or the last is visible";
        b.bus->commit_visible_now();
        EXPECT_TRUE(memory_equals(b.mem, 0x3000, second)) << "both writes to 0x3000 land, in order";
        EXPECT_EQ(b.mem.at(0x4000)[0], 0) << "the third write is due at 274 ns";
        while (!memory_equals(b.mem, 0x4000, third)) sc_core::wait(sc_time(1, SC_PS));
        last_landed_at = now_ps();
    });
    EXPECT_EQ(last_landed_at, 274000u) << "the last write in flight lands at its own time";
    EXPECT_EQ(b.bus->stats().posted_high_water, 3u);
}

TEST(HostBus, WriteLargerThanTheMaximumPayloadIsABurstError) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x2000, pattern(257, 9), delay), tlm::TLM_BURST_ERROR_RESPONSE);
        EXPECT_EQ(delay, sc_core::SC_ZERO_TIME) << "a refused write does not use the link";
        EXPECT_EQ(m.dma_write(0x3000, pattern(256, 9), delay), tlm::TLM_OK_RESPONSE) << "exactly the maximum is fine";
        sc_core::wait(sc_time(1, sc_core::SC_US));
    });
    EXPECT_EQ(b.mem.at(0x2000)[0], 0) << "the refused write reached memory";
    EXPECT_TRUE(memory_equals(b.mem, 0x3000, pattern(256, 9)));
    EXPECT_EQ(b.bus->stats().dma_too_large, 1u);
    EXPECT_EQ(b.bus->stats().dma_writes, 1u);
    EXPECT_EQ(b.bus->stats().dma_bytes, 256u);
}

TEST(HostBus, ReadWaitsTheRoundTrip) {
    Bench b(round_timing());
    std::memcpy(b.mem.at(0x5000), pattern(64, 77).data(), 64);
    b.run([&](Master& m) {
        std::vector<uint8_t> in(64, 0);
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_read(0x5000, in, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(sc_core::sc_time_stamp() + delay, sc_time(8 + 2 * 250, SC_NS))
            << "a read returns after its transfer and the request and completion latencies";
        EXPECT_EQ(in, pattern(64, 77));
    });
    EXPECT_EQ(b.bus->stats().dma_reads, 1u);
}

TEST(HostBus, ReadSeesEarlierPostedWrites) {
    Bench b(round_timing());
    const std::vector<uint8_t> data = pattern(64, 42);
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x6000, data, delay), tlm::TLM_OK_RESPONSE);
        // Read straight away (the write is still in flight on the link and in the latency).
        std::vector<uint8_t> in(64, 0);
        sc_time read_delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_read(0x6000, in, read_delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(in, data) << "the read overtook the posted write";
        EXPECT_EQ(sc_core::sc_time_stamp() + read_delay, sc_time(16 + 500, SC_NS))
            << "the read waits behind the write on the link";
    });
}

TEST(HostBus, BackToBackWritesAreLimitedByTheLinkBandwidth) {
    TimingParams t;  // the defaults: 113 Gb/s, 256-byte payloads
    Bench b(t);
    constexpr int kWrites = 10;
    constexpr uint32_t kLen = 256;
    uint64_t end_ps = 0;
    b.run([&](Master& m) {
        for (int i = 0; i < kWrites; ++i) {
            sc_time delay = sc_core::SC_ZERO_TIME;
            EXPECT_EQ(m.dma_write(0x2000 + uint64_t(i) * kLen, pattern(kLen, uint8_t(i)), delay), tlm::TLM_OK_RESPONSE);
            sc_core::wait(delay);
        }
        end_ps = now_ps();
    });
    const double expected_ps = kWrites * kLen * 8.0 * 1000.0 / t.bus_bandwidth_gbps;
    EXPECT_NEAR(double(end_ps), expected_ps, kWrites) << "N x len x 8 / bandwidth (1 ps rounding per write)";
    EXPECT_NEAR(double(b.bus->stats().link_busy_ps), expected_ps, kWrites);
    for (int i = 0; i < kWrites; ++i)
        EXPECT_TRUE(memory_equals(b.mem, 0x2000 + uint64_t(i) * kLen, pattern(kLen, uint8_t(i)))) << i;
}

TEST(HostBus, LooselyTimedInitiatorsQueueOnTheLinkToo) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        // Annotated delays instead of waits: each write starts when the link is free.
        sc_time delay = sc_core::SC_ZERO_TIME;
        for (int i = 0; i < 5; ++i) EXPECT_EQ(m.dma_write(0x2000 + i * 256, pattern(256, 1), delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(delay, sc_time(5 * 32, SC_NS));
        // A second initiator-side burst issued later, after the link went idle, starts at its own time.
        sc_core::wait(sc_time(1, sc_core::SC_US));
        sc_time d2 = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x8000, pattern(64, 1), d2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(d2, sc_time(8, SC_NS));
    });
}

TEST(HostBus, PostedWriteToBadAddressIsCountedWhenItLands) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x10, pattern(16, 1), delay), tlm::TLM_OK_RESPONSE)
            << "posted: the initiator cannot learn of the error";
        sc_core::wait(sc_time(1, sc_core::SC_US));
    });
    EXPECT_EQ(b.bus->stats().dma_errors, 1u);
    EXPECT_EQ(b.mem.dma_errors(), 1u);
}

TEST(HostBus, ReadOfBadAddressReturnsTheError) {
    Bench b(round_timing());
    b.run([&](Master& m) {
        std::vector<uint8_t> in(16, 0);
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_read(0x20, in, delay), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
    EXPECT_EQ(b.bus->stats().dma_errors, 1u);
}

// The bus reaches host memory through its DMI pointer once granted: the last byte of memory is in range,
// one byte further is still an error counted by the bus and by the memory.
TEST(HostBus, WritesAtTheEndOfMemoryLandOrFailAsThroughBTransport) {
    Bench b(round_timing());
    const std::vector<uint8_t> tail = pattern(16, 5);
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_write(0x2000, pattern(16, 1), delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x10000 - 16, tail, delay), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(m.dma_write(0x10000 - 15, pattern(16, 9), delay), tlm::TLM_OK_RESPONSE);
        sc_core::wait(sc_time(1, sc_core::SC_US));
        std::vector<uint8_t> in(16, 0);
        sc_time d2 = sc_core::SC_ZERO_TIME;
        EXPECT_EQ(m.dma_read(0x10000 - 16, in, d2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(in, tail);
        EXPECT_EQ(m.dma_read(0x10000 - 8, in, d2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
    EXPECT_TRUE(memory_equals(b.mem, 0x2000, pattern(16, 1)));
    EXPECT_TRUE(memory_equals(b.mem, 0x10000 - 16, tail)) << "the failed write crossing the end changed nothing";
    EXPECT_EQ(b.bus->stats().dma_errors, 2u);
    EXPECT_EQ(b.mem.dma_errors(), 2u);
}

// More writes in flight than the posted ring first holds: it grows and they still land in issue order.
TEST(HostBus, ManyPostedWritesInFlightLandInIssueOrder) {
    Bench b(round_timing());
    constexpr int kWrites = 40;
    b.run([&](Master& m) {
        sc_time delay = sc_core::SC_ZERO_TIME;
        for (int i = 0; i < kWrites; ++i)  // every fourth to one address: the last of those must win
            EXPECT_EQ(m.dma_write(i % 4 == 0 ? 0x3000 : 0x4000 + 64 * i, pattern(64, uint8_t(i)), delay),
                      tlm::TLM_OK_RESPONSE);
        sc_core::wait(sc_time(1, sc_core::SC_US));
        // Then a few more after the ring emptied, reusing its slots.
        for (int i = 0; i < 3; ++i) EXPECT_EQ(m.dma_write(0x6000 + 64 * i, pattern(64, uint8_t(200 + i)), delay),
                                              tlm::TLM_OK_RESPONSE);
        sc_core::wait(sc_time(1, sc_core::SC_US));
    });
    EXPECT_EQ(b.bus->stats().posted_high_water, uint64_t(kWrites));
    EXPECT_TRUE(memory_equals(b.mem, 0x3000, pattern(64, 36)));
    for (int i = 0; i < kWrites; ++i)
        if (i % 4) EXPECT_TRUE(memory_equals(b.mem, 0x4000 + 64 * i, pattern(64, uint8_t(i)))) << "write " << i;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(memory_equals(b.mem, 0x6000 + 64 * i, pattern(64, uint8_t(200 + i))));
    EXPECT_EQ(b.bus->stats().dma_errors, 0u);
}
