// Replacement operator new/delete for the whole test binary, in a file of their own so that no
// new-expression is compiled next to the free() they use.
#include "alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
    if (g_armed.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ov2::test {
void arm_allocation_counter() {
    g_allocations = 0;
    g_armed = true;
}
long disarm_allocation_counter() {
    g_armed = false;
    return g_allocations.load();
}
}  // namespace ov2::test
