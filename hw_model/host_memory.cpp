#include "host_memory.h"

#include <sys/mman.h>

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace ov2 {

HostMemory::HostMemory(sc_core::sc_module_name name, uint64_t bytes) : sc_module(name), dma("dma"), size_(bytes) {
    void* p = mmap(nullptr, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it, normal pages
    bytes_ = static_cast<uint8_t*>(p);
    dma.register_b_transport(this, &HostMemory::b_transport);
    dma.register_get_direct_mem_ptr(this, &HostMemory::get_direct_mem_ptr);
}

HostMemory::~HostMemory() { munmap(bytes_, size_ ? size_ : 1); }

uint64_t HostMemory::allocate(uint64_t bytes, uint64_t align) {
    if (align == 0 || (align & (align - 1)) || align > size_)
        throw std::runtime_error("host memory: alignment " + std::to_string(align) +
                                    "; expected a power of two no larger than the memory");
    const uint64_t addr = (next_free_ + align - 1) & ~(align - 1);
    if (addr > size_ || bytes > size_ - addr)  // written so that nothing can wrap around
        throw std::runtime_error("host memory: " + std::to_string(bytes) + " bytes requested, " +
                                 std::to_string(size_ - next_free_) + " left");
    next_free_ = addr + bytes;
    return addr;
}

void HostMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time&) {
    const uint64_t addr = trans.get_address();
    const uint64_t len = trans.get_data_length();
    if (addr < kFirstDmaAddress || addr + len > size_ || addr + len < addr || trans.get_byte_enable_ptr()) {
        ++dma_errors_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (trans.is_write()) std::memcpy(bytes_ + addr, trans.get_data_ptr(), len);
    else if (trans.is_read()) std::memcpy(trans.get_data_ptr(), bytes_ + addr, len);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool HostMemory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    if (size_ <= kFirstDmaAddress || trans.get_address() < kFirstDmaAddress || trans.get_address() >= size_)
        return false;
    dmi.set_dmi_ptr(bytes_ + kFirstDmaAddress);
    dmi.set_start_address(kFirstDmaAddress);
    dmi.set_end_address(size_ - 1);
    dmi.allow_read_write();
    dmi.set_read_latency(sc_core::SC_ZERO_TIME);
    dmi.set_write_latency(sc_core::SC_ZERO_TIME);
    return true;
}

}  // namespace ov2
