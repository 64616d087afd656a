// FrameFifo (rx_packet.h): the frame FIFO at the cycle mode's block boundaries keeps the times of an
// sc_fifo<RxPacket*> whose reader waits for each frame's ready_ps right after taking it, with fewer wake-ups.
// Each TEST is its own elaboration (toolchain.md pitfall 9).
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include <systemc>

#include "rx_packet.h"

using namespace ov2;

namespace {

struct Taken {
    uint32_t frame;
    uint64_t at_ps;
};

// A writer and a reader thread around one FrameFifo, each running a test body.
struct FifoBench : sc_core::sc_module {
    FrameFifo fifo;
    std::function<void()> writer, reader;
    bool writer_done = false, reader_done = false;

    FifoBench(sc_core::sc_module_name n, int depth) : sc_module(n), fifo("fifo", depth) {
        SC_HAS_PROCESS(FifoBench);
        SC_THREAD(write_thread);
        SC_THREAD(read_thread);
    }
    void write_thread() {
        if (writer) writer();
        writer_done = true;
    }
    void read_thread() {
        if (reader) reader();
        reader_done = true;
    }
};

RxPacket frame_ready_at(uint32_t frame, uint64_t ready_ps) {
    RxPacket p;
    p.frame = frame;
    p.ready_ps = ready_ps;
    return p;
}

void wait_ps(uint64_t ps) { sc_core::wait(ps_time(ps)); }

}  // namespace

TEST(FrameFifo, AWaitingReaderTakesTheFrameAtOnceAndWakesAtItsReadyTime) {
    FifoBench b("b", 2);
    RxPacket f1 = frame_ready_at(1, 5000);
    std::vector<Taken> taken;
    int free_after_write = -1;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.write(&f1);
        free_after_write = b.fifo.num_free();
    };
    b.reader = [&] {
        RxPacket* p = b.fifo.read();
        taken.push_back({p->frame, now_ps()});
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    EXPECT_EQ(free_after_write, 2) << "a frame handed to a waiting reader holds no slot";
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(taken[0].at_ps, 5000u) << "the reader wakes when the frame is ready, not when it was written";
}

TEST(FrameFifo, WithoutWakeAtReadyTheReaderWakesWhenTheFrameIsWritten) {
    FifoBench b("b", 2);
    b.fifo.set_wake_at_ready(false);
    RxPacket f1 = frame_ready_at(1, 5000);
    uint64_t woke = 0;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.write(&f1);
    };
    b.reader = [&] {
        b.fifo.read();
        woke = now_ps();
    };
    sc_core::sc_start();
    EXPECT_EQ(woke, 1000u);
}

TEST(FrameFifo, ABusyReaderFindsFramesInOrderAndAFullFifoHoldsTheWriterUntilARead) {
    FifoBench b("b", 1);
    RxPacket f1 = frame_ready_at(1, 100), f2 = frame_ready_at(2, 200), f3 = frame_ready_at(3, 300);
    std::vector<Taken> taken;
    std::vector<uint64_t> written;
    b.writer = [&] {
        wait_ps(100);
        for (RxPacket* p : {&f1, &f2, &f3}) {
            b.fifo.write(p);  // f1 handed over, f2 fills the one slot, f3 waits for the reader to take f2
            written.push_back(now_ps());
        }
    };
    b.reader = [&] {
        for (int i = 0; i < 3; ++i) {
            RxPacket* p = b.fifo.read();
            taken.push_back({p->frame, now_ps()});
            wait_ps(10000);  // busy with the frame
        }
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    ASSERT_EQ(taken.size(), 3u);
    EXPECT_EQ(taken[0].frame, 1u);
    EXPECT_EQ(taken[1].frame, 2u);
    EXPECT_EQ(taken[2].frame, 3u);
    EXPECT_EQ(taken[0].at_ps, 100u);
    EXPECT_EQ(taken[1].at_ps, 10100u) << "a frame waiting in the FIFO is taken when the reader asks";
    ASSERT_EQ(written.size(), 3u);
    EXPECT_EQ(written[1], 100u);
    EXPECT_EQ(written[2], 10100u) << "the writer is held until the read frees the slot";
    EXPECT_EQ(b.fifo.num_free(), 1);
}

TEST(FrameFifo, NbWriteRefusesWhenFullAndNbReadWhenEmpty) {
    FifoBench b("b", 1);
    RxPacket f1 = frame_ready_at(1, 0), f2 = frame_ready_at(2, 0);
    bool first = false, second = true, read_empty = true;
    b.writer = [&] {
        RxPacket* p = nullptr;
        read_empty = b.fifo.nb_read(p);  // nothing written yet
        first = b.fifo.nb_write(&f1);    // handed to the reader nb_read just registered
        second = b.fifo.nb_write(&f2);   // into the slot
        RxPacket* f3 = &f1;
        EXPECT_FALSE(b.fifo.nb_write(f3)) << "the slot is full";
        EXPECT_EQ(b.fifo.num_available(), 2);
        ASSERT_TRUE(b.fifo.nb_read(p));
        EXPECT_EQ(p->frame, 1u);
        ASSERT_TRUE(b.fifo.nb_read(p));
        EXPECT_EQ(p->frame, 2u);
    };
    sc_core::sc_start();
    EXPECT_TRUE(b.writer_done);
    EXPECT_FALSE(read_empty);
    EXPECT_TRUE(first);
    EXPECT_TRUE(second);
}

// write_at: a frame written now for a later time acts, for the reader, exactly as the write then.
TEST(FrameFifo, ATimedWriteReachesAWaitingReaderAtItsTimeOrItsLaterReadyTime) {
    FifoBench b("b", 2);
    RxPacket f1 = frame_ready_at(1, 3000), f2 = frame_ready_at(2, 9000);
    std::vector<Taken> taken;
    b.writer = [&] {
        wait_ps(1000);
        ASSERT_TRUE(b.fifo.can_write_at(4000));
        b.fifo.write_at(&f1, 4000);  // ready before its write: the reader wakes at the write's time
        EXPECT_EQ(b.fifo.timed_writes_after(now_ps()), 0u) << "the waiting reader was handed it at once";
        b.fifo.write_at(&f2, 5000);  // the reader no longer waits: the write stays ahead
        EXPECT_EQ(b.fifo.timed_writes_after(now_ps()), 1u);
        EXPECT_EQ(b.fifo.first_timed_write_after(now_ps()), 5000u);
        EXPECT_EQ(b.fifo.num_free(), 1) << "a timed write counts as taking its slot";
        EXPECT_FALSE(b.fifo.can_write_at(4999)) << "timed writes go in time order";
    };
    b.reader = [&] {
        for (int i = 0; i < 2; ++i) {
            RxPacket* p = b.fifo.read();
            taken.push_back({p->frame, now_ps()});
        }
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(taken[0].frame, 1u);
    EXPECT_EQ(taken[0].at_ps, 4000u);
    EXPECT_EQ(taken[1].frame, 2u);
    EXPECT_EQ(taken[1].at_ps, 9000u) << "the reader, back at 4000, is handed f2 at 5000 and woken at its ready_ps";
    EXPECT_EQ(b.fifo.timed_writes_after(0), 0u);
}

TEST(FrameFifo, ABusyReaderFindsATimedWriteOnlyFromItsTimeOnAndInOrder) {
    FifoBench b("b", 3);
    RxPacket f1 = frame_ready_at(1, 0), f2 = frame_ready_at(2, 0);
    std::vector<Taken> taken;
    int available_before = -1, available_at = -1;
    bool found_early = true;
    b.writer = [&] {
        b.fifo.write(&f1);       // into the queue: the reader is busy
        b.fifo.write_at(&f2, 2000);
    };
    b.reader = [&] {
        wait_ps(1000);
        available_before = b.fifo.num_available();
        RxPacket* p = nullptr;
        ASSERT_TRUE(b.fifo.nb_read(p));
        taken.push_back({p->frame, now_ps()});
        wait_ps(500);            // 1500: the timed write is still ahead
        found_early = b.fifo.num_available() != 0;
        wait_ps(500);            // 2000: it is in
        available_at = b.fifo.num_available();
        ASSERT_TRUE(b.fifo.nb_read(p));
        taken.push_back({p->frame, now_ps()});
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    EXPECT_EQ(available_before, 1);
    EXPECT_FALSE(found_early);
    EXPECT_EQ(available_at, 1);
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(taken[0].frame, 1u);
    EXPECT_EQ(taken[1].frame, 2u);
    EXPECT_EQ(taken[1].at_ps, 2000u);
}

TEST(FrameFifo, ATimedWriteBeforeAReadLaterIsTakenAtThatRead) {
    FifoBench b("b", 2);
    RxPacket f1 = frame_ready_at(1, 0);
    uint64_t woke = 0;
    b.reader = [&] {
        b.fifo.read_later(5000);  // the reader reads at 5000, as if it woke then
        sc_core::wait(b.fifo.data_written_event());
        woke = now_ps();
        RxPacket* p = nullptr;
        EXPECT_TRUE(b.fifo.nb_read(p));
    };
    b.writer = [&] {
        wait_ps(100);
        b.fifo.write_at(&f1, 2000);  // written before the read: found by it
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    EXPECT_EQ(woke, 5000u);
}
