#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "base/error.h"
#include "tests/common/test_util.h"
#include "verify/checkpoint.h"
#include "verify/final_state.h"
#include "verify/hdf5_handle.h"
#include "verify/merkle.h"

namespace mlcp::verify {
namespace {

namespace fs = std::filesystem;
using mlcp::test::TempDir;

// A small model's worth of state: parameters, optimizer state and the non-tensor state.
struct Model {
  std::vector<float> w0, b0, empty;
  std::vector<double> w1;
  std::vector<int32_t> counts;
  int64_t step = 100;
  std::vector<int64_t> data_position{3, 1234};
  std::vector<uint8_t> rng;
  std::vector<TensorView> views;

  explicit Model(int seed = 0) {
    for (int i = 0; i < 12; ++i) w0.push_back(0.25f * i - 1.0f + seed);
    for (int i = 0; i < 4; ++i) b0.push_back(-0.5f * i);
    for (int i = 0; i < 8; ++i) w1.push_back(1.0 / (i + 1));
    counts = {7, -8, 9};
    for (int i = 0; i < 13; ++i) rng.push_back(static_cast<uint8_t>(i * 37 + 11));
    views = {
        TensorView{"params/layers.0.weight", DType::kFloat32, {4, 3}, w0.data(), w0.size() * 4},
        TensorView{"params/layers.0.bias", DType::kFloat32, {4}, b0.data(), b0.size() * 4},
        TensorView{"params/layers.1.weight", DType::kFloat64, {2, 4}, w1.data(), w1.size() * 8},
        TensorView{"params/empty", DType::kFloat32, {0, 5}, nullptr, 0},
        TensorView{"optim/counts", DType::kInt32, {3}, counts.data(), counts.size() * 4},
        int64Tensor("state/step", &step, 1, /*scalar=*/true),
        int64Tensor("state/data_position", data_position.data(), data_position.size()),
        bytesTensor("state/rng", rng.data(), rng.size()),
    };
  }
};

const std::string kJob = "[model]\nname = \"mlp\"\n";
const std::string kPlan = "dp=1 pp=1 tp=1";

// Writes `model` as checkpoint `step`, shard s holding the views whose indices are shards[s].
CommitResult writeCheckpoint(const std::string& run_dir, int64_t step, const Model& model,
                             const std::vector<std::vector<size_t>>& shards, const KeyPair& key) {
  std::string tmp = beginCheckpoint(run_dir, step);
  std::vector<TensorEntry> all;
  for (size_t s = 0; s < shards.size(); ++s) {
    std::vector<TensorView> views;
    for (size_t i : shards[s]) views.push_back(model.views[i]);
    auto entries = writeShard(tmp, static_cast<int>(s), views);
    // Entries travel between ranks as text.
    auto decoded = decodeEntries(encodeEntries(entries));
    all.insert(all.end(), decoded.begin(), decoded.end());
  }
  return commitCheckpoint(run_dir, step, all, kJob, kPlan, key);
}

std::vector<std::vector<size_t>> oneShard() { return {{0, 1, 2, 3, 4, 5, 6, 7}}; }

KeyPair testKey(uint8_t b = 7) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return KeyPair::fromSeed(seed);
}

// Flips one bit in the middle of `dataset`'s stored bytes, found with H5Dget_offset.
void flipBitInDataset(const std::string& file, const std::string& dataset, size_t bytes) {
  silenceHdf5Errors();
  haddr_t offset = HADDR_UNDEF;
  {
    H5Handle f = h5File(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + file);
    H5Handle d = h5Dataset(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), "open " + dataset);
    offset = H5Dget_offset(d.get());
  }
  ASSERT_NE(offset, HADDR_UNDEF) << dataset << " in " << file << " has no contiguous storage";
  int fd = ::open(file.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  off_t at = static_cast<off_t>(offset + bytes / 2);
  uint8_t b = 0;
  ASSERT_EQ(::pread(fd, &b, 1, at), 1);
  b ^= 0x10;
  ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
  ::close(fd);
}

std::string messageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const VerificationError& e) {
    return e.what();
  }
  return "<no VerificationError>";
}

TEST(Checkpoint, WriteCommitAndReadBack) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  CommitResult c = writeCheckpoint(run.path(), 100, model, oneShard(), key);
  EXPECT_EQ(c.dir, run.path() + "/checkpoints/step-00000100");
  EXPECT_TRUE(fs::is_regular_file(c.dir + "/manifest.json"));
  EXPECT_TRUE(fs::is_regular_file(c.dir + "/shard-00000.h5"));
  EXPECT_FALSE(fs::exists(run.path() + "/checkpoints/.tmp-step-00000100"));

  CheckpointReader r = CheckpointReader::open(c.dir, ReaderOptions{key.publicKeyHex()});
  EXPECT_EQ(r.step(), 100);
  EXPECT_EQ(r.root(), c.manifest.root);
  EXPECT_EQ(r.manifest().job_spec_text, kJob);
  EXPECT_EQ(r.manifest().plan_text, kPlan);
  EXPECT_EQ(r.names().size(), model.views.size());
  for (const auto& v : model.views) {
    LoadedTensor t = r.read(v.name);
    EXPECT_EQ(t.dtype, v.dtype) << v.name;
    EXPECT_EQ(t.shape, v.shape) << v.name;
    ASSERT_EQ(t.bytes.size(), v.bytes) << v.name;
    EXPECT_TRUE(v.bytes == 0 || std::memcmp(t.bytes.data(), v.data, v.bytes) == 0) << v.name;
    EXPECT_EQ(r.entry(v.name).hash, hashTensor(v)) << v.name;
    std::vector<uint8_t> into(v.bytes);
    r.readInto(v.name, into.data(), into.size());
    EXPECT_EQ(into, t.bytes) << v.name;
  }
  EXPECT_NO_THROW(r.verifyAll());
  EXPECT_THROW(r.read("params/nope"), InvalidArgument);
  std::vector<uint8_t> wrong(3);
  EXPECT_THROW(r.readInto("params/layers.0.bias", wrong.data(), wrong.size()), InvalidArgument);
}

TEST(Checkpoint, RootIsIndependentOfShardingAndOrder) {
  Model model;
  KeyPair key = testKey();
  std::vector<std::vector<std::vector<size_t>>> layouts = {
      oneShard(),
      {{7, 6, 5, 4, 3, 2, 1, 0}},
      {{0, 2, 4, 6}, {1, 3, 5, 7}},
      {{5}, {0, 1, 2}, {3, 4, 6, 7}},
      {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}},
  };
  std::optional<Hash256> root;
  for (size_t l = 0; l < layouts.size(); ++l) {
    TempDir run;
    CommitResult c = writeCheckpoint(run.path(), 100, model, layouts[l], key);
    if (!root) root = c.manifest.root;
    EXPECT_EQ(c.manifest.root, *root) << "layout " << l << " has root " << c.manifest.root.hex()
                                      << ", layout 0 has " << root->hex();
    CheckpointReader r = CheckpointReader::open(c.dir);
    EXPECT_NO_THROW(r.verifyAll()) << "layout " << l;
    EXPECT_EQ(r.entry("state/rng").file,
              shardFileName(static_cast<int>(std::find_if(layouts[l].begin(), layouts[l].end(),
                                                          [](const auto& s) {
                                                            return std::find(s.begin(), s.end(),
                                                                             size_t{7}) != s.end();
                                                          }) -
                                             layouts[l].begin())));
  }
  // Another signer, same root; other contents, other root.
  TempDir run2;
  EXPECT_EQ(writeCheckpoint(run2.path(), 100, model, oneShard(), testKey(9)).manifest.root, *root);
  TempDir run3;
  Model changed(1);
  EXPECT_NE(writeCheckpoint(run3.path(), 100, changed, oneShard(), key).manifest.root, *root);
}

TEST(Checkpoint, FlippedBitInAnyDatasetIsRefusedNamingTheTensor) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  CommitResult good = writeCheckpoint(run.path(), 100, model, {{0, 2, 4, 6}, {1, 3, 5, 7}}, key);
  int flipped = 0;
  for (const auto& e : good.manifest.tensors) {
    size_t bytes = static_cast<size_t>(numElements(e.shape)) * dtypeSize(e.dtype);
    if (bytes == 0) continue;  // nothing stored, nothing to flip
    TempDir copy;
    std::string dir = copy.file("step-00000100");
    fs::copy(good.dir, dir, fs::copy_options::recursive);
    flipBitInDataset(dir + "/" + e.file, e.dataset, bytes);
    ++flipped;
    CheckpointReader r = CheckpointReader::open(dir);  // the manifest is intact
    std::string msg = messageOf([&] { r.read(e.name); });
    std::string expected_start = "tensor '" + e.name + "' in " + dir + "/" + e.file + " has hash ";
    EXPECT_EQ(msg.rfind(expected_start, 0), 0u)
        << "expected: " << expected_start << "...\nactual: " << msg;
    EXPECT_NE(msg.find("manifest says " + e.hash.hex()), std::string::npos) << msg;
    std::string all = messageOf([&] { r.verifyAll(); });
    EXPECT_NE(all.find("'" + e.name + "'"), std::string::npos) << all;
    for (const auto& other : good.manifest.tensors) {
      if (other.name != e.name) {
        EXPECT_NO_THROW(r.read(other.name)) << other.name;
      }
    }
  }
  EXPECT_EQ(flipped, 7);
}

TEST(Checkpoint, AlteredOrForeignManifestIsRefused) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  KeyPair other = testKey(8);
  CommitResult c = writeCheckpoint(run.path(), 100, model, oneShard(), key);
  std::string manifest_path = c.dir + "/manifest.json";
  std::string original = mlcp::test::readFile(manifest_path);

  // Wrong expected signer.
  std::string msg =
      messageOf([&] { CheckpointReader::open(c.dir, ReaderOptions{other.publicKeyHex()}); });
  EXPECT_NE(msg.find("expected signer is " + other.publicKeyHex()), std::string::npos) << msg;

  // A manifest re-signed by another key is valid on its own, but not from the expected signer.
  CheckpointManifest m = CheckpointManifest::fromJson(original);
  m.sign(other);
  mlcp::test::writeFile(manifest_path, m.toJson());
  EXPECT_NO_THROW(CheckpointReader::open(c.dir));
  EXPECT_THROW(CheckpointReader::open(c.dir, ReaderOptions{key.publicKeyHex()}), VerificationError);

  // A tensor hash edited in the manifest text breaks the signature.
  std::string edited = original;
  std::string h = c.manifest.tensors[0].hash.hex();
  size_t at = edited.find(h);
  ASSERT_NE(at, std::string::npos);
  edited[at] = edited[at] == '0' ? '1' : '0';
  mlcp::test::writeFile(manifest_path, edited);
  msg = messageOf([&] { CheckpointReader::open(c.dir); });
  EXPECT_NE(msg.find("signature does not verify"), std::string::npos) << msg;

  // Hash and root edited consistently and re-signed by an attacker key: refused by signer check,
  // and the data no longer matches.
  mlcp::test::writeFile(manifest_path, original);
  EXPECT_NO_THROW(CheckpointReader::open(c.dir, ReaderOptions{key.publicKeyHex()}).verifyAll());
}

TEST(Checkpoint, RootMismatchAndStepMismatchAreRefused) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  CommitResult c = writeCheckpoint(run.path(), 100, model, oneShard(), key);
  CheckpointManifest m = c.manifest;
  m.root.bytes[0] ^= 1;
  m.sign(key);
  mlcp::test::writeFile(c.dir + "/manifest.json", m.toJson());
  std::string msg = messageOf([&] { CheckpointReader::open(c.dir); });
  EXPECT_NE(msg.find("Merkle root of its tensors is " + c.manifest.root.hex()), std::string::npos)
      << msg;

  mlcp::test::writeFile(c.dir + "/manifest.json", c.manifest.toJson());
  std::string renamed = run.path() + "/checkpoints/step-00000300";
  fs::rename(c.dir, renamed);
  msg = messageOf([&] { CheckpointReader::open(renamed); });
  EXPECT_NE(msg.find("manifest is for step 100"), std::string::npos) << msg;
}

TEST(Checkpoint, TruncatedOrMissingManifestIsSkipped) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  writeCheckpoint(run.path(), 100, model, oneShard(), key);
  CommitResult c200 = writeCheckpoint(run.path(), 200, model, oneShard(), key);
  CommitResult c300 = writeCheckpoint(run.path(), 300, model, oneShard(), key);
  std::vector<CheckpointInfo> list = listCheckpoints(run.path());
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].step, 100);
  EXPECT_EQ(list[2].step, 300);
  EXPECT_EQ(latestValidCheckpoint(run.path()).checkpoint->step, 300);

  std::string text = mlcp::test::readFile(c300.dir + "/manifest.json");
  mlcp::test::writeFile(c300.dir + "/manifest.json", text.substr(0, text.size() / 2));
  fs::remove(c200.dir + "/manifest.json");
  LatestCheckpoint latest = latestValidCheckpoint(run.path());
  ASSERT_TRUE(latest.checkpoint.has_value());
  EXPECT_EQ(latest.checkpoint->step, 100);
  EXPECT_EQ(latest.root, c200.manifest.root);  // same model, same root
  ASSERT_EQ(latest.notes.size(), 2u);
  EXPECT_NE(latest.notes[0].find("step-00000300: skipped"), std::string::npos) << latest.notes[0];
  EXPECT_NE(latest.notes[0].find("not valid JSON"), std::string::npos) << latest.notes[0];
  EXPECT_NE(latest.notes[1].find("step-00000200: skipped"), std::string::npos) << latest.notes[1];
  EXPECT_NE(latest.notes[1].find("no manifest.json"), std::string::npos) << latest.notes[1];
}

TEST(Checkpoint, CorruptDataIsSkippedOnlyWhenDataIsVerified) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  writeCheckpoint(run.path(), 100, model, oneShard(), key);
  CommitResult c200 = writeCheckpoint(run.path(), 200, model, oneShard(), key);
  const TensorEntry& e = c200.manifest.tensors[0];
  flipBitInDataset(c200.dir + "/" + e.file, e.dataset, numElements(e.shape) * dtypeSize(e.dtype));
  EXPECT_EQ(latestValidCheckpoint(run.path(), {}, /*verify_data=*/false).checkpoint->step, 200);
  LatestCheckpoint latest = latestValidCheckpoint(run.path());
  EXPECT_EQ(latest.checkpoint->step, 100);
  ASSERT_EQ(latest.notes.size(), 1u);
  EXPECT_NE(latest.notes[0].find("'" + e.name + "'"), std::string::npos) << latest.notes[0];
}

TEST(Checkpoint, CrashBeforeCommitLeavesPreviousCheckpointLatest) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  CommitResult c100 = writeCheckpoint(run.path(), 100, model, oneShard(), key);
  // A crash after step 1 of the protocol: shards written, never committed.
  std::string tmp = beginCheckpoint(run.path(), 200);
  writeShard(tmp, 0, model.views);
  // ... and a crash in the middle of writing a shard: a truncated file.
  mlcp::test::writeFile(tmp + "/shard-00001.h5", "\x89HDF\r\n");
  LatestCheckpoint latest = latestValidCheckpoint(run.path());
  ASSERT_TRUE(latest.checkpoint.has_value());
  EXPECT_EQ(latest.checkpoint->step, 100);
  EXPECT_EQ(latest.root, c100.manifest.root);
  ASSERT_EQ(latest.notes.size(), 1u);
  EXPECT_NE(latest.notes[0].find(".tmp-step-00000200: ignored"), std::string::npos)
      << latest.notes[0];
  EXPECT_EQ(listCheckpoints(run.path()).size(), 1u);
  // The next checkpoint cleans the leftovers.
  writeCheckpoint(run.path(), 300, model, oneShard(), key);
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(latestValidCheckpoint(run.path()).checkpoint->step, 300);
  EXPECT_TRUE(latestValidCheckpoint(run.path()).notes.empty());
}

// A writer killed with SIGKILL at different moments of the protocol: while a shard is being
// written, and after manifest.json is in the temporary folder but before the rename. Each time
// the newest committed checkpoint stays valid and the partial one is ignored.
TEST(Checkpoint, KillNineDuringWriteLeavesLastCommittedValid) {
  enum class KillAt { kShardPartlyWritten, kManifestBeforeRename };
  for (KillAt when : {KillAt::kShardPartlyWritten, KillAt::kManifestBeforeRename}) {
    TempDir run;
    KeyPair key = testKey();
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The writer: checkpoints of a 32 MiB tensor, step 1, 2, 3, ... until killed.
      std::vector<float> big(size_t{8} << 20);
      for (int64_t step = 1;; ++step) {
        std::fill(big.begin(), big.end(), static_cast<float>(step));
        std::string tmp = beginCheckpoint(run.path(), step);
        auto entries = writeShard(tmp, 0,
                                  {TensorView{"big",
                                              DType::kFloat32,
                                              {static_cast<int64_t>(big.size())},
                                              big.data(),
                                              big.size() * 4}});
        commitCheckpoint(run.path(), step, entries, kJob, kPlan, key);
      }
      ::_exit(0);
    }
    // Poll (bounded) for the moment to kill: at least one committed checkpoint, and the next
    // one caught in the chosen phase.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool caught = false;
    while (!caught && std::chrono::steady_clock::now() < deadline) {
      if (listCheckpoints(run.path()).empty()) continue;
      std::error_code ec;
      for (const auto& d : fs::directory_iterator(run.path() + "/checkpoints", ec)) {
        std::string name = d.path().filename().string();
        if (name.rfind(".tmp-step-", 0) != 0) continue;
        if (when == KillAt::kShardPartlyWritten) {
          auto size = fs::file_size(d.path() / "shard-00000.h5", ec);
          caught = !ec && size > 0 && size < (size_t{32} << 20);
        } else {
          caught = fs::exists(d.path() / "manifest.json", ec);
        }
        if (caught) break;
      }
      if (caught) ::kill(child, SIGKILL);
    }
    if (!caught) ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(caught) << "the writer was never seen in phase " << static_cast<int>(when);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    LatestCheckpoint latest = latestValidCheckpoint(run.path(), ReaderOptions{key.publicKeyHex()});
    ASSERT_TRUE(latest.checkpoint.has_value()) << "no valid checkpoint after kill -9";
    std::vector<CheckpointInfo> all = listCheckpoints(run.path());
    EXPECT_EQ(latest.checkpoint->step, all.back().step)
        << "the newest committed checkpoint is not valid; notes: " << latest.notes.size();
    CheckpointReader r = CheckpointReader::open(latest.checkpoint->dir);
    LoadedTensor t = r.read("big");
    float first = 0;
    std::memcpy(&first, t.bytes.data(), 4);
    EXPECT_EQ(first, static_cast<float>(latest.checkpoint->step));
    // Whatever partial folder the kill left is ignored with a note (the signal may land just
    // after a rename, so whether one is left depends on timing; the invariants above do not).
    size_t tmp_dirs = 0;
    for (const auto& d : fs::directory_iterator(run.path() + "/checkpoints")) {
      if (d.path().filename().string().rfind(".tmp-step-", 0) == 0) ++tmp_dirs;
    }
    size_t tmp_notes = static_cast<size_t>(
        std::count_if(latest.notes.begin(), latest.notes.end(), [](const std::string& n) {
          return n.find(": ignored: an uncommitted") != std::string::npos;
        }));
    EXPECT_EQ(tmp_notes, tmp_dirs) << "phase " << static_cast<int>(when);
    EXPECT_EQ(latest.notes.size(), tmp_dirs) << "a committed checkpoint was skipped";
    // The next write cleans it up and commits.
    Model model;
    writeCheckpoint(run.path(), all.back().step + 1, model, oneShard(), key);
    EXPECT_EQ(latestValidCheckpoint(run.path()).checkpoint->step, all.back().step + 1);
    EXPECT_TRUE(latestValidCheckpoint(run.path()).notes.empty());
  }
}

TEST(Checkpoint, RecommittingAStepReplacesIt) {
  TempDir run;
  KeyPair key = testKey();
  Model a(0), b(2);
  writeCheckpoint(run.path(), 100, a, oneShard(), key);
  CommitResult c = writeCheckpoint(run.path(), 100, b, {{0, 1, 2, 3}, {4, 5, 6, 7}}, key);
  EXPECT_EQ(listCheckpoints(run.path()).size(), 1u);
  CheckpointReader r = CheckpointReader::open(c.dir);
  EXPECT_EQ(r.root(), c.manifest.root);
  EXPECT_NO_THROW(r.verifyAll());
  EXPECT_FALSE(fs::exists(run.path() + "/checkpoints/.old-step-00000100"));
}

TEST(Checkpoint, EmptyCheckpointHasTheEmptyRoot) {
  TempDir run;
  KeyPair key = testKey();
  std::string tmp = beginCheckpoint(run.path(), 0);
  auto entries = writeShard(tmp, 0, {});
  EXPECT_TRUE(entries.empty());
  CommitResult c = commitCheckpoint(run.path(), 0, entries, kJob, kPlan, key);
  EXPECT_EQ(c.manifest.root, merkleEmptyRoot());
  CheckpointReader r = CheckpointReader::open(c.dir);
  EXPECT_NO_THROW(r.verifyAll());
  EXPECT_TRUE(r.names().empty());
}

TEST(Checkpoint, BadInputsAreRefused) {
  TempDir run;
  Model model;
  KeyPair key = testKey();
  std::string tmp = beginCheckpoint(run.path(), 100);
  for (std::string bad :
       std::vector<std::string>{"", "/a", "a/", "a//b", "a/./b", "../x", std::string("a\0b", 3)}) {
    TensorView v = model.views[1];
    v.name = bad;
    EXPECT_THROW(writeShard(tmp, 0, {v}), InvalidArgument) << "name '" << bad << "'";
  }
  EXPECT_THROW(writeShard(tmp, 0, {model.views[0], model.views[0]}), InvalidArgument);
  auto e0 = writeShard(tmp, 0, {model.views[0], model.views[1]});
  auto e1 = writeShard(tmp, 1, {model.views[1]});
  std::vector<TensorEntry> dup = e0;
  dup.insert(dup.end(), e1.begin(), e1.end());
  EXPECT_THROW(commitCheckpoint(run.path(), 100, dup, kJob, kPlan, key), InvalidArgument);
  std::vector<TensorEntry> missing = e0;
  missing[0].file = "shard-00009.h5";
  EXPECT_THROW(commitCheckpoint(run.path(), 100, missing, kJob, kPlan, key), IoError);
  // A name that is both a dataset and a group is refused with HDF5's message.
  TensorView parent = model.views[1];
  parent.name = "x";
  TensorView child = model.views[1];
  child.name = "x/y";
  try {
    writeShard(tmp, 2, {parent, child});
    ADD_FAILURE() << "a tensor under another tensor's name was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("'x/y'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("H5"), std::string::npos) << "no HDF5 stack: " << e.what();
  }
}

TEST(Checkpoint, ReadableByH5pyAndRecomputableInPython) {
  if (mlcp::test::runCommand("/usr/bin/python3 -c 'import h5py, numpy'").exit_code != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import h5py";
  }
  TempDir run;
  Model model;
  CommitResult c = writeCheckpoint(run.path(), 100, model, {{0, 2, 4, 6}, {1, 3, 5, 7}}, testKey());
  auto r = mlcp::test::runCommand("/usr/bin/python3 " + mlcp::test::sourceDir() +
                                  "/tests/verify/recompute_root.py " + c.dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::string> py;
  std::istringstream lines(r.output);
  std::string kind, name, hash, line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    fields >> kind;
    if (kind == "tensor" && (fields >> name >> hash)) py[name] = hash;
    if (kind == "root" && (fields >> hash)) py["<root>"] = hash;
  }
  EXPECT_EQ(py["<root>"], c.manifest.root.hex()) << r.output;
  for (const auto& e : c.manifest.tensors) EXPECT_EQ(py[e.name], e.hash.hex()) << e.name;
  // Attributes as documented, read by h5py.
  std::string bias_hash = CheckpointReader::open(c.dir).entry("params/layers.0.bias").hash.hex();
  auto attrs = mlcp::test::runCommand(
      "/usr/bin/python3 -c \"import h5py; f = h5py.File('" + c.dir +
      "/shard-00001.h5', 'r'); d = f['params/layers.0.bias']; "
      "print(f.attrs['format'], f.attrs['shard_index'], d.attrs['name'], d.attrs['dtype'], "
      "d.attrs['hash'], list(d[()]))\"");
  ASSERT_EQ(attrs.exit_code, 0) << attrs.output;
  EXPECT_EQ(attrs.output, "mlcp-checkpoint-shard 1 params/layers.0.bias float32 " + bias_hash +
                              " [-0.0, -0.5, -1.0, -1.5]\n")
      << "tensors: " << encodeEntries(c.manifest.tensors);
}

// Found by tests/fuzz/fuzz_final_state: a tensor with a zero dimension has no data bytes, and
// reading one passed a null pointer to memcpy (undefined behaviour; UBSan reports it).
TEST(FinalState, ATensorWithAZeroDimensionRoundTrips) {
  const float one = 1.0f;
  const std::string bytes = encodeFinalState({{"empty", {0, 5}, nullptr}, {"one", {1}, &one}});
  const std::vector<FinalStateTensor> back = decodeFinalState(bytes, "final_state.bin");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(back[0].values.empty());
  EXPECT_EQ(back[1].values, std::vector<float>{1.0f});
  EXPECT_THROW(decodeFinalState(bytes.substr(0, bytes.size() - 1), "final_state.bin"),
               VerificationError);
}

}  // namespace
}  // namespace mlcp::verify
