// What a finished run leaves that must not depend on where or on what it ran: the final
// parameters and every checkpoint's root. End-to-end tests compare these between runs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/common/test_util.h"

namespace mlcp::test {

struct RunBits {
  std::string final_state;         // final_state.bin's bytes
  std::vector<std::string> roots;  // "step-N <root>" of every checkpoint, in step order
};

// Reads run directory `run_dir` (checkpoints under run_dir/checkpoints; unfinished ".tmp"
// folders are not checkpoints).
inline RunBits runBits(const std::string& run_dir) {
  RunBits bits;
  bits.final_state = readFile(run_dir + "/final_state.bin");
  const std::string root = run_dir + "/checkpoints";
  std::vector<std::string> dirs;
  if (std::filesystem::is_directory(root)) {
    for (const auto& e : std::filesystem::directory_iterator(root)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos) {
        dirs.push_back(name);
      }
    }
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    const auto manifest = nlohmann::json::parse(readFile(root + "/" + d + "/manifest.json"));
    bits.roots.push_back(d + " " + manifest.at("root").get<std::string>());
  }
  return bits;
}

// `other` ended on the same bits as `ref`; `ref` must have checkpoints and real parameters.
inline void expectSameBits(const RunBits& ref, const RunBits& other, const std::string& what) {
  ASSERT_GT(ref.final_state.size(), 1000u) << what << ": the reference run left no final state";
  ASSERT_FALSE(ref.roots.empty()) << what << ": the reference run wrote no checkpoint";
  EXPECT_TRUE(other.final_state == ref.final_state)
      << what << ": the final parameters differ from the reference run's";
  EXPECT_EQ(other.roots, ref.roots) << what << ": checkpoint roots differ";
}

}  // namespace mlcp::test
