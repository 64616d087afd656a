// Waveform output (`ov2sim run --vcd FILE`): a VCD of the pipeline and a GTKWave save file beside it.
//
// The blocks are SC_METHODs and SC_THREADs with timed waits, and many of the things worth seeing happen at
// times no process is awake at (a crypto lane frees up at start + busy, a DMA write starts when the link is
// free). So the blocks do not drive sc_signals: they record value changes with the simulated time they
// happen at (now or later) into a Tracer, which orders them and writes the VCD itself. Recording never
// waits and never notifies an event, so the simulation's schedule, and every result, is the same with
// tracing on or off. With tracing off a TraceSignal holds a null Tracer and each write is one test of that
// pointer. The signals and their meaning: docs/waveforms.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace ov2 {

// How the GTKWave save file shows a signal.
enum class TraceFormat : uint8_t { Bin, Dec, Hex };

class Tracer {
public:
    using Id = uint32_t;

    // vcd_path: where the VCD goes (its directory must exist); the save file is gtkw_path_for(vcd_path).
    // root: the top scope (the system's name). pulse_ps: the width of a pulse (one core clock cycle).
    Tracer(const std::string& vcd_path, const std::string& root, uint64_t pulse_ps);
    ~Tracer();  // closes, if close() was not called
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    // Declares the signal "block.name" or "block.sub.name" (scopes separated by dots) and returns its id;
    // the same path again returns the same id. Only before the first value is written out.
    Id signal(const std::string& path, unsigned width, TraceFormat format = TraceFormat::Dec,
              uint64_t initial = 0);

    // The value changes at simulated time ps (never earlier than the current time). Several changes of one
    // signal at the same time: the last one recorded wins.
    void set_at(uint64_t ps, Id id, uint64_t value) {
        const uint64_t now = current_ps();
        last_[id] = value;
        if (ps > now) {
            future_.push_back(Record{ps, seq_++, value, id});
            std::push_heap(future_.begin(), future_.end(), Later());
        } else {
            current_.push_back(Record{now, seq_++, value, id});
        }
        if (current_.size() >= kFlushRecords) flush_before(now);
    }
    void set(Id id, uint64_t value) { set_at(current_ps(), id, value); }
    // 1 from ps for one pulse width, then 0.
    void pulse_at(uint64_t ps, Id id) {
        set_at(ps, id, 1);
        set_at(ps + pulse_ps_, id, 0);
    }
    // The value last recorded (in recording order): for counters changed only at the current time.
    uint64_t last(Id id) const { return last_[id]; }

    // Writes every recorded change, the end time and the GTKWave save file. end_ps: the end of the run;
    // the save file's view shows view_from_ps .. end_ps (e.g. the traffic, without the driver's set-up).
    void close(uint64_t end_ps, uint64_t view_from_ps = 0);

    const std::string& vcd_path() const { return vcd_path_; }
    std::string gtkw_path() const;
    uint64_t pulse_ps() const { return pulse_ps_; }
    size_t signals() const { return sigs_.size(); }

private:
    struct Record {
        uint64_t ps, seq;  // when, and the order it was recorded in
        uint64_t value;
        Id id;
    };
    struct Later {  // heap order: the earliest (time, seq) at the front
        bool operator()(const Record& a, const Record& b) const { return a.ps != b.ps ? a.ps > b.ps : a.seq > b.seq; }
    };
    struct Sig {
        std::string path;  // without the root
        unsigned width;
        TraceFormat format;
        std::string code;  // VCD identifier
        uint64_t initial;
    };
    static constexpr size_t kFlushRecords = 1 << 16;

    static uint64_t current_ps();
    void write_header();
    void flush_before(uint64_t limit_ps);  // writes the changes earlier than limit_ps
    void apply(const Record& r);           // one change of the time being written
    void end_time_step();                  // writes the changes of that time
    void write_value(const Sig& s, uint64_t value);
    void write_time(uint64_t ps);
    void drain_output();                   // the text buffer to the file
    void write_gtkw(uint64_t from_ps, uint64_t end_ps) const;

    std::string vcd_path_, root_;
    uint64_t pulse_ps_;
    std::FILE* file_ = nullptr;
    std::vector<char> file_buffer_;
    std::vector<Sig> sigs_;
    std::unordered_map<std::string, Id> by_path_;
    std::vector<uint64_t> last_;      // last recorded value, by id
    std::vector<uint64_t> written_;   // value in the VCD so far, by id
    std::vector<uint64_t> pending_;   // value at the time being written, by id
    std::vector<uint8_t> touched_;
    std::vector<Id> touched_ids_;
    // Changes for the time they were recorded at arrive in (time, seq) order; changes for a later time
    // wait in a min-heap on (time, seq). flush_before merges the two.
    std::vector<Record> current_;
    std::vector<Record> future_;
    uint64_t seq_ = 0;
    uint64_t step_ps_ = 0;            // the time whose changes apply() is collecting
    bool step_open_ = false;
    std::string out_;                 // VCD text not yet written
    uint64_t written_ps_ = 0;         // the last "#time" written
    bool header_written_ = false, closed_ = false;
};

// A signal as a block holds it: a null Tracer (tracing off) makes every call return at once.
class TraceSignal {
public:
    void attach(Tracer& t, const std::string& path, unsigned width, TraceFormat format = TraceFormat::Dec,
                uint64_t initial = 0) {
        id_ = t.signal(path, width, format, initial);
        t_ = &t;
    }
    void set(uint64_t value) const {
        if (t_) t_->set(id_, value);
    }
    void set_at(uint64_t ps, uint64_t value) const {
        if (t_) t_->set_at(ps, id_, value);
    }
    void pulse() const {
        if (t_) t_->pulse_at(now(), id_);
    }
    void pulse_at(uint64_t ps) const {
        if (t_) t_->pulse_at(ps, id_);
    }
    void add(int64_t delta) const {  // a counter, changed at the current time only
        if (t_) t_->set(id_, uint64_t(int64_t(t_->last(id_)) + delta));
    }
    uint64_t last() const { return t_ ? t_->last(id_) : 0; }
    bool on() const { return t_ != nullptr; }

private:
    static uint64_t now();
    Tracer* t_ = nullptr;
    Tracer::Id id_ = 0;
};

// The input side of a pipeline stage: frames waiting in the FIFO in front of it (`queue`) and
// `valid` = queue > 0. The producer and the stage attach to the same signals.
struct QueueTrace {
    TraceSignal valid, queue;
    void attach(Tracer& t, const std::string& stage);
    void add(int delta) const {
        if (!queue.on()) return;
        queue.add(delta);
        valid.set(queue.last() > 0);
    }
};

// A pipeline stage: valid/queue (its input), ready (waiting for a frame), busy (holds a frame),
// stall (holds a frame it cannot move on), frame (the frame it holds, 0 = none).
struct StageTrace {
    QueueTrace in;
    TraceSignal ready, busy, stall, frame;
    void attach(Tracer& t, const std::string& stage);
    bool on() const { return busy.on(); }
    void take(uint32_t frame_number) const {  // took a frame out of its input FIFO
        if (!on()) return;
        in.add(-1);
        ready.set(0);
        busy.set(1);
        frame.set(frame_number);
    }
    void done() const {  // handed the frame on
        if (!on()) return;
        stall.set(0);
        busy.set(0);
        frame.set(0);
        ready.set(1);
    }
};

// Where `--vcd FILE` writes: FILE itself, or traces/FILE when FILE names no directory. Creates the
// directory; throws InputError when it cannot.
std::string resolve_vcd_path(const std::string& file);
// The save file beside the VCD: its extension replaced by .gtkw (run.vcd -> run.gtkw, run -> run.gtkw).
std::string gtkw_path_for(const std::string& vcd_path);

}  // namespace ov2
