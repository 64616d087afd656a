// End-of-run reports: stats.json (counters per block, named like `ethtool -S`) and the human summary.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ov2_top.h"
#include "run_output.h"

namespace ov2 {

struct RunInfo {
    std::string pcap_path, sa_path;
    double wall_seconds = 0;
    std::vector<std::string> warnings;
};

nlohmann::json make_stats_json(Ov2System& sys, const RunOutput& out, const RunInfo& info);
void write_stats_json(const std::string& path, const nlohmann::json& stats);  // throws InputError
std::string format_summary(Ov2System& sys, const RunOutput& out, const RunInfo& info);
// --rtl: "" when every co-simulated RTL block agreed with the model, else one line with the count and the
// first disagreement (a bug in the RTL or the bridge: the caller exits 1).
std::string rtl_disagreements(Ov2System& sys);

}  // namespace ov2
