#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"
#include "partition/device_profile.h"
#include "tests/common/test_util.h"

namespace mlcp::partition {
namespace {

const char* kGood = R"(# two fast, two emulated 2x slower
[[device]]
name = "fast"
ranks = [0, 1]
gflops = 50.0
memory_gb = 16

[[device]]
name = "slow"
ranks = [3, 2]
gflops = 50
memory_gb = 0.5
slowdown = 2.0
)";

TEST(DeviceProfile, LoadsAFile) {
  mlcp::test::TempDir dir;
  std::string path = dir.file("DEVICES.toml");
  std::ofstream(path) << kGood;
  auto d = loadDevices(path, 4);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].name, "fast");
  EXPECT_EQ(d[2].name, "slow");
  EXPECT_DOUBLE_EQ(d[3].slowdown, 2.0);
  EXPECT_DOUBLE_EQ(d[3].effectiveGflops(), 25.0);
  EXPECT_EQ(d[1].memory_bytes, int64_t{16} << 30);
  EXPECT_EQ(d[2].memory_bytes, int64_t{1} << 29);
  EXPECT_EQ(parseDevices(kGood, "x").size(), 4u);  // world size inferred
  EXPECT_THROW(loadDevices(dir.file("missing.toml")), IoError);
}

// Each bad file gives a UsageError whose message starts with "<file>:<line>:" and contains
// `needle`.
void expectError(const std::string& text, int line, const std::string& needle, int world = 2) {
  try {
    parseDevices(text, "DEVICES.toml", world);
    ADD_FAILURE() << "expected UsageError for:\n" << text;
  } catch (const UsageError& e) {
    std::string w = e.what();
    EXPECT_EQ(w.rfind("DEVICES.toml:" + std::to_string(line) + ":", 0), 0u)
        << "expected line " << line << ", got: " << w;
    EXPECT_NE(w.find(needle), std::string::npos) << "expected '" << needle << "' in: " << w;
  }
}

TEST(DeviceProfile, ErrorsNameFileAndLine) {
  expectError("[[device]]\nranks = [0, 1]\ngflops = 1\nmemory_gb = 1\nspeed = 3\n", 5,
              "unknown device key 'speed'");
  expectError("[[device]]\nranks = [0, 1]\ngflops = -1\nmemory_gb = 1\n", 3,
              "'gflops' must be > 0");
  expectError("[[device]]\nranks = [0, 1]\ngflops = 1\nmemory_gb = 1\nslowdown = 0.5\n", 5,
              "'slowdown' must be >= 1");
  expectError("[[device]]\nranks = [0, 1]\ngflops = \"fast\"\nmemory_gb = 1\n", 3,
              "must be a number");
  expectError("[[device]]\nranks = [0, -1]\ngflops = 1\nmemory_gb = 1\n", 2, "integers >= 0");
  expectError("\n[[device]]\nranks = [0, 1]\nmemory_gb = 1\n", 2, "missing 'gflops'");
  expectError(
      "[[device]]\nranks = [0]\ngflops = 1\nmemory_gb = 1\n[[device]]\nranks = [0, 1]\n"
      "gflops = 1\nmemory_gb = 1\n",
      6, "rank 0 is already given a device at DEVICES.toml:2");
  expectError("[[device]]\nranks = [0]\ngflops = 1\nmemory_gb = 1\n", 1,
              "no [[device]] lists rank 1");
  expectError("[[device]]\nranks = [0, 1, 2]\ngflops = 1\nmemory_gb = 1\n", 2, "rank 2 is outside");
  expectError("[[device]]\nranks = [0, 1\n", 2, "TOML syntax error");
  expectError("gpu = 1\n", 1, "unknown key 'gpu'");
}

}  // namespace
}  // namespace mlcp::partition
