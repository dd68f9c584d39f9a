// What a kill -9 cannot show — the page cache survives the process — checked on the system calls
// themselves: a real `mlcp run` under strace (-f -y: every thread, file descriptors shown with
// their paths). For every checkpoint, in this order: the shard and manifest.json are fsynced in
// the temporary folder, the folder itself is fsynced, it is renamed to step-N, and
// RUN_DIR/checkpoints is fsynced after the rename; no step-N folder is ever created directly, so
// none is ever visible without its manifest. final_state.bin is fsynced under its temporary name
// before it is renamed into place, and its folder after.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/common/test_util.h"

namespace mlcp::test {
namespace {

struct Call {
  size_t index = 0;
  std::string text;
};

class Trace {
 public:
  explicit Trace(const std::string& text) {
    size_t i = 0;
    for (const auto& line : splitLines(text)) calls_.push_back({i++, line});
  }
  // The first call at or after `from` that matches `re`; nullptr when none does.
  const Call* find(const std::string& re, size_t from = 0) const {
    const std::regex r(re);
    for (size_t i = from; i < calls_.size(); ++i) {
      if (std::regex_search(calls_[i].text, r)) return &calls_[i];
    }
    return nullptr;
  }
  size_t count(const std::string& re) const {
    const std::regex r(re);
    size_t n = 0;
    for (const auto& c : calls_) n += std::regex_search(c.text, r) ? 1 : 0;
    return n;
  }

 private:
  std::vector<Call> calls_;
};

std::string quoteRe(const std::string& s) {
  return std::regex_replace(s, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

TEST(Durability, CheckpointsAndTheFinalStateAreFsyncedBeforeTheyArePublished) {
  if (runCommand("command -v strace").exit_code != 0) {
    GTEST_SKIP() << "strace is not installed (scripts/install-deps.sh test installs it)";
  }
  TempDir dir;
  setenv("MLCP_KEY_FILE", dir.file("node.key").c_str(), 1);
  const std::string run = dir.file("run"), log = dir.file("strace.log");
  const auto r = runCommand("strace -f -y -qq -o " + log +
                            " -e trace=fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat " +
                            mlcpBinary() + " run " + sourceDir() +
                            "/jobs/quick_mlp.toml --no-progress --output " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Trace t(readFile(log));
  const std::string ck = quoteRe(run + "/checkpoints");
  for (const std::string step : {"00000000", "00000010", "00000020"}) {
    SCOPED_TRACE("checkpoint step-" + step);
    const std::string tmp = ck + "/\\.tmp-step-" + step;
    const Call* shard = t.find("fsync\\([0-9]+<" + tmp + "/shard-00000\\.h5>");
    ASSERT_NE(shard, nullptr) << "the shard was never fsynced";
    const Call* manifest = t.find("fsync\\([0-9]+<" + tmp + "/manifest\\.json>");
    ASSERT_NE(manifest, nullptr) << "manifest.json was never fsynced";
    const Call* folder = t.find("fsync\\([0-9]+<" + tmp + ">\\)", manifest->index);
    ASSERT_NE(folder, nullptr) << "the temporary folder was not fsynced after its manifest";
    const Call* rename = t.find("rename[a-z0-9]*\\(.*" + tmp + ".*" + ck + "/step-" + step);
    ASSERT_NE(rename, nullptr) << "the folder was never renamed into place";
    EXPECT_LT(shard->index, rename->index);
    EXPECT_LT(folder->index, rename->index);
    const Call* parent = t.find("fsync\\([0-9]+<" + ck + ">\\)", rename->index);
    EXPECT_NE(parent, nullptr) << "checkpoints/ was not fsynced after the rename";
    // A step-N folder only ever appears by that rename.
    EXPECT_EQ(t.count("mkdir[a-z]*\\(.*" + ck + "/step-" + step), 0u);
  }
  const std::string final_state = quoteRe(run + "/final_state.bin");
  const Call* data = t.find("fsync\\([0-9]+<" + final_state + "\\.tmp>");
  ASSERT_NE(data, nullptr) << "final_state.bin was never fsynced";
  const Call* rename = t.find("rename[a-z0-9]*\\(.*" + final_state + "\\.tmp.*" + final_state);
  ASSERT_NE(rename, nullptr);
  EXPECT_LT(data->index, rename->index);
  EXPECT_NE(t.find("fsync\\([0-9]+<" + quoteRe(run) + ">\\)", rename->index), nullptr)
      << "the run folder was not fsynced after final_state.bin's rename";
}

}  // namespace
}  // namespace mlcp::test
