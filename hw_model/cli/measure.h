// One measured configuration: synthetic traffic through the whole model (or through Botan alone), reported
// as one JSON object. SystemC elaborates once per process, so bench and sweep run each configuration as a
// child process (`ov2sim measure ...`) and read its JSON line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "traffic_gen.h"

namespace ov2 {

struct MeasureOptions {
    TrafficSpec traffic;
    std::vector<std::string> settings;  // --set NAME=VALUE for the model
    std::string mode = "cycle";         // --mode cycle|fast
    bool botan_only = false;            // decrypt + verify the same frames with Botan in a loop, no model
    std::string rtl;                    // --rtl: co-simulated RTL blocks ("" = pure SystemC)
    std::string executable;             // ov2sim binary for measure_child ("" = this process's executable)
};

nlohmann::json measure_here(const MeasureOptions& options);   // in this process
nlohmann::json measure_child(const MeasureOptions& options);  // in a child process; throws on failure
std::vector<std::string> measure_arguments(const MeasureOptions& options);

}  // namespace ov2
