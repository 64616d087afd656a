// SA files: the SAs the host stack hands to the miniport (IPSEC_OFFLOAD_V2_ADD_SA, ov2_types.h).
// Two formats, described in docs/sa-formats.md:
//   - JSON that mirrors IPSEC_OFFLOAD_V2_ADD_SA ({"sas": [...]} or a bare array of SA objects);
//   - Linux iproute2 text: `ip xfrm state add ...` lines and/or the listing `ip [-s] xfrm state` prints.
// Every problem in the input throws ov2::InputError with a one-line "FILE:LINE: FIELD: ...; expected ..."
// message that never contains key material.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "input_error.h"
#include "ov2_types.h"

namespace ov2 {

enum class SaFileFormat { Json, Iproute2 };

// JSON when the first non-blank character is '{' or '[', iproute2 text otherwise.
SaFileFormat detect_sa_format(std::string_view text);

// Reads and checks an SA file. SAs that are valid but that IPsecOV2 cannot express (e.g. hmac(sha384))
// come back with AddSa::not_offloadable set; the driver refuses those.
std::vector<AddSa> load_sa_file(const std::string& path);

// The same on text in memory; `name_for_errors` stands for the file name in messages and default SA names.
std::vector<AddSa> load_sa_text(const std::string& text, const std::string& name_for_errors);

}  // namespace ov2
