// The run configuration file (`--config FILE`, JSON) and `--set NAME=VALUE` overrides. Unknown keys are
// errors, so a typo never silently leaves a default in place. docs/usage.md lists every key.
#pragma once

#include <string>
#include <vector>

#include "ov2_top.h"

namespace ov2 {

// Applies a JSON config file on top of `config`. Throws InputError naming the file and the key.
void load_sim_config(const std::string& path, SimConfig& config);
// NAME=VALUE each: a timing parameter, or mac.<key>, caps.<key>, offload_enabled, sa_cam_bundles. Settings
// that only fit together (rx_ring_entries and rx_buffer_bytes) are checked together, after the last one.
void apply_settings(const std::vector<std::string>& assignments, SimConfig& config);
// One setting given by its own option (e.g. --pacing): errors name that option.
void apply_option(const std::string& option, const std::string& name, const std::string& value, SimConfig& config);
// --rtl NAMES: a comma list of the RTL blocks to co-simulate (cam, parser, wb; docs/rtl.md). Errors name --rtl.
RtlSwap parse_rtl_option(const std::string& names);

}  // namespace ov2
