// TLM access helpers of the blocks: issuing one blocking transaction (initiator side) and serving a register
// access (target side).
#pragma once

#include <cstdint>
#include <cstring>

#include <systemc>
#include <tlm>

namespace ov2 {

// One blocking transaction of `len` bytes at `addr` through an initiator socket (or anything with a
// b_transport behind operator->). The target adds its time to `delay`; the caller decides whether to wait.
// `trans`: a payload the caller reuses (constructing one allocates), never in two transactions at once.
template <typename Socket>
tlm::tlm_response_status transact(Socket& socket, tlm::tlm_generic_payload& trans, tlm::tlm_command cmd, uint64_t addr,
                                  uint8_t* data, uint32_t len, sc_core::sc_time& delay) {
    trans.set_command(cmd);
    trans.set_address(addr);
    trans.set_data_ptr(data);
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(trans, delay);
    return trans.get_response_status();
}

template <typename Socket>
tlm::tlm_response_status transact(Socket& socket, tlm::tlm_command cmd, uint64_t addr, uint8_t* data, uint32_t len,
                                  sc_core::sc_time& delay) {
    tlm::tlm_generic_payload trans;
    return transact(socket, trans, cmd, addr, data, len, delay);
}

// Serves a TLM register access: 32-bit aligned words only, little-endian, one or more words per transaction.
// Anything else is answered with TLM_ADDRESS_ERROR / TLM_BURST_ERROR, never with a crash.
template <typename WriteFn, typename ReadFn>
void serve_register_access(tlm::tlm_generic_payload& trans, WriteFn write, ReadFn read) {
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    uint8_t* data = trans.get_data_ptr();
    if ((addr & 3) || (len & 3) || len == 0 || trans.get_byte_enable_ptr() || addr + len > 0x1000) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    for (unsigned i = 0; i < len; i += 4) {
        const uint32_t offset = uint32_t(addr + i);
        if (trans.is_write()) {
            uint32_t v = 0;
            std::memcpy(&v, data + i, 4);
            write(offset, v);
        } else if (trans.is_read()) {
            const uint32_t v = read(offset);
            std::memcpy(data + i, &v, 4);
        }
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace ov2
