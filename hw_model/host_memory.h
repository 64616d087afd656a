// Host memory on the far side of the bus: a flat byte array the device reaches by DMA (TLM target) and the
// driver model reads and writes directly, as host software does with its own memory.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace ov2 {

class HostMemory : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<HostMemory> dma;

    HostMemory(sc_core::sc_module_name name, uint64_t bytes);
    ~HostMemory() override;
    HostMemory(const HostMemory&) = delete;
    HostMemory& operator=(const HostMemory&) = delete;
    uint8_t* at(uint64_t addr) { return bytes_ + addr; }
    uint64_t size() const { return size_; }
    // Bump allocator for the driver's rings and buffers (never freed: they live for the whole run).
    uint64_t allocate(uint64_t bytes, uint64_t align = 64);
    uint64_t dma_errors() const { return dma_errors_; }

private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    // DMI: the range b_transport serves (0x1000 up to the end), read and write, no latency.
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    // Anonymous memory, zero until written: a run touches only the parts it uses (the receive buffers are
    // mostly unused past the frame), and huge pages keep the buffers' 16 KB stride from missing the TLB.
    uint8_t* bytes_ = nullptr;
    uint64_t size_ = 0;
    static constexpr uint64_t kFirstDmaAddress = 0x1000;  // address 0 stays unused: a zero DMA address is an error
    uint64_t next_free_ = kFirstDmaAddress;
    uint64_t dma_errors_ = 0;
};

}  // namespace ov2
