// Shared body of fuzz_sa_json and fuzz_sa_xfrm: load_sa_text on the input; only InputError may escape, with
// a one-line message that echoes no 12+ hex-digit run of the input. What loads is carried on as the driver
// would: offload_refusal, make_cam_entry, the CAM's SA_DATA words (pack/unpack round trip) and a CAM +
// crypto engine programmed through the registers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "driver_shim.h"
#include "fuzz_util.h"
#include "input_error.h"
#include "sa_file.h"

namespace ov2::fuzz {

inline bool same_entry(const CamEntry& a, const CamEntry& b) { return pack_cam_entry(a) == pack_cam_entry(b); }

inline void run_sa_text(const uint8_t* data, size_t size, SaFileFormat want, const char* name) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (detect_sa_format(text) != want) return;  // the other target's format
    std::vector<AddSa> sas;
    try {
        sas = load_sa_text(text, name);
    } catch (const InputError& e) {
        check_error_message(e.what(), text);
        if (std::getenv("OV2_FUZZ_VERBOSE")) std::fprintf(stderr, "InputError: %s\n", e.what());
        return;
    }
    if (std::getenv("OV2_FUZZ_VERBOSE")) std::fprintf(stderr, "loaded %zu SAs\n", sas.size());
    static SaCamTable* cam = nullptr;
    static CryptoEngine* crypto = nullptr;
    if (!cam) {
        cam = new SaCamTable(8);
        crypto = new CryptoEngine(16);
        follow_cam(*cam, *crypto);
        enable_everything(*cam);
    }
    uint32_t handle = 0;
    for (const AddSa& sa : sas) {
        FUZZ_CHECK(sa.num_ext_hdrs == 1 || sa.num_ext_hdrs == 2, "num_ext_hdrs of a loaded SA: " + sa.name);
        const std::string refusal = offload_refusal(sa, Capabilities{});
        FUZZ_CHECK(is_one_line(refusal), "offload_refusal is not one line: " + refusal);
        if (!refusal.empty() || handle >= 8) continue;
        ++handle;
        for (size_t slot = 0; slot < sa.num_ext_hdrs; ++slot) {
            const CamEntry e = make_cam_entry(sa, slot, handle);
            FUZZ_CHECK(e.enc_key_len <= 32 && e.auth_key_len <= 32, "key longer than the CAM entry: " + sa.name);
            FUZZ_CHECK(same_entry(unpack_cam_entry(pack_cam_entry(e)), e), "SA_DATA round trip: " + sa.name);
            const uint32_t index = (handle - 1) * 2 + uint32_t(slot);
            FUZZ_CHECK(program_entry(*cam, index, e), "the CAM refused a driver-made entry: " + sa.name);
            FUZZ_CHECK(same_entry(cam->entry(index), e), "the CAM holds another entry than written: " + sa.name);
        }
    }
    for (uint32_t i = 0; i < cam->entries(); ++i) invalidate_entry(*cam, i);
    FUZZ_CHECK(cam->valid_entries() == 0, "entries left valid after invalidating all");
}

}  // namespace ov2::fuzz
