// `mlcp plan`: prints and draws a job's plan without running it. The heterogeneity-aware split
// gives the fast stage more layers; a wrong DEVICES.toml or an impossible mesh is a user error
// (exit 2, one sentence naming the file).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/common/test_util.h"

namespace mlcp::test {
namespace {

const char* kDevices =
    "[[device]]\nname = \"fast\"\nranks = [0, 1]\ngflops = 40.0\nmemory_gb = 8\n"
    "[[device]]\nname = \"slow\"\nranks = [2, 3]\ngflops = 40.0\nmemory_gb = 8\nslowdown = 2.0\n";

std::string gptJob() { return sourceDir() + "/jobs/gpt_fortunes_pp2_tp2.toml"; }

TEST(PlanCommand, GivesTheFastStageMoreLayersAndDrawsThePlan) {
  TempDir dir;
  writeFile(dir.file("devices.toml"), kDevices);
  const auto r = runCommand(mlcpBinary() + " plan " + gptJob() + " --devices " +
                            dir.file("devices.toml") + " --json --picture " + dir.file("plan.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plan = nlohmann::json::parse(r.output);
  ASSERT_EQ(plan["stages"].size(), 2u) << r.output;
  const auto layers = [&](int s) {
    return plan["stages"][s]["end_layer"].get<int>() - plan["stages"][s]["first_layer"].get<int>();
  };
  // Ranks 0-1 (stage 0) are twice as fast as ranks 2-3 (stage 1): stage 0 takes more layers.
  EXPECT_GT(layers(0), layers(1)) << r.output;
  EXPECT_EQ(layers(0) + layers(1), 6) << r.output;  // embedding, 4 blocks, head
  EXPECT_GT(plan["step_time_s"].get<double>(), 0.0);
  const std::string png = readFile(dir.file("plan.png"));
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(PlanCommand, PrintsTextAndSvgWithMeasuredDevicesByDefault) {
  TempDir dir;
  const auto r =
      runCommand(mlcpBinary() + " plan " + gptJob() + " --picture " + dir.file("plan.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("devices: measured"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mesh dp1 x pp2 x tp2 (4 ranks)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("expected step time"), std::string::npos) << r.output;
  EXPECT_NE(readFile(dir.file("plan.svg")).find("<svg"), std::string::npos);
}

// The placement text from "devices:" through the expected step time line.
std::string placementBlock(const std::string& output) {
  const auto begin = output.find("devices: ");
  const auto end = output.find('\n', output.find("expected step time:", begin));
  if (begin == std::string::npos || end == std::string::npos) return "";
  return output.substr(begin, end + 1 - begin);
}

// The plan `mlcp plan` prints is the plan a run uses: one function makes both
// (runtime/placement.h), so for the same world size and devices the texts are equal.
TEST(PlanCommand, PrintsThePlanARunPrintsAtStart) {
  TempDir dir;
  writeFile(dir.file("devices.toml"), kDevices);
  std::string job = readFile(gptJob());
  job.replace(job.find("[runtime]\n"), 10,
              "[runtime]\ndevices_file = \"" + dir.file("devices.toml") + "\"\n");
  writeFile(dir.file("job.toml"), job);
  const auto plan = runCommand(mlcpBinary() + " plan " + dir.file("job.toml") + " --ranks 4 " +
                               "--picture " + dir.file("p.png"));
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  const auto run = runCommand(std::string(MLCP_MPIEXEC) +
                              " --allow-run-as-root --oversubscribe --bind-to none -n 4 " +
                              mlcpBinary() + " run " + dir.file("job.toml") +
                              " --max-steps 1 --no-progress --output " + dir.file("run"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string planned = placementBlock(plan.output), used = placementBlock(run.output);
  ASSERT_FALSE(planned.empty()) << plan.output;
  EXPECT_NE(planned.find("declared in " + dir.file("devices.toml")), std::string::npos) << planned;
  EXPECT_EQ(used, planned) << "mlcp run printed:\n" << run.output;
}

TEST(PlanCommand, RejectsDevicesForTheWrongNumberOfRanks) {
  TempDir dir;
  writeFile(dir.file("devices.toml"), kDevices);
  const auto r = runCommand(mlcpBinary() + " plan " + gptJob() + " --ranks 8 --devices " +
                            dir.file("devices.toml") + " --picture " + dir.file("p.png"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("devices.toml"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate"), std::string::npos) << r.output;
}

TEST(PlanCommand, RejectsAnImpossibleMesh) {
  TempDir dir;
  std::string job = readFile(gptJob());
  job.replace(job.find("pp = 2"), 6, "pp = 8");  // 6 layers cannot fill 8 stages
  writeFile(dir.file("job.toml"), job);
  const auto r = runCommand(mlcpBinary() + " plan " + dir.file("job.toml") +
                            " --ranks 16 --picture " + dir.file("p.png"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("job.toml"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mlcp::test
