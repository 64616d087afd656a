// A small VCD reader for the tests: $scope/$var declarations and value changes (0/1 scalars, b... vectors).
// Independent of the writer in hw_model/trace.cpp: it reads the text as a viewer would.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tracetest {

struct VcdVar {
    std::string name;  // full hierarchical name, scopes joined by '.'
    unsigned width = 0;
    std::vector<std::pair<uint64_t, uint64_t>> changes;  // (time, value), the $dumpvars value first
    uint64_t at(uint64_t t) const;                        // value at time t (after the changes at t)
    // The values the signal takes, in order, without repeats of the previous value.
    std::vector<uint64_t> values() const;
};

struct Vcd {
    std::string timescale;          // e.g. "1 ps"
    std::vector<std::string> order; // variable names in declaration order
    std::map<std::string, VcdVar> vars;
    uint64_t end_time = 0;          // the last #time
    const VcdVar& var(const std::string& name) const;  // throws when absent
    bool has(const std::string& name) const { return vars.count(name) != 0; }
};

// Parses VCD text; throws std::runtime_error (with the offending token) on anything it does not expect,
// including time going backwards and a value for an undeclared identifier.
Vcd parse_vcd(const std::string& text);

std::string read_text(const std::string& path);

// A fresh, empty directory under OV2_BINARY_DIR/tb_trace_tmp named after the running test.
std::string scratch_dir();

}  // namespace tracetest
