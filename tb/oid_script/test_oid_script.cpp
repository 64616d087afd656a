// Scripted OIDs (--oids): the file format, and their effect on the traffic that follows them, through the
// CLI on the default scenario (tb/scenarios/default, frames listed in its expected.jsonl).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "oid_script.h"

using namespace ov2;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kScenario = std::string(OV2_SOURCE_DIR) + "/tb/scenarios/default";

fs::path temp_dir(const std::string& name) {
    fs::path dir = fs::path(OV2_BINARY_DIR) / "test_oid_script" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

fs::path write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

struct RunResult {
    int exit_code = -1;
    std::string stderr_text;
    std::vector<json> oob;
    json stats;
};

RunResult run_ov2sim(const fs::path& dir, const fs::path& sa, const fs::path& oids) {
    const fs::path out = dir / "out", err = dir / "stderr.txt";
    const std::string cmd = std::string(OV2_BINARY_DIR) + "/ov2sim run --quiet --pcap " + kScenario +
                            "/frames.pcap --sa " + sa.string() + " --oids " + oids.string() + " --out " +
                            out.string() + " 2>" + err.string();
    RunResult r;
    const int status = std::system(cmd.c_str());
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err);
    r.stderr_text.assign(std::istreambuf_iterator<char>(e), {});
    std::ifstream lines(out / "oob.jsonl");
    for (std::string line; std::getline(lines, line);) r.oob.push_back(json::parse(line));
    std::ifstream stats(out / "stats.json");
    if (stats) r.stats = json::parse(stats);
    return r;
}

const json& frame(const RunResult& r, int n) {
    for (const json& j : r.oob)
        if (j["frame"] == n) return j;
    throw std::runtime_error("frame " + std::to_string(n) + " missing");
}

json default_sas() {
    std::ifstream f(kScenario + "/sa.json");
    return json::parse(f);
}

std::vector<OidEvent> load_text(const std::string& name, const std::string& text) {
    return load_oid_script(write_file(temp_dir(name) / "oids.json", text).string());
}

}  // namespace

TEST(OidScript, EventsAreSortedByFrameKeepingFileOrder) {
    const auto events = load_text("sorted", R"({"oids": [
        {"before_frame": 9, "oid": "delete_sa", "sa": "b"},
        {"before_frame": 3, "oid": "update_sa", "sa": "a", "seq_hi": "0x10"},
        {"before_frame": 9, "oid": "delete_sa", "sa": "c"}]})");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, OidEvent::Kind::UpdateSa);
    EXPECT_EQ(events[0].seq_hi, 16u);
    EXPECT_FALSE(events[0].spi_given);
    EXPECT_EQ(events[1].sa, "b");
    EXPECT_EQ(events[2].sa, "c");
}

TEST(OidScript, AddSaTakesSaObjectsAsInAnSaFile) {
    json sa = default_sas()["sas"][0];
    const auto events = load_text("add", json{{"oids", {{{"before_frame", 2}, {"oid", "add_sa"}, {"sas", {sa}}}}}}.dump());
    ASSERT_EQ(events.size(), 1u);
    ASSERT_EQ(events[0].sas.size(), 1u);
    EXPECT_EQ(events[0].sas[0].name, sa["name"].get<std::string>());
    EXPECT_EQ(events[0].sas[0].sec_assoc[0].spi, 0x0200f1c8u);
}

TEST(OidScript, ErrorsNameTheFieldAndWhatWasExpected) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"oids": [{"oid": "delete_sa", "sa": "x"}]})", "/oids/0/before_frame"},
        {R"({"oids": [{"before_frame": 0, "oid": "delete_sa", "sa": "x"}]})", "/oids/0/before_frame"},
        {R"({"oids": [{"before_frame": 1, "oid": "flush"}]})", "/oids/0/oid"},
        {R"({"oids": [{"before_frame": 1, "oid": "delete_sa", "sa": "x", "typo": 1}]})", "/oids/0/typo"},
        {R"({"oids": [{"before_frame": 1, "oid": "update_sa", "sa": "x"}]})", "/oids/0/seq_hi"},
        {R"({"oids": [{"before_frame": 1, "oid": "delete_sa"}]})", "/oids/0/sa"},
        {R"({"oids": [{"before_frame": 1, "oid": "add_sa", "sas": []}]})", "/oids/0/sas"},
        {R"({"events": []})", "/oids"},
        {R"({"oids": [)", "oids.json:1:11: JSON: syntax error"},
    };
    int i = 0;
    for (const auto& [text, field] : cases) {
        try {
            load_text("err" + std::to_string(i++), text);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const InputError& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(field), std::string::npos) << msg;
            EXPECT_NE(msg.find("oids.json"), std::string::npos) << msg;
            EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        }
    }
}

TEST(OidScript, DeleteSaStopsProcessingFromThatFrame) {
    const fs::path dir = temp_dir("delete");
    const auto oids = write_file(dir / "oids.json",
                                 R"({"oids": [{"before_frame": 5, "oid": "delete_sa", "sa": "ESP gcm-256 tunnel v4"}]})");
    const RunResult r = run_ov2sim(dir, kScenario + "/sa.json", oids);
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    ASSERT_EQ(r.oob.size(), 44u);
    EXPECT_EQ(frame(r, 5)["crypto_done"], 0);
    EXPECT_EQ(frame(r, 5)["nic_reason"], "no_sa");
    EXPECT_EQ(frame(r, 6)["crypto_done"], 1);  // other SAs untouched
    EXPECT_EQ(r.stats["driver"]["oid_delete_sa"], 1);
    EXPECT_EQ(r.stats["driver"]["oid_log"][0]["status"], "0x00000000");
}

TEST(OidScript, AddSaMidTrafficProcessesOnlyLaterFrames) {
    json sas = default_sas();
    const json gcm256 = sas["sas"][0];
    sas["sas"].erase(0);
    for (int before : {5, 6}) {
        const fs::path dir = temp_dir("add" + std::to_string(before));
        const auto sa_file = write_file(dir / "sa.json", sas.dump());
        const auto oids = write_file(
            dir / "oids.json",
            json{{"oids", {{{"before_frame", before}, {"oid", "add_sa"}, {"sas", {gcm256}}}}}}.dump());
        const RunResult r = run_ov2sim(dir, sa_file, oids);
        ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
        EXPECT_EQ(frame(r, 5)["crypto_done"], before <= 5 ? 1 : 0) << before;
        EXPECT_EQ(frame(r, 5)["stack_verdict"], before <= 5 ? "accepted" : "software_ipsec") << before;
        EXPECT_NE(r.stats["driver"]["oid_log"][0]["added"][0]["offload_handle"], 0);
    }
}

// ESN: the high bits are in the ICV but not on the wire, so a wrong SequenceNumberHighOrder makes a good
// packet fail, and UPDATE_SA to the right value makes it pass again.
TEST(OidScript, UpdateSaChangesTheEsnHighBitsTheIcvIsCheckedWith) {
    const std::string sa = "ESP gcm-128 transport v4 ESN seq_hi 1";
    for (uint32_t seq_hi : {1u, 7u}) {
        const fs::path dir = temp_dir("update" + std::to_string(seq_hi));
        const auto oids = write_file(dir / "oids.json",
                                     json{{"oids", {{{"before_frame", 38}, {"oid", "update_sa"}, {"sa", sa},
                                                      {"seq_hi", seq_hi}}}}}.dump());
        const RunResult r = run_ov2sim(dir, kScenario + "/sa.json", oids);
        ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
        EXPECT_EQ(r.stats["driver"]["oid_update_sa"], 1);
        EXPECT_EQ(frame(r, 38)["crypto_done"], 1);
        EXPECT_EQ(frame(r, 38)["crypto_status"], seq_hi == 1 ? 0 : 3) << seq_hi;  // transport ESP auth failed
    }
}

TEST(OidScript, OidsOnUnknownSasFailWithAWarningAndChangeNothing) {
    const fs::path dir = temp_dir("unknown");
    const auto oids = write_file(dir / "oids.json", R"({"oids": [
        {"before_frame": 2, "oid": "delete_sa", "sa": "no such SA"},
        {"before_frame": 2, "oid": "update_sa", "sa": "no such SA", "seq_hi": 1}]})");
    const RunResult r = run_ov2sim(dir, kScenario + "/sa.json", oids);
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stats["driver"]["oid_log"][0]["status"], "0xc0010015");  // NDIS_STATUS_INVALID_PARAMETER
    EXPECT_EQ(r.stats["driver"]["oid_log"][1]["status"], "0xc0010015");
    EXPECT_NE(r.stderr_text.find("delete_sa before frame 2 of SA 'no such SA' failed"), std::string::npos)
        << r.stderr_text;
    EXPECT_EQ(frame(r, 5)["crypto_done"], 1);
}
