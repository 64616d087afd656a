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

namespace {

// One SC_METHOD reading two FrameFifos, statically sensitive to both written events (as the parser and CAM
// stages' front_stages): `a` shares its wake-up with `b`.
struct SharedWakeBench : sc_core::sc_module {
    FrameFifo a{"a", 2}, b{"b", 2};
    std::function<void()> writer;
    struct Read {
        uint32_t frame;
        uint64_t at_ps;
        bool by_event;  // the FIFO's own written event was triggered
    };
    std::vector<Read> reads;
    int activations = 0;

    explicit SharedWakeBench(sc_core::sc_module_name n) : sc_module(n) {
        SC_HAS_PROCESS(SharedWakeBench);
        a.share_wake_with(&b);
        SC_THREAD(write_thread);
        SC_METHOD(read_method);
        sensitive << a.data_written_event() << b.data_written_event();
    }
    void write_thread() { writer(); }
    void read_method() {
        ++activations;
        take(b, b.data_written_event().triggered());
        const bool a_event = a.data_written_event().triggered();
        if (activations == 1 || a_event || a.handed_due_now()) take(a, a_event);
    }
    void take(FrameFifo& f, bool by_event) {  // reads until the FIFO is empty, and so waits for it again
        RxPacket* p = nullptr;
        while (f.nb_read(p)) reads.push_back({p->frame, now_ps(), by_event});
    }
};

}  // namespace

TEST(FrameFifo, AFrameDueWhenTheSharedFifoWakesTheReaderGoesOverWithoutANotificationOfItsOwn) {
    SharedWakeBench s("s");
    RxPacket f1 = frame_ready_at(1, 5000), f2 = frame_ready_at(2, 5000), f3 = frame_ready_at(3, 9000);
    s.writer = [&] {
        wait_ps(1000);
        s.b.write(&f1);  // b wakes the reader at 5000
        wait_ps(1000);
        s.a.write(&f2);  // due at 5000 too: no notification of a's own
        wait_ps(4000);
        s.a.write(&f3);  // nothing else wakes the reader at 9000: notified
    };
    sc_core::sc_start();
    ASSERT_EQ(s.reads.size(), 3u);
    EXPECT_EQ(s.reads[0].frame, 1u);
    EXPECT_EQ(s.reads[1].frame, 2u);
    EXPECT_EQ(s.reads[1].at_ps, 5000u);
    EXPECT_FALSE(s.reads[1].by_event) << "found by handed_due_now, a's written event not notified";
    EXPECT_EQ(s.reads[2].frame, 3u);
    EXPECT_EQ(s.reads[2].at_ps, 9000u);
    EXPECT_TRUE(s.reads[2].by_event);
    EXPECT_EQ(s.activations, 3) << "the start, 5000 (both frames) and 9000";
}

// write_at (the MAC running ahead of the wire): a frame written for a later time reaches the reader exactly
// as if written then.
TEST(FrameFifo, AFrameWrittenForLaterReachesAWaitingReaderAsIfWrittenThen) {
    FifoBench b("b", 2);
    RxPacket f1 = frame_ready_at(1, 5000), f2 = frame_ready_at(2, 9000);
    std::vector<Taken> taken;
    int free_before = -1;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.write_at(&f1, 3000);
        b.fifo.write_at(&f2, 4000);
        free_before = b.fifo.num_free();
    };
    b.reader = [&] {
        for (int i = 0; i < 2; ++i) {
            RxPacket* p = b.fifo.read();
            taken.push_back({p->frame, now_ps()});
        }
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.writer_done && b.reader_done);
    EXPECT_EQ(free_before, 1) << "the frame not yet handed over takes its slot ahead";
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(taken[0].frame, 1u);
    EXPECT_EQ(taken[0].at_ps, 5000u);
    EXPECT_EQ(taken[1].frame, 2u);
    EXPECT_EQ(taken[1].at_ps, 5000u) << "in the FIFO from 4000 (the reader held f1 then): taken when asked for";
}

TEST(FrameFifo, ABusyReaderSeesAFrameWrittenForLaterOnlyFromItsTimeOn) {
    FifoBench b("b", 4);
    RxPacket f1 = frame_ready_at(1, 0), f2 = frame_ready_at(2, 0), f3 = frame_ready_at(3, 8000);
    int available_at_2000 = -1, available_at_3500 = -1;
    std::vector<Taken> taken;
    b.writer = [&] {
        b.fifo.write(&f1);  // to the reader waiting from the start
        b.fifo.write_at(&f2, 3000);
        b.fifo.write_at(&f3, 4000);
    };
    b.reader = [&] {
        RxPacket* p = b.fifo.read();
        taken.push_back({p->frame, now_ps()});
        wait_ps(2000);
        available_at_2000 = b.fifo.num_available();
        wait_ps(1500);
        available_at_3500 = b.fifo.num_available();
        for (int i = 0; i < 2; ++i) {
            p = b.fifo.read();
            taken.push_back({p->frame, now_ps()});
        }
    };
    sc_core::sc_start();
    ASSERT_TRUE(b.reader_done);
    EXPECT_EQ(available_at_2000, 0);
    EXPECT_EQ(available_at_3500, 1) << "f2 is in, f3 is not yet";
    ASSERT_EQ(taken.size(), 3u);
    EXPECT_EQ(taken[1].frame, 2u);
    EXPECT_EQ(taken[1].at_ps, 3500u);
    EXPECT_EQ(taken[2].frame, 3u);
    EXPECT_EQ(taken[2].at_ps, 8000u) << "f3 reaches the reader, waiting from 3500, at its ready time";
}

TEST(FrameFifo, AFrameWrittenForLaterBeforeAReadLaterEndsWaitsForThatRead) {
    FifoBench b("b", 2);
    b.fifo.set_wake_at_ready(false);  // the frame, ready at once, wakes the reader at its read
    RxPacket f1 = frame_ready_at(1, 0);
    uint64_t woke = 0;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.read_later(6000);   // the reader reads at 6000
        b.fifo.write_at(&f1, 2000);
    };
    b.reader = [&] {
        wait_ps(500);
        sc_core::wait(b.fifo.data_written_event());
        woke = now_ps();
    };
    sc_core::sc_start();
    EXPECT_EQ(woke, 6000u);
}

// reader_reads_after / write_at (the reorder buffer ahead of the frame writer): a frame due before the
// reader's read_later ends may be written now, and waits for that read as if written at its time.
TEST(FrameFifo, AFrameDueBeforeTheReadersLaterReadMayBeWrittenAheadAndWaitsForThatRead) {
    FifoBench b("b", 2);
    RxPacket f1 = frame_ready_at(1, 3000);
    bool before_2500 = false, at_read = true, after_now = true, once_written = true;
    uint64_t wake_before = 1, wake_after = 0;
    std::vector<Taken> taken;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.read_later(6000);  // the reader reads from 6000 on
        before_2500 = b.fifo.reader_reads_after(2500);
        at_read = b.fifo.reader_reads_after(6000);
        after_now = b.fifo.reader_reads_after(1000);
        wake_before = b.fifo.reader_wake_ps();
        b.fifo.write_at(&f1, 3000);
        once_written = b.fifo.reader_reads_after(4000);
        wake_after = b.fifo.reader_wake_ps();
    };
    b.reader = [&] {
        RxPacket* p = b.fifo.read();
        taken.push_back({p->frame, now_ps()});
    };
    sc_core::sc_start();
    EXPECT_TRUE(before_2500);
    EXPECT_FALSE(at_read) << "the reader acts at 6000: a write then is not ahead of it";
    EXPECT_FALSE(after_now) << "not a time to come";
    EXPECT_EQ(wake_before, 0u) << "nothing to wake the reader for yet";
    EXPECT_FALSE(once_written) << "the FIFO holds a frame: the reader is no longer waiting";
    EXPECT_EQ(wake_after, 6000u) << "the frame waits for the read at 6000";
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(taken[0].at_ps, 6000u);
}

namespace {

struct PauseListener : FifoReaderPauses {
    std::vector<uint64_t> calls;
    void reader_paused(FrameFifo&) override { calls.push_back(now_ps()); }
};

}  // namespace

TEST(FrameFifo, TheWriterSideIsCalledBackOnceWhenTheReaderNextPauses) {
    FifoBench b("b", 2);
    PauseListener listener;
    b.writer = [&] {
        wait_ps(1000);
        b.fifo.call_back_when_reader_pauses(&listener);
    };
    b.reader = [&] {
        b.fifo.reader_paused();  // before the request: no call
        wait_ps(5000);
        b.fifo.reader_paused();
        wait_ps(1000);
        b.fifo.reader_paused();  // the request was for one pause
    };
    sc_core::sc_start();
    ASSERT_EQ(listener.calls.size(), 1u);
    EXPECT_EQ(listener.calls[0], 5000u);
}
