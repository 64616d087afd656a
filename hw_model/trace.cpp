#include "trace.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <systemc>

#include "input_error.h"

namespace ov2 {

namespace fs = std::filesystem;

uint64_t Tracer::current_ps() { return uint64_t(sc_core::sc_time_stamp().value()); }
uint64_t TraceSignal::now() { return uint64_t(sc_core::sc_time_stamp().value()); }

std::string resolve_vcd_path(const std::string& file) {
    if (file.empty()) throw InputError("--vcd", "", "empty file name", "a file name such as run.vcd");
    fs::path p(file);
    if (!p.has_parent_path()) p = fs::path("traces") / p;
    if (p.filename().empty() || p.filename() == "." || p.filename() == "..")
        throw InputError(file, "--vcd", "names a directory, not a file", "a file name such as run.vcd");
    if (p.extension() == ".gtkw")
        throw InputError(file, "--vcd", "the GTKWave save file takes this name", "a file name such as run.vcd");
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec)
        throw InputError(p.parent_path().string(), "--vcd", "cannot create the directory (" + ec.message() + ")",
                         "a writable path");
    return p.string();
}

std::string gtkw_path_for(const std::string& vcd_path) {
    return fs::path(vcd_path).replace_extension(".gtkw").string();
}

Tracer::Tracer(const std::string& vcd_path, const std::string& root, uint64_t pulse_ps)
    : vcd_path_(vcd_path), root_(root), pulse_ps_(std::max<uint64_t>(pulse_ps, 1)), file_buffer_(1 << 20) {
    file_ = std::fopen(vcd_path_.c_str(), "w");
    if (!file_)
        throw InputError(vcd_path_, "--vcd", std::string("cannot create (") + std::strerror(errno) + ")",
                         "a writable path");
    std::setvbuf(file_, file_buffer_.data(), _IOFBF, file_buffer_.size());
    current_.reserve(kFlushRecords + 16);
    out_.reserve(2 << 20);
}

Tracer::~Tracer() {
    if (!closed_) {
        try {
            close(std::max(current_ps(), written_ps_));
        } catch (...) {
        }
    }
}

std::string Tracer::gtkw_path() const { return gtkw_path_for(vcd_path_); }

Tracer::Id Tracer::signal(const std::string& path, unsigned width, TraceFormat format, uint64_t initial) {
    if (auto it = by_path_.find(path); it != by_path_.end()) return it->second;
    if (header_written_) throw std::logic_error("trace signal " + path + " declared after tracing started");
    if (width == 0 || width > 64) throw std::logic_error("trace signal " + path + ": width 1..64");
    // VCD identifiers: printable ASCII 33..126 without '#' and '$' (a vector change "b101 #" or "b0 $x"
    // would read like a time or a keyword to a simple reader).
    static const std::string alphabet = [] {
        std::string a;
        for (char c = 33; c <= 126; ++c)
            if (c != '#' && c != '$') a += c;
        return a;
    }();
    std::string code;
    for (size_t n = sigs_.size();; n = n / alphabet.size() - 1) {
        code += alphabet[n % alphabet.size()];
        if (n < alphabet.size()) break;
    }
    if (width < 64) initial &= (uint64_t(1) << width) - 1;
    by_path_.emplace(path, Id(sigs_.size()));
    sigs_.push_back(Sig{path, width, format, code, initial});
    last_.push_back(initial);
    written_.push_back(initial);
    pending_.push_back(initial);
    touched_.push_back(0);
    return Id(sigs_.size() - 1);
}

void Tracer::write_value(const Sig& s, uint64_t value) {
    if (s.width == 1) {
        out_ += value & 1 ? '1' : '0';
    } else {
        out_ += 'b';
        int top = int(s.width) - 1;
        while (top > 0 && !(value >> top & 1)) --top;
        for (int b = top; b >= 0; --b) out_ += char('0' + (value >> b & 1));
        out_ += ' ';
    }
    out_ += s.code;
    out_ += '\n';
}

void Tracer::write_time(uint64_t ps) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = char('0' + ps % 10);
        ps /= 10;
    } while (ps);
    out_ += '#';
    while (n) out_ += digits[--n];
    out_ += '\n';
}

void Tracer::drain_output() {
    if (!out_.empty()) std::fwrite(out_.data(), 1, out_.size(), file_);
    out_.clear();
}

// Scopes from the dotted paths, in the order they were first declared; the variables of a scope before
// its sub-scopes.
void Tracer::write_header() {
    header_written_ = true;
    drain_output();
    std::fprintf(file_, "$version\n   ov2sim\n$end\n$comment\n   ov2sim --vcd: see docs/waveforms.md\n$end\n");
    std::fprintf(file_, "$timescale\n   1 ps\n$end\n");
    struct Node {
        std::string name;
        std::vector<size_t> children;  // into nodes
        std::vector<Id> vars;
    };
    std::vector<Node> nodes{Node{root_, {}, {}}};
    for (Id i = 0; i < sigs_.size(); ++i) {
        size_t node = 0;
        const std::string& path = sigs_[i].path;
        size_t from = 0;
        for (size_t dot; (dot = path.find('.', from)) != std::string::npos; from = dot + 1) {
            const std::string scope = path.substr(from, dot - from);
            size_t found = 0;
            for (size_t c : nodes[node].children)
                if (nodes[c].name == scope) found = c;
            if (!found) {
                nodes.push_back(Node{scope, {}, {}});
                found = nodes.size() - 1;
                nodes[node].children.push_back(found);
            }
            node = found;
        }
        nodes[node].vars.push_back(i);
    }
    auto write_node = [&](auto& self, size_t n) -> void {
        std::fprintf(file_, "$scope module %s $end\n", nodes[n].name.c_str());
        for (Id i : nodes[n].vars) {
            const Sig& s = sigs_[i];
            const std::string name = s.path.substr(s.path.rfind('.') + 1);
            if (s.width == 1) std::fprintf(file_, "$var wire 1 %s %s $end\n", s.code.c_str(), name.c_str());
            else std::fprintf(file_, "$var wire %u %s %s [%u:0] $end\n", s.width, s.code.c_str(), name.c_str(),
                              s.width - 1);
        }
        for (size_t c : nodes[n].children) self(self, c);
        std::fprintf(file_, "$upscope $end\n");
    };
    write_node(write_node, 0);
    std::fprintf(file_, "$enddefinitions $end\n#0\n$dumpvars\n");
    for (const Sig& s : sigs_) write_value(s, s.initial);
    out_ += "$end\n";
    written_ps_ = 0;
}

void Tracer::apply(const Record& r) {
    if (step_open_ && r.ps != step_ps_) end_time_step();
    step_ps_ = r.ps;
    step_open_ = true;
    pending_[r.id] = r.value;
    if (!touched_[r.id]) {
        touched_[r.id] = 1;
        touched_ids_.push_back(r.id);
    }
}

void Tracer::end_time_step() {
    step_open_ = false;
    std::sort(touched_ids_.begin(), touched_ids_.end());
    const uint64_t stamp = std::max(step_ps_, written_ps_);  // never back in time, whatever was recorded
    bool stamped = stamp == written_ps_;
    for (Id id : touched_ids_) {
        touched_[id] = 0;
        const Sig& s = sigs_[id];
        uint64_t v = pending_[id];
        if (s.width < 64) v &= (uint64_t(1) << s.width) - 1;
        if (v == written_[id]) continue;
        if (!stamped) {
            write_time(stamp);
            written_ps_ = stamp;
            stamped = true;
        }
        write_value(s, v);
        written_[id] = v;
    }
    touched_ids_.clear();
    if (out_.size() >= (1 << 20)) drain_output();
}

// Merges the changes recorded for their own time (in order already) with those recorded ahead of time
// (the heap), in (time, recording order): for one signal at one time, the last one recorded wins.
void Tracer::flush_before(uint64_t limit_ps) {
    if (!header_written_) write_header();
    size_t i = 0;
    for (;;) {
        const bool have_current = i < current_.size() && current_[i].ps < limit_ps;
        const bool have_future = !future_.empty() && future_.front().ps < limit_ps;
        if (!have_current && !have_future) break;
        if (have_current && (!have_future || Later()(future_.front(), current_[i]))) {
            apply(current_[i++]);
        } else {
            apply(future_.front());
            std::pop_heap(future_.begin(), future_.end(), Later());
            future_.pop_back();
        }
    }
    if (step_open_) end_time_step();
    current_.erase(current_.begin(), current_.begin() + long(i));
}

void Tracer::close(uint64_t end_ps, uint64_t view_from_ps) {
    if (closed_) return;
    closed_ = true;
    flush_before(UINT64_MAX);
    end_ps = std::max(end_ps, written_ps_);
    if (end_ps > written_ps_) write_time(end_ps);
    drain_output();
    const bool failed = std::fflush(file_) != 0 || std::ferror(file_);
    std::fclose(file_);
    file_ = nullptr;
    if (failed) throw InputError(vcd_path_, "--vcd", "write failed", "space on the disk");
    write_gtkw(std::min(view_from_ps, end_ps), end_ps);
}

// A co-simulated RTL block's group (`cam_rtl`, docs/rtl.md) goes right after its SystemC twin's (`cam`).
static void place_rtl_twins(std::vector<std::string>& groups) {
    static const std::string kSuffix = "_rtl";
    for (size_t i = 0; i < groups.size(); ++i) {
        const std::string& g = groups[i];
        if (g.size() <= kSuffix.size() || g.compare(g.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) continue;
        const auto twin = std::find(groups.begin(), groups.end(), g.substr(0, g.size() - kSuffix.size()));
        if (twin == groups.end() || twin - groups.begin() + 1 == std::ptrdiff_t(i)) continue;
        const std::string moved = g;
        groups.erase(groups.begin() + std::ptrdiff_t(i));
        groups.insert(std::find(groups.begin(), groups.end(), moved.substr(0, moved.size() - kSuffix.size())) + 1, moved);
    }
}

// GTKWave's save file: the dump file, the window, a zoom that shows the whole run, then one group per block
// (the first part of each signal's path) with the block's signals in the order they were declared.
// A line "+{alias} name" shows the signal under the alias.
// Trace flags (GTKWave's TR_* bits): 0x20 right-justify, +0x8 binary, +0x4 decimal, +0x2 hex;
// 0x800200 opens a group (blank row + group begin), 0x1000200 closes it.
void Tracer::write_gtkw(uint64_t from_ps, uint64_t end_ps) const {
    const std::string path = gtkw_path();
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw InputError(path, "--vcd", std::string("cannot create (") + std::strerror(errno) + ")",
                             "a writable path");
    std::error_code ec;
    const fs::path vcd_abs = fs::absolute(vcd_path_, ec).lexically_normal();
    const fs::path gtkw_abs = fs::absolute(path, ec).lexically_normal();
    // GTKWave's zoom z shows 2^-z time units per 200 pixels (calczoom); about 1250 pixels of wave area in a
    // 1600-wide window. The view starts a little before from_ps and ends a little after end_ps.
    const uint64_t margin = (end_ps - from_ps) / 50;
    const uint64_t start = from_ps > margin ? from_ps - margin : 0;
    const double span = double(std::max<uint64_t>(end_ps + margin - start, 1000));
    const double zoom = -std::log2(span / 1250.0 * 200.0);
    std::fprintf(f, "[*] ov2sim waveform view: one group per block; signals in docs/waveforms.md\n");
    std::fprintf(f, "[dumpfile] \"%s\"\n", vcd_abs.string().c_str());
    std::fprintf(f, "[savefile] \"%s\"\n", gtkw_abs.string().c_str());
    std::fprintf(f, "[timestart] %llu\n[size] 1600 900\n[pos] -1 -1\n*%f -1\n",
                 static_cast<unsigned long long>(start), zoom);
    std::fprintf(f, "[treeopen] %s.\n[sst_width] 120\n[signals_width] 260\n[sst_expanded] 0\n"
                    "[sst_vpaned_height] 250\n",
                 root_.c_str());
    std::vector<std::string> groups;
    for (const Sig& s : sigs_) {
        const std::string g = s.path.substr(0, s.path.find('.'));
        if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
    }
    place_rtl_twins(groups);
    for (const std::string& g : groups) {
        std::fprintf(f, "@800200\n-%s\n", g.c_str());
        unsigned flags = 0;
        for (const Sig& s : sigs_) {
            if (s.path.substr(0, s.path.find('.')) != g) continue;
            const unsigned want = s.width == 1 ? 0x28 : s.format == TraceFormat::Hex ? 0x22
                                                      : s.format == TraceFormat::Bin ? 0x28 : 0x24;
            if (want != flags) std::fprintf(f, "@%x\n", want);
            flags = want;
            // GTKWave shows a signal by its last name; one deeper than its block (crypto.lane0.busy) gets
            // an alias with the rest of its path, dots as '_' (lane0_busy), or the lanes would all read "busy".
            std::string in_group = s.path.substr(g.size() + 1);
            if (in_group.find('.') != std::string::npos) {
                std::replace(in_group.begin(), in_group.end(), '.', '_');
                std::fprintf(f, "+{%s} ", in_group.c_str());
            }
            if (s.width == 1) std::fprintf(f, "%s.%s\n", root_.c_str(), s.path.c_str());
            else std::fprintf(f, "%s.%s[%u:0]\n", root_.c_str(), s.path.c_str(), s.width - 1);
        }
        std::fprintf(f, "@1000200\n-%s\n", g.c_str());
    }
    const bool failed = std::fflush(f) != 0 || std::ferror(f);
    std::fclose(f);
    if (failed) throw InputError(path, "--vcd", "write failed", "space on the disk");
}

void QueueTrace::attach(Tracer& t, const std::string& stage) {
    // The stage's signals in their display order, whichever side attaches first.
    t.signal(stage + ".valid", 1, TraceFormat::Bin);
    t.signal(stage + ".ready", 1, TraceFormat::Bin, 1);
    t.signal(stage + ".busy", 1, TraceFormat::Bin);
    t.signal(stage + ".stall", 1, TraceFormat::Bin);
    t.signal(stage + ".frame", 32);
    valid.attach(t, stage + ".valid", 1, TraceFormat::Bin);
    queue.attach(t, stage + ".queue", 32);
}

void StageTrace::attach(Tracer& t, const std::string& stage) {
    in.attach(t, stage);
    ready.attach(t, stage + ".ready", 1, TraceFormat::Bin, 1);
    busy.attach(t, stage + ".busy", 1, TraceFormat::Bin);
    stall.attach(t, stage + ".stall", 1, TraceFormat::Bin);
    frame.attach(t, stage + ".frame", 32);
}

}  // namespace ov2
