// Descriptor writeback: rings set up through its register socket, frames fed into its input FIFO, DMA on a
// logging test link into HostMemory. Each TEST is its own elaboration (toolchain.md pitfall 9).
#include <gtest/gtest.h>

#include <array>
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
#include "desc_wb.h"
#include "host_memory.h"
#include "ov2_types.h"
#include "rx_packet.h"

using namespace ov2;
using sc_core::SC_NS;
using sc_core::SC_US;
using sc_core::sc_time;

namespace {

// The DMA link of the test: forwards to host memory at once (plus a fixed annotated delay) and logs every
// transaction with the byte values written.
struct TestDma : sc_core::sc_module {
    struct Access {
        bool write;
        uint64_t addr;
        uint32_t len;
        std::vector<uint8_t> data;  // writes only
        uint64_t at_ps;
    };
    tlm_utils::simple_target_socket<TestDma> in{"in"};
    tlm_utils::simple_initiator_socket<TestDma> out{"out"};
    std::vector<Access> log;
    sc_time per_access = sc_time(10, SC_NS);
    sc_time read_delay = sc_time(10, SC_NS);  // a descriptor read's round trip

    explicit TestDma(sc_core::sc_module_name n) : sc_module(n) { in.register_b_transport(this, &TestDma::b_transport); }
    void b_transport(tlm::tlm_generic_payload& t, sc_time& delay) {
        Access a{t.is_write(), t.get_address(), t.get_data_length(), {}, uint64_t(sc_core::sc_time_stamp().value())};
        if (t.is_write()) a.data.assign(t.get_data_ptr(), t.get_data_ptr() + t.get_data_length());
        log.push_back(std::move(a));
        sc_time unused = sc_core::SC_ZERO_TIME;
        out->b_transport(t, unused);
        delay += t.is_write() ? per_access : read_delay;
    }
    size_t reads() const {
        size_t n = 0;
        for (const Access& a : log) n += !a.write;
        return n;
    }
    size_t writes() const { return log.size() - reads(); }
};

struct Driver : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Driver> regs{"regs"};
    std::function<void()> body;
    const sc_core::sc_event* irq = nullptr;
    int irqs = 0;
    bool finished = false;

    explicit Driver(sc_core::sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(Driver);
        SC_THREAD(run);
        SC_THREAD(count_irqs);
    }
    void run() {
        if (body) body();
        finished = true;
    }
    void count_irqs() {
        for (;;) {
            sc_core::wait(*irq);
            ++irqs;
        }
    }
    void write(uint32_t offset, uint32_t value) {
        tlm::tlm_generic_payload t;
        sc_time delay = sc_core::SC_ZERO_TIME;
        t.set_command(tlm::TLM_WRITE_COMMAND);
        t.set_address(offset);
        t.set_data_ptr(reinterpret_cast<uint8_t*>(&value));
        t.set_data_length(4);
        t.set_streaming_width(4);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        regs->b_transport(t, delay);
        EXPECT_EQ(t.get_response_status(), tlm::TLM_OK_RESPONSE) << std::hex << offset;
    }
    uint32_t read(uint32_t offset) {
        uint32_t value = 0;
        tlm::tlm_generic_payload t;
        sc_time delay = sc_core::SC_ZERO_TIME;
        t.set_command(tlm::TLM_READ_COMMAND);
        t.set_address(offset);
        t.set_data_ptr(reinterpret_cast<uint8_t*>(&value));
        t.set_data_length(4);
        t.set_streaming_width(4);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        regs->b_transport(t, delay);
        return value;
    }
};

struct Bench {
    TimingParams timing;
    RxPacketPool pool{16, 4096};
    HostMemory mem{"mem", 0x100000};
    TestDma dma{"dma"};
    sc_core::sc_fifo<RxPacket*> fifo{"fifo", 16};
    std::unique_ptr<DescWb> wb;
    Driver drv{"drv"};
    int completions_seen = 0;
    std::vector<uint32_t> completed_tags;
    std::vector<uint64_t> completion_ps;  // when each completion's done byte was written

    uint64_t rx_ring = 0, buffers = 0, cpl_ring = 0;
    uint32_t rx_entries = 0, cpl_entries = 0, buffer_stride = 0;

    explicit Bench(const TimingParams& t) : timing(t) {
        wb = std::make_unique<DescWb>("desc_wb", timing, pool);
        wb->in(fifo);
        wb->dma.bind(dma.in);
        dma.out.bind(mem.dma);
        drv.regs.bind(wb->regs);
        drv.irq = &wb->irq;
        wb->on_completion = [this](const Completion& c) {
            ++completions_seen;
            completed_tags.push_back(c.frame_tag);
            completion_ps.push_back(uint64_t(sc_core::sc_time_stamp().value()));
        };
    }

    // Rings in host memory; descriptor i points at buffer i (stride bytes apart, `buffer_len` usable).
    // Registers are written from the running simulation (call from the body).
    void setup_rings(uint32_t rx, uint32_t cpl, uint32_t buffer_len, uint32_t stride, uint32_t posted) {
        rx_entries = rx;
        cpl_entries = cpl;
        buffer_stride = stride;
        rx_ring = mem.allocate(uint64_t(rx) * RxDescriptor::kBytes);
        buffers = mem.allocate(uint64_t(rx) * stride);
        cpl_ring = mem.allocate(uint64_t(cpl) * Completion::kBytes);
        for (uint32_t i = 0; i < rx; ++i) {
            uint8_t* d = mem.at(rx_ring + uint64_t(i) * RxDescriptor::kBytes);
            const uint64_t addr = buffer(i);
            std::memcpy(d, &addr, 8);
            std::memcpy(d + 8, &buffer_len, 4);
        }
        drv.write(reg::kRxRingBaseLo, uint32_t(rx_ring));
        drv.write(reg::kRxRingBaseHi, uint32_t(rx_ring >> 32));
        drv.write(reg::kRxRingSize, rx);
        drv.write(reg::kCplRingBaseLo, uint32_t(cpl_ring));
        drv.write(reg::kCplRingBaseHi, uint32_t(cpl_ring >> 32));
        drv.write(reg::kCplRingSize, cpl);
        drv.write(reg::kRxRingTail, posted);
        drv.write(reg::kRxCtrl, 1);
    }
    uint64_t buffer(uint32_t i) const { return buffers + uint64_t(i) * buffer_stride; }
    uint64_t slot_addr(uint32_t slot) const { return cpl_ring + uint64_t(slot) * Completion::kBytes; }
    Completion completion(uint32_t slot) { return Completion::decode(mem.at(slot_addr(slot))); }
    bool slot_blank(uint32_t slot) {
        const uint8_t* p = mem.at(slot_addr(slot));
        for (size_t i = 0; i < Completion::kBytes; ++i)
            if (p[i]) return false;
        return true;
    }

    // A frame of `len` bytes whose bytes start at `seed`, with an IPsec result already attached.
    void send(uint32_t tag, size_t len, uint8_t seed, uint16_t flags = kCplCryptoDone | kCplEsp) {
        RxPacket* p = pool.acquire();
        p->reset(tag);
        p->data.resize(len);
        for (size_t i = 0; i < len; ++i) p->data[i] = uint8_t(seed + i);
        p->ready_ps = uint64_t(sc_core::sc_time_stamp().value());
        p->cpl.ipsec_flags = flags;
        p->cpl.handle = 3;
        p->cpl.crypto_status = uint8_t(CryptoStatus::Success);
        p->cpl.next_header = 17;
        p->cpl.pad_length = 2;
        p->cpl.seq_low = 0x1000 + tag;
        p->cpl.timestamp_ps = 123456789ULL + tag;
        fifo.write(p);
    }
    bool buffer_holds(uint32_t i, size_t len, uint8_t seed) {
        const uint8_t* b = mem.at(buffer(i));
        for (size_t k = 0; k < len; ++k)
            if (b[k] != uint8_t(seed + k)) return false;
        return true;
    }

    void run(std::function<void()> body, sc_time limit = sc_time(1, sc_core::SC_MS)) {
        drv.body = std::move(body);
        sc_core::sc_start(limit);
        EXPECT_TRUE(drv.finished) << "the test body did not run to its end";
    }
};

}  // namespace

TEST(DescWb, FrameLandsInThePostedBufferWithItsCompletion) {
    Bench b(TimingParams{});
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 4);
        b.send(7, 300, 0x10, kCplCryptoDone | kCplEsp | kCplHeaderInfoSet);
        sc_core::wait(sc_time(10, SC_US));
        const uint32_t head = b.drv.read(reg::kRxRingHead);
        EXPECT_GE(head, 1u) << "the head register did not move over the buffer used";
        EXPECT_LE(head, 4u) << "the head register moved past the tail";
    });
    EXPECT_TRUE(b.buffer_holds(0, 300, 0x10));
    EXPECT_EQ(b.mem.at(b.buffer(0))[300], 0) << "written past the frame";
    const Completion c = b.completion(0);
    EXPECT_EQ(c.frame_tag, 7u);
    EXPECT_EQ(c.length, 300u);
    EXPECT_EQ(c.ipsec_flags, kCplCryptoDone | kCplEsp | kCplHeaderInfoSet);
    EXPECT_EQ(c.handle, 3u);
    EXPECT_EQ(c.inner_handle, 0u);
    EXPECT_EQ(c.crypto_status, 0);
    EXPECT_EQ(c.next_header, 17);
    EXPECT_EQ(c.pad_length, 2);
    EXPECT_EQ(c.unprocessed_reason, 0);
    EXPECT_EQ(c.seq_low, 0x1007u);
    EXPECT_EQ(c.timestamp_ps, 123456796ULL);
    EXPECT_TRUE(c.done);
    EXPECT_EQ(b.mem.at(b.slot_addr(0))[31], 1) << "done byte";
    EXPECT_TRUE(b.slot_blank(1));
    EXPECT_EQ(b.drv.irqs, 1);
    EXPECT_EQ(b.completions_seen, 1);
    EXPECT_EQ(b.wb->stats().completions, 1u);
    EXPECT_EQ(b.wb->stats().interrupts, 1u);
    EXPECT_EQ(b.wb->stats().dma_bytes, 300u);
    EXPECT_EQ(b.wb->stats().truncated, 0u);
    EXPECT_EQ(b.pool.in_use(), 0u) << "the packet context goes back to the pool";

    // DMA order: descriptor read, the frame in bus-sized pieces, the record without its done byte, the done byte.
    const auto& log = b.dma.log;
    ASSERT_EQ(log.size(), 5u);
    EXPECT_FALSE(log[0].write);
    EXPECT_EQ(log[0].addr, b.rx_ring);
    EXPECT_EQ(log[0].len, 4 * RxDescriptor::kBytes) << "4 buffers posted: 4 descriptors fetched at once";
    EXPECT_TRUE(log[1].write);
    EXPECT_EQ(log[1].addr, b.buffer(0));
    EXPECT_EQ(log[1].len, 256u) << "split at bus_max_payload_bytes";
    EXPECT_EQ(log[2].addr, b.buffer(0) + 256);
    EXPECT_EQ(log[2].len, 44u);
    EXPECT_EQ(log[3].addr, b.slot_addr(0));
    EXPECT_EQ(log[3].len, 31u);
    EXPECT_EQ(log[4].addr, b.slot_addr(0) + 31);
    EXPECT_EQ(log[4].len, 1u);
    ASSERT_EQ(log[4].data.size(), 1u);
    EXPECT_EQ(log[4].data[0], 1) << "the done byte is written last";
    EXPECT_LT(log[3].at_ps, log[4].at_ps);
}

TEST(DescWb, ConsecutiveFramesUseConsecutiveBuffersAndSlots) {
    Bench b(TimingParams{});
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 7);
        for (uint32_t i = 1; i <= 5; ++i) b.send(i, 60 + i, uint8_t(i * 16));
        sc_core::wait(sc_time(10, SC_US));
    });
    for (uint32_t i = 0; i < 5; ++i) {
        EXPECT_TRUE(b.buffer_holds(i, 61 + i, uint8_t((i + 1) * 16))) << i;
        const Completion c = b.completion(i);
        EXPECT_EQ(c.frame_tag, i + 1);
        EXPECT_EQ(c.length, 61 + i);
        EXPECT_TRUE(c.done);
    }
    EXPECT_TRUE(b.slot_blank(5));
    EXPECT_EQ(b.completed_tags, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
    // The five records queued within the batch timeout (100 ns): one writeback, one interrupt.
    EXPECT_EQ(b.wb->stats().batches, 1u);
    EXPECT_EQ(b.drv.irqs, 1);
}

TEST(DescWb, OneRecordPerBatchGivesOneInterruptPerFrame) {
    TimingParams t;
    t.wb_batch_max = 1;
    Bench b(t);
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 7);
        for (uint32_t i = 1; i <= 5; ++i) b.send(i, 60 + i, uint8_t(i * 16));
        sc_core::wait(sc_time(10, SC_US));
    });
    EXPECT_EQ(b.completed_tags, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(b.wb->stats().batches, 5u);
    EXPECT_EQ(b.wb->stats().batch_high_water, 1u);
    EXPECT_EQ(b.drv.irqs, 5);
}

TEST(DescWb, StallsWithoutAPostedBufferAndResumesWhenTheTailAdvances) {
    Bench b(TimingParams{});
    uint64_t stalled_before_tail = 0;
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 0);  // nothing posted: head == tail
        b.send(1, 100, 0x40);
        sc_core::wait(sc_time(2, SC_US));
        b.drv.write(reg::kCplRingHead, 0);  // an unrelated register write wakes it: it must stall again
        sc_core::wait(sc_time(3, SC_US));
        EXPECT_EQ(b.wb->stats().completions, 0u);
        EXPECT_EQ(b.dma.writes(), 0u) << "wrote with no buffer posted";
        EXPECT_EQ(b.dma.reads(), 0u) << "fetched descriptors the driver did not post";
        EXPECT_TRUE(b.slot_blank(0));
        EXPECT_EQ(b.drv.irqs, 0);
        stalled_before_tail = b.wb->stats().stalled_no_buffer_ps;
        b.drv.write(reg::kRxRingTail, 1);  // t = 5 us: one buffer
        sc_core::wait(sc_time(5, SC_US));
    });
    EXPECT_EQ(b.wb->stats().completions, 1u);
    EXPECT_TRUE(b.completion(0).done);
    EXPECT_TRUE(b.buffer_holds(0, 100, 0x40));
    EXPECT_EQ(b.drv.irqs, 1);
    EXPECT_GE(stalled_before_tail, 1'900'000u) << "the first 2 us of stall were not counted";
    EXPECT_GE(b.wb->stats().stalled_no_buffer_ps, 4'900'000u) << "about 5 us without a buffer";
    // It resumes on the first core clock edge after the tail write.
    EXPECT_LE(b.wb->stats().stalled_no_buffer_ps, 5'000'000u + b.timing.clock_ps());
    EXPECT_EQ(b.wb->stats().stalled_cpl_full_ps, 0u);
}

TEST(DescWb, WaitsWhileReceiveIsDisabled) {
    Bench b(TimingParams{});
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 4);
        b.drv.write(reg::kRxCtrl, 0);
        b.send(1, 80, 1);
        sc_core::wait(sc_time(3, SC_US));
        EXPECT_EQ(b.dma.log.size(), 0u);
        b.drv.write(reg::kRxCtrl, 1);
        sc_core::wait(sc_time(3, SC_US));
    });
    EXPECT_EQ(b.wb->stats().completions, 1u);
    EXPECT_TRUE(b.completion(0).done);
}

TEST(DescWb, FrameLongerThanTheBufferIsCutAndFlagged) {
    Bench b(TimingParams{});
    b.run([&] {
        b.setup_rings(8, 8, 64, 256, 4);  // 64-byte buffers, 256 bytes apart
        for (uint32_t i = 0; i < 4; ++i) std::memset(b.mem.at(b.buffer(i)), 0xA5, 256);
        b.send(1, 200, 0x20, kCplCryptoDone | kCplEsp);
        b.send(2, 64, 0x30, kCplCryptoDone | kCplEsp);  // exactly the buffer: not cut
        sc_core::wait(sc_time(10, SC_US));
    });
    EXPECT_TRUE(b.buffer_holds(0, 64, 0x20));
    for (size_t k = 64; k < 256; ++k) ASSERT_EQ(b.mem.at(b.buffer(0))[k], 0xA5) << "written past the buffer at " << k;
    const Completion c = b.completion(0);
    EXPECT_EQ(c.length, 64u);
    EXPECT_EQ(c.ipsec_flags, kCplCryptoDone | kCplEsp | kCplTruncated) << "the IPsec flags must survive the cut";
    EXPECT_TRUE(c.done);
    const Completion c2 = b.completion(1);
    EXPECT_EQ(c2.length, 64u);
    EXPECT_EQ(c2.ipsec_flags & kCplTruncated, 0);
    EXPECT_TRUE(b.buffer_holds(1, 64, 0x30));
    EXPECT_EQ(b.mem.at(b.buffer(1))[64], 0xA5);
    EXPECT_EQ(b.wb->stats().truncated, 1u);
    EXPECT_EQ(b.wb->stats().dma_bytes, 128u);
}

// (offset in descriptors, descriptors) of each descriptor read, in order.
static std::vector<std::pair<uint64_t, uint32_t>> descriptor_reads(const Bench& b) {
    std::vector<std::pair<uint64_t, uint32_t>> reads;
    for (const auto& a : b.dma.log)
        if (!a.write) reads.emplace_back((a.addr - b.rx_ring) / RxDescriptor::kBytes, a.len / uint32_t(RxDescriptor::kBytes));
    return reads;
}

TEST(DescWb, PrefetchReadsAtMostDescPrefetchDescriptorsPerRead) {
    TimingParams t;
    t.desc_prefetch = 4;  // threshold (64) above what is posted: keeps reading until the posted ones are in
    Bench b(t);
    uint32_t head = 0;
    b.run([&] {
        b.setup_rings(16, 16, 2048, 2048, 10);
        sc_core::wait(sc_time(1, SC_US));  // no frame at all: the cache fills in the background
        head = b.drv.read(reg::kRxRingHead);
        for (uint32_t i = 1; i <= 6; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(10, SC_US));
    });
    const std::vector<std::pair<uint64_t, uint32_t>> expected = {{0, 4}, {4, 4}, {8, 2}};
    EXPECT_EQ(descriptor_reads(b), expected);
    EXPECT_EQ(head, 10u) << "every posted descriptor fetched before any frame came";
    EXPECT_EQ(b.wb->stats().desc_fetches, 3u);
    EXPECT_EQ(b.wb->stats().stalled_desc_fetch_ps, 0u) << "the frames found their descriptors cached";
    for (uint32_t i = 0; i < 6; ++i) EXPECT_TRUE(b.buffer_holds(i, 64, uint8_t(i + 1))) << i;
}

TEST(DescWb, PrefetchStartsWhenTheCacheDropsBelowTheThreshold) {
    TimingParams t;
    t.desc_prefetch = 4;
    t.desc_prefetch_threshold = 6;
    t.desc_cache_entries = 16;
    Bench b(t);
    uint32_t head_idle = 0, head_after = 0;
    b.run([&] {
        b.setup_rings(32, 32, 2048, 2048, 31);
        sc_core::wait(sc_time(1, SC_US));
        head_idle = b.drv.read(reg::kRxRingHead);  // 4 + 4: 8 cached, not below 6: stops
        for (uint32_t i = 1; i <= 2; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(1, SC_US));
        EXPECT_EQ(b.wb->stats().desc_fetches, 2u) << "6 left in the cache: not below the threshold";
        b.send(3, 64, 3);  // 5 left: one more read
        sc_core::wait(sc_time(1, SC_US));
        head_after = b.drv.read(reg::kRxRingHead);
    });
    EXPECT_EQ(head_idle, 8u);
    EXPECT_EQ(head_after, 12u);
    const std::vector<std::pair<uint64_t, uint32_t>> expected = {{0, 4}, {4, 4}, {8, 4}};
    EXPECT_EQ(descriptor_reads(b), expected);
}

TEST(DescWb, PrefetchIsLimitedByTheRoomInTheCache) {
    TimingParams t;
    t.desc_prefetch = 4;
    t.desc_cache_entries = 6;
    Bench b(t);
    b.run([&] {
        b.setup_rings(16, 16, 2048, 2048, 15);
        sc_core::wait(sc_time(1, SC_US));
        EXPECT_EQ(b.drv.read(reg::kRxRingHead), 6u) << "the cache holds 6";
        b.send(1, 64, 1);
        sc_core::wait(sc_time(1, SC_US));
    });
    const std::vector<std::pair<uint64_t, uint32_t>> expected = {{0, 4}, {4, 2}, {6, 1}};
    EXPECT_EQ(descriptor_reads(b), expected) << "each read takes what the cache has room for";
    EXPECT_TRUE(b.buffer_holds(0, 64, 1));
}

// The point of the asynchronous prefetch: the next read is on its way while frames are still written into
// buffers of the previous one, so the frame path waits for a read only when the cache runs dry.
TEST(DescWb, FramesAreWrittenWhileTheNextDescriptorReadIsInFlight) {
    TimingParams t;
    t.desc_prefetch = 4;
    t.desc_prefetch_threshold = 4;
    t.desc_cache_entries = 8;
    Bench b(t);
    b.dma.read_delay = sc_time(300, SC_NS);
    b.run([&] {
        b.setup_rings(32, 32, 2048, 2048, 31);
        sc_core::wait(sc_time(1, SC_US));  // 4 + 4 descriptors cached (8: the cache is full)
        for (uint32_t i = 1; i <= 12; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(10, SC_US));
    });
    EXPECT_EQ(b.wb->stats().completions, 12u);
    // Find the third read (started when the cache dropped to 3) and the frame writes around it.
    size_t third_read = 0, reads = 0, frames_written_before = 0, frames_written_during = 0;
    for (size_t i = 0; i < b.dma.log.size(); ++i)
        if (!b.dma.log[i].write && ++reads == 3) third_read = i;
    ASSERT_GT(third_read, 0u);
    const uint64_t read_start = b.dma.log[third_read].at_ps;
    for (const auto& a : b.dma.log) {
        if (!a.write || a.addr < b.buffer(0) || a.addr >= b.buffer(32)) continue;  // frame data only
        if (a.at_ps < read_start) ++frames_written_before;
        else if (a.at_ps < read_start + 300'000) ++frames_written_during;
    }
    EXPECT_EQ(frames_written_before, 4u) << "the read starts as the 5th buffer is taken (8 - 5 < 4)";
    EXPECT_EQ(frames_written_during, 4u) << "frames 5-8 are written while the read is in flight";
    EXPECT_GT(b.wb->stats().stalled_desc_fetch_ps, 0u) << "then the cache ran dry: the read is slower";
    EXPECT_EQ(b.wb->stats().stalled_no_buffer_ps, 0u) << "buffers were posted all along";
    for (uint32_t i = 0; i < 12; ++i) EXPECT_TRUE(b.buffer_holds(i, 64, uint8_t(i + 1))) << i;
}

TEST(DescWb, BatchIsOneRecordWriteThenTheDoneBytesThenOneInterrupt) {
    TimingParams t;
    t.wb_batch_max = 4;
    t.wb_batch_timeout_ns = 100000;  // only a full batch is written
    Bench b(t);
    b.run([&] {
        b.setup_rings(16, 16, 2048, 2048, 15);
        for (uint32_t i = 1; i <= 6; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(10, SC_US));
        EXPECT_EQ(b.wb->stats().completions, 4u) << "two records short of a batch wait for the timeout";
        EXPECT_TRUE(b.slot_blank(4));
        EXPECT_EQ(b.drv.irqs, 1);
        EXPECT_EQ(b.wb->stats().batches, 1u);
    });
    std::vector<const TestDma::Access*> cpl_writes;
    for (const auto& a : b.dma.log)
        if (a.write && a.addr >= b.cpl_ring && a.addr < b.slot_addr(16)) cpl_writes.push_back(&a);
    ASSERT_GE(cpl_writes.size(), 5u) << "one write of the 4 records, then 4 done bytes";
    EXPECT_EQ(cpl_writes[0]->addr, b.slot_addr(0));
    EXPECT_EQ(cpl_writes[0]->len, 4 * Completion::kBytes - 1) << "the last done byte is not in the body";
    for (size_t r = 0; r < 3; ++r)
        EXPECT_EQ(cpl_writes[0]->data[r * Completion::kBytes + 31], 0) << "done byte of record " << r << " set early";
    for (uint32_t r = 0; r < 4; ++r) {
        EXPECT_EQ(cpl_writes[1 + r]->addr, b.slot_addr(r) + 31);
        EXPECT_EQ(cpl_writes[1 + r]->len, 1u);
        EXPECT_EQ(cpl_writes[1 + r]->data[0], 1);
        EXPECT_GT(cpl_writes[1 + r]->at_ps, cpl_writes[0]->at_ps) << "a done byte before its record";
        EXPECT_EQ(b.completion(r).frame_tag, r + 1);
        EXPECT_TRUE(b.completion(r).done);
    }
    EXPECT_EQ(b.wb->stats().batches, 2u) << "the other two after the timeout";
    EXPECT_EQ(b.wb->stats().completions, 6u);
    EXPECT_EQ(b.wb->stats().batch_high_water, 4u);
}

TEST(DescWb, BatchTimeoutWritesAPartialBatch) {
    TimingParams t;
    t.wb_batch_max = 8;
    t.wb_batch_timeout_ns = 500;
    Bench b(t);
    uint64_t queued_from = 0;
    b.run([&] {
        b.setup_rings(16, 16, 2048, 2048, 15);
        sc_core::wait(sc_time(1, SC_US));
        queued_from = uint64_t(sc_core::sc_time_stamp().value());
        b.send(1, 64, 1);
        b.send(2, 64, 2);
        sc_core::wait(sc_time(450, SC_NS));
        EXPECT_EQ(b.wb->stats().completions, 0u) << "written before the timeout";
        sc_core::wait(sc_time(200, SC_NS));
        EXPECT_EQ(b.wb->stats().completions, 2u) << "not written at the timeout";
    });
    EXPECT_EQ(b.wb->stats().batches, 1u);
    ASSERT_EQ(b.completion_ps.size(), 2u);
    // frame 1's record was queued after its 10 ns data write; the batch is due 500 ns after that
    EXPECT_GE(b.completion_ps[0], queued_from + 510'000);
    EXPECT_LE(b.completion_ps[0], queued_from + 560'000);
}

TEST(DescWb, BatchThatWrapsTheRingIsSplitAtTheEnd) {
    TimingParams t;
    t.wb_batch_max = 4;
    Bench b(t);
    b.run([&] {
        b.setup_rings(16, 8, 2048, 2048, 15);
        for (uint32_t i = 1; i <= 6; ++i) b.send(i, 64, uint8_t(i));  // slots 0-5
        sc_core::wait(sc_time(5, SC_US));
        b.drv.write(reg::kCplRingHead, 6);  // the driver consumed them
        for (uint32_t i = 7; i <= 10; ++i) b.send(i, 64, uint8_t(i));  // slots 6, 7, 0, 1: one batch
        sc_core::wait(sc_time(5, SC_US));
    });
    EXPECT_EQ(b.completion(6).frame_tag, 7u);
    EXPECT_EQ(b.completion(7).frame_tag, 8u);
    EXPECT_EQ(b.completion(0).frame_tag, 9u);
    EXPECT_EQ(b.completion(1).frame_tag, 10u);
    for (uint32_t s : {6u, 7u, 0u, 1u}) EXPECT_TRUE(b.completion(s).done) << s;
    bool body_at_6 = false, body_at_0 = false;
    for (const auto& a : b.dma.log) {
        if (a.write && a.addr == b.slot_addr(6)) body_at_6 = a.len == 2 * Completion::kBytes - 1;
        if (a.write && a.addr == b.slot_addr(0) && a.len == 2 * Completion::kBytes - 1) body_at_0 = true;
        EXPECT_FALSE(a.write && a.addr < b.slot_addr(8) && a.addr + a.len > b.slot_addr(8)) << "past the ring";
    }
    EXPECT_TRUE(body_at_6);
    EXPECT_TRUE(body_at_0);
    EXPECT_EQ(b.wb->stats().completions, 10u);
}

TEST(DescWb, PrefetchStopsAtTheTailAndAtTheEndOfTheRing) {
    TimingParams t;
    t.desc_prefetch = 4;
    Bench b(t);
    b.run([&] {
        b.setup_rings(8, 16, 2048, 2048, 6);
        for (uint32_t i = 1; i <= 6; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(5, SC_US));
        EXPECT_EQ(b.wb->stats().completions, 6u);
        b.drv.write(reg::kRxRingTail, 2);  // 4 more: slots 6, 7, 0, 1
        for (uint32_t i = 7; i <= 10; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(5, SC_US));
    });
    std::vector<std::pair<uint64_t, uint32_t>> reads;
    for (const auto& a : b.dma.log)
        if (!a.write) reads.emplace_back(a.addr - b.rx_ring, a.len / uint32_t(RxDescriptor::kBytes));
    const std::vector<std::pair<uint64_t, uint32_t>> expected = {{0, 4}, {64, 2}, {96, 2}, {0, 2}};
    EXPECT_EQ(reads, expected) << "(offset in the ring, descriptors) of each read";
    EXPECT_EQ(b.wb->stats().completions, 10u);
    const uint32_t buffer_of_frame[] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1};
    for (uint32_t f = 9; f <= 10; ++f) EXPECT_TRUE(b.buffer_holds(buffer_of_frame[f - 1], 64, uint8_t(f))) << f;
    EXPECT_TRUE(b.buffer_holds(6, 64, 7));
    EXPECT_TRUE(b.buffer_holds(7, 64, 8));
}

TEST(DescWb, FullCompletionRingStallsUntilTheHeadAdvances) {
    Bench b(TimingParams{});
    uint64_t stalled_full_before = 0;
    b.run([&] {
        b.setup_rings(16, 4, 2048, 2048, 15);  // 4 slots: 3 usable (one stays empty)
        for (uint32_t i = 1; i <= 5; ++i) b.send(i, 64, uint8_t(i));
        sc_core::wait(sc_time(5, SC_US));
        EXPECT_EQ(b.wb->stats().completions, 3u) << "wrote into a full completion ring";
        EXPECT_TRUE(b.slot_blank(3));
        EXPECT_EQ(b.drv.irqs, 1) << "the three records in one batch";
        stalled_full_before = b.wb->stats().stalled_cpl_full_ps;
        b.drv.write(reg::kCplRingHead, 2);  // the driver consumed slots 0 and 1
        sc_core::wait(sc_time(5, SC_US));
    });
    EXPECT_EQ(b.wb->stats().completions, 5u);
    for (uint32_t s = 0; s < 3; ++s) EXPECT_TRUE(b.completion(s).done) << s;
    EXPECT_EQ(b.completion(3).frame_tag, 4u);
    EXPECT_EQ(b.completion(0).frame_tag, 5u) << "slot 0 reused for frame 5";
    EXPECT_EQ(b.completion(1).frame_tag, 2u) << "slot 1 overwritten although the ring was full again";
    EXPECT_EQ(b.completion(2).frame_tag, 3u);
    EXPECT_TRUE(b.buffer_holds(3, 64, 4));
    EXPECT_TRUE(b.buffer_holds(4, 64, 5));
    EXPECT_EQ(stalled_full_before, 0u) << "counted only when the stall ends";
    EXPECT_GT(b.wb->stats().stalled_cpl_full_ps, 4'000'000u);
    EXPECT_EQ(b.wb->stats().stalled_no_buffer_ps, 0u);
    EXPECT_EQ(b.drv.irqs, 2) << "frames 4 and 5 in a second batch";
}

TEST(DescWb, FailedDescriptorReadStillCompletesWithoutData) {
    Bench b(TimingParams{});
    b.run([&] {
        b.setup_rings(8, 8, 2048, 2048, 2);
        b.drv.write(reg::kRxRingBaseLo, 0x100);  // the ring now points into the first page: DMA error
        b.drv.write(reg::kRxRingBaseHi, 0);
        b.drv.write(reg::kRxRingSize, 8);        // resets head and tail
        b.drv.write(reg::kRxRingTail, 2);
        b.send(1, 100, 0x11);
        sc_core::wait(sc_time(5, SC_US));
    });
    EXPECT_GE(b.wb->stats().dma_errors, 1u);
    EXPECT_EQ(b.wb->stats().completions, 1u);
    const Completion c = b.completion(0);
    EXPECT_TRUE(c.done);
    EXPECT_EQ(c.frame_tag, 1u);
    EXPECT_EQ(c.length, 0u) << "no buffer: no data";
    EXPECT_EQ(b.mem.at(b.buffer(0))[0], 0);
}

// With the real bus (posted writes visible one bus_latency_ns after their link time): each MSI reaches the
// driver only when every record of its batch has its done byte in host memory.
namespace {
struct NoRegisters : sc_core::sc_module {
    tlm_utils::simple_target_socket<NoRegisters> in{"in"};
    explicit NoRegisters(sc_core::sc_module_name n) : sc_module(n) {
        in.register_b_transport(this, &NoRegisters::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& t, sc_time&) { t.set_response_status(tlm::TLM_OK_RESPONSE); }
};
}  // namespace

TEST(DescWb, InterruptArrivesOnlyWhenItsBatchIsVisibleInHostMemory) {
    TimingParams t;  // defaults: 250 ns bus latency, batches of up to 8 records or 100 ns
    RxPacketPool pool{32, 4096};
    HostMemory mem{"mem", 0x100000};
    HostBus bus{"bus", t};
    NoRegisters cam{"cam"};
    sc_core::sc_fifo<RxPacket*> fifo{"fifo", 32};
    DescWb wb{"desc_wb", t, pool};
    Driver drv{"drv"};
    wb.in(fifo);
    wb.dma.bind(bus.dma_in);
    bus.host_mem.bind(mem.dma);
    bus.wb_regs.bind(wb.regs);
    bus.cam_regs.bind(cam.in);
    drv.regs.bind(bus.mmio_in);
    drv.irq = &wb.irq;
    const uint64_t rx_ring = mem.allocate(64 * RxDescriptor::kBytes), buffers = mem.allocate(64 * 2048),
                   cpl_ring = mem.allocate(64 * Completion::kBytes);
    std::vector<std::vector<uint32_t>> batches;  // frames of each batch, by the time their done bytes went out
    uint64_t last_batch_ps = ~0ULL;
    wb.on_completion = [&](const Completion& c) {
        const uint64_t now = uint64_t(sc_core::sc_time_stamp().value());
        if (now != last_batch_ps) batches.emplace_back();
        last_batch_ps = now;
        batches.back().push_back(c.frame_tag);
    };
    int irqs_checked = 0, records_checked = 0;
    struct IrqChecker : sc_core::sc_module {
        std::function<void()> on_irq;
        const sc_core::sc_event* irq = nullptr;
        explicit IrqChecker(sc_core::sc_module_name n) : sc_module(n) {
            SC_HAS_PROCESS(IrqChecker);
            SC_THREAD(run);
        }
        void run() {
            for (;;) {
                sc_core::wait(*irq);
                on_irq();
            }
        }
    } checker{"checker"};
    checker.irq = &wb.irq;
    checker.on_irq = [&] {
        ASSERT_LT(size_t(irqs_checked), batches.size()) << "an interrupt without a batch written";
        for (uint32_t frame : batches[size_t(irqs_checked)]) {
            const uint8_t* record = mem.at(cpl_ring + uint64_t(frame - 1) * Completion::kBytes);
            EXPECT_EQ(record[31], 1) << "MSI at " << sc_core::sc_time_stamp() << " before frame " << frame
                                     << "'s completion is visible";
            EXPECT_EQ(Completion::decode(record).frame_tag, frame);
            ++records_checked;
        }
        ++irqs_checked;
    };
    drv.body = [&] {
        for (uint32_t i = 0; i < 64; ++i) {
            uint8_t* d = mem.at(rx_ring + uint64_t(i) * RxDescriptor::kBytes);
            const uint64_t addr = buffers + uint64_t(i) * 2048;
            const uint32_t len = 2048;
            std::memcpy(d, &addr, 8);
            std::memcpy(d + 8, &len, 4);
        }
        auto w = [&](uint32_t off, uint32_t v) { drv.write(uint32_t(reg::kMmioBase) + off, v); };
        w(reg::kRxRingBaseLo, uint32_t(rx_ring));
        w(reg::kRxRingBaseHi, 0);
        w(reg::kRxRingSize, 64);
        w(reg::kCplRingBaseLo, uint32_t(cpl_ring));
        w(reg::kCplRingBaseHi, 0);
        w(reg::kCplRingSize, 64);
        w(reg::kRxRingTail, 63);
        w(reg::kRxCtrl, 1);
        for (uint32_t f = 1; f <= 40; ++f) {  // bursts and gaps: full batches and timed-out ones
            RxPacket* p = pool.acquire();
            p->reset(f);
            p->data.assign(size_t(60 + f * 7), uint8_t(f));
            p->ready_ps = uint64_t(sc_core::sc_time_stamp().value());
            fifo.write(p);
            if (f % 11 == 0) sc_core::wait(sc_time(700, SC_NS));
        }
        sc_core::wait(sc_time(20, SC_US));
    };
    sc_core::sc_start(sc_time(1, sc_core::SC_MS));
    EXPECT_TRUE(drv.finished);
    EXPECT_EQ(wb.stats().completions, 40u);
    EXPECT_EQ(size_t(irqs_checked), batches.size());
    EXPECT_EQ(records_checked, 40);
    EXPECT_GT(batches.size(), 4u);
    EXPECT_LT(batches.size(), 40u) << "no batching happened";
}

// The completion record's bytes (ov2_types.cpp): every field little-endian at its offset, the time
// stamp in 7 bytes (its top byte dropped), the done bit alone in byte 31; decode reads back what fits.
TEST(CompletionRecord, ByteLayout) {
    Completion c;
    c.frame_tag = 0x04030201;
    c.length = 0x0605;
    c.ipsec_flags = 0x0807;
    c.handle = 0x0C0B0A09;
    c.inner_handle = 0x100F0E0D;
    c.crypto_status = 0x11;
    c.next_header = 0x12;
    c.pad_length = 0x13;
    c.unprocessed_reason = 0x14;
    c.seq_low = 0x18171615;
    c.timestamp_ps = 0xFF1F1E1D1C1B1A19;
    c.done = true;
    const std::array<uint8_t, Completion::kBytes> b = c.encode();
    for (size_t i = 0; i < 31; ++i) EXPECT_EQ(b[i], i + 1) << "byte " << i;
    EXPECT_EQ(b[31], 1);
    c.done = false;
    EXPECT_EQ(c.encode()[31], 0);
    const Completion d = Completion::decode(b.data());
    EXPECT_EQ(d.frame_tag, c.frame_tag);
    EXPECT_EQ(d.length, c.length);
    EXPECT_EQ(d.ipsec_flags, c.ipsec_flags);
    EXPECT_EQ(d.handle, c.handle);
    EXPECT_EQ(d.inner_handle, c.inner_handle);
    EXPECT_EQ(d.seq_low, c.seq_low);
    EXPECT_EQ(d.timestamp_ps, 0x001F1E1D1C1B1A19u);
    EXPECT_TRUE(d.done);
}
