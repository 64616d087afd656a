// fuzz_replay_<target>: the fuzz target's LLVMFuzzerTestOneInput in a normal (gcc) binary, so the regular
// test suite replays every finding without clang or libFuzzer:
//   fuzz_replay_x [--random N] [--seed S] PATH...
// PATH: files, or directories whose regular files are replayed (sorted by name). Then the target's
// built-in seeds, then N deterministic pseudo-random inputs (default 300): mutations of the regressions and
// built-in seeds (bit flips, byte sets, insertions, deletions, truncation, splices) and plain random bytes.
// Any invariant violation aborts (the test fails) after writing the input to ./fuzz_replay-crash (or to
// $OV2_FUZZ_CRASH_FILE); exit 0 with a summary line otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_util.h"

using ov2::fuzz::Bytes;
using ov2::fuzz::Rng;

namespace {

Bytes read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const Bytes* g_current = nullptr;
const char* g_crash_file = "fuzz_replay-crash";

// SIGABRT (an invariant, a sanitizer, an uncaught exception): keep the input that did it.
void on_abort(int) {
    if (g_current) {
        const int fd = ::open(g_crash_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ssize_t ignored = ::write(fd, g_current->data(), g_current->size());
            (void)ignored;
            ::close(fd);
            const char msg[] = "fuzz_replay: the failing input was written to ";
            ignored = ::write(2, msg, sizeof msg - 1);
            ignored = ::write(2, g_crash_file, std::strlen(g_crash_file));
            ignored = ::write(2, "\n", 1);
        }
    }
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
}

void run(const Bytes& input) {
    g_current = &input;
    // A copy on the heap of exactly the input's size, as libFuzzer does (ASan sees reads past the end).
    std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size() ? input.size() : 1]);
    if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
    LLVMFuzzerTestOneInput(copy.get(), input.size());
}

Bytes mutate(const Bytes& base, const std::vector<Bytes>& pool, Rng& rng) {
    Bytes b = base;
    const uint32_t rounds = 1 + rng.below(8);
    static const uint8_t kInteresting[] = {0, 1, 2, 4, 8, 0x0f, 0x10, 0x20, 0x32, 0x33, 0x3f, 0x40, 0x45,
                                           0x60, 0x7f, 0x80, 0xfe, 0xff};
    for (uint32_t r = 0; r < rounds; ++r) {
        switch (rng.below(7)) {
        case 0:
            if (!b.empty()) b[rng.below(uint32_t(b.size()))] ^= uint8_t(1u << rng.below(8));
            break;
        case 1:
            if (!b.empty()) b[rng.below(uint32_t(b.size()))] = kInteresting[rng.below(sizeof kInteresting)];
            break;
        case 2: {
            const size_t at = rng.below(uint32_t(b.size() + 1));
            const size_t n = 1 + rng.below(16);
            Bytes ins(n);
            for (auto& x : ins) x = uint8_t(rng.next());
            b.insert(b.begin() + long(at), ins.begin(), ins.end());
            break;
        }
        case 3:
            if (!b.empty()) {
                const size_t at = rng.below(uint32_t(b.size()));
                const size_t n = std::min<size_t>(b.size() - at, 1 + rng.below(16));
                b.erase(b.begin() + long(at), b.begin() + long(at + n));
            }
            break;
        case 4:
            if (!b.empty()) b.resize(rng.below(uint32_t(b.size())));
            break;
        case 5:
            if (!pool.empty()) {  // splice: a piece of another input
                const Bytes& o = pool[rng.below(uint32_t(pool.size()))];
                if (!o.empty()) {
                    const size_t from = rng.below(uint32_t(o.size()));
                    const size_t n = std::min<size_t>(o.size() - from, 1 + rng.below(64));
                    const size_t at = rng.below(uint32_t(b.size() + 1));
                    b.insert(b.begin() + long(at), o.begin() + long(from), o.begin() + long(from + n));
                }
            }
            break;
        default:
            if (b.size() >= 2) {  // 16-bit field set to an edge value (lengths, ports, ethertypes)
                const size_t at = rng.below(uint32_t(b.size() - 1));
                const uint16_t v[] = {0, 1, 0x7f, 0xff, 0x100, 0x1194, 0x0800, 0x86dd, 0xfffe, 0xffff};
                const uint16_t x = v[rng.below(sizeof v / sizeof v[0])];
                b[at] = uint8_t(x >> 8);
                b[at + 1] = uint8_t(x);
            }
            break;
        }
    }
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    size_t random_inputs = 300;
    uint64_t seed = 1;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--random" && i + 1 < argc) random_inputs = std::strtoull(argv[++i], nullptr, 0);
        else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 0);
        else paths.push_back(a);
    }
    if (const char* f = std::getenv("OV2_FUZZ_CRASH_FILE")) g_crash_file = f;
    std::signal(SIGABRT, on_abort);
    const auto t0 = std::chrono::steady_clock::now();
    int fake_argc = 1;
    char** fake_argv = argv;
    LLVMFuzzerInitialize(&fake_argc, &fake_argv);

    std::vector<Bytes> pool;
    size_t files = 0;
    for (const std::string& p : paths) {
        std::vector<std::filesystem::path> list;
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::directory_iterator(p))
                if (e.is_regular_file() && e.path().filename().string()[0] != '.') list.push_back(e.path());
            std::sort(list.begin(), list.end());
        } else if (std::filesystem::exists(p)) {
            list.push_back(p);
        } else {
            std::fprintf(stderr, "fuzz_replay: no such file or directory: %s\n", p.c_str());
            return 2;
        }
        for (const auto& f : list) {
            if (f.filename() == "README.md") continue;
            std::fprintf(stderr, "fuzz_replay: %s\n", f.c_str());
            pool.push_back(read_file(f));
            run(pool.back());
            ++files;
        }
    }
    const std::vector<Bytes> seeds = ov2::fuzz::builtin_seeds();
    for (const Bytes& s : seeds) run(s);
    pool.insert(pool.end(), seeds.begin(), seeds.end());

    Rng rng(seed);
    for (size_t i = 0; i < random_inputs; ++i) {
        if (pool.empty() || rng.below(8) == 0) {
            Bytes b(rng.below(512));
            for (auto& x : b) x = uint8_t(rng.next());
            run(b);
        } else {
            run(mutate(pool[rng.below(uint32_t(pool.size()))], pool, rng));
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fuzz_replay: %zu regression files, %zu built-in seeds, %zu pseudo-random inputs: no finding "
                "(%.2f s)\n",
                files, seeds.size(), random_inputs, s);
    return 0;
}
