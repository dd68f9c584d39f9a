// `mlcp export CHECKPOINT --format pt`: the file torch.load reads (Debian's python3-torch) holds
// the checkpoint's parameters bit for bit, and python/mlcp_torch.py's module, loaded from it,
// computes mlcp's forward on a batch within float tolerance — for the MLP, the CNN and the GPT.
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"
#include "verify/checkpoint.h"

namespace mlcp::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

c10::Dict<std::string, torch::Tensor> loadStateDict(const std::string& path) {
  const std::string bytes = readFile(path);
  const c10::IValue value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  c10::Dict<std::string, torch::Tensor> out;
  for (const auto& item : value.toGenericDict()) {
    out.insert(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    if (runCommand(std::string(kPython) + " -c 'import torch'").exit_code != 0) {
      GTEST_FAIL() << kPython << " cannot import torch: install python3-torch "
                   << "(scripts/install-deps.sh test)";
    }
  }

  // Trains `job` for its few steps, exports its last checkpoint, runs mlcp's forward on `input`
  // and has PyTorch check the export against it.
  void check(const std::string& job, int64_t steps, const torch::Tensor& input, int heads = 0) {
    const std::string job_file = dir_.file("job.toml"), run = dir_.file("run");
    writeFile(job_file, job);
    const auto trained =
        runCommand(mlcpBinary() + " run " + job_file + " --no-progress --output " + run);
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    const std::string checkpoint = verify::checkpointDir(run, steps);
    const std::string exported = dir_.file("model.pt");
    const auto r = runCommand(mlcpBinary() + " export " + checkpoint + " --out " + exported);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("of step " + std::to_string(steps)), std::string::npos) << r.output;

    // mlcp's model with the exported parameters (as LibTorch reads the file back).
    const jobs::JobSpec spec = jobs::parseJobSpec(job, job_file);
    const auto state = loadStateDict(exported);
    const std::string out_name =
        spec.model.kind == "gpt" ? "layers.0.tok.weight"
        : spec.model.kind == "cnn"
            ? "layers." + std::to_string(spec.model.channels.size()) + ".linear.weight"
        : spec.model.kind == "stack"
            ? "layers." + std::to_string(spec.model.stack.size()) + ".linear.weight"
            : "layers." + std::to_string(spec.model.hidden.size()) + ".linear.weight";
    const int64_t classes = state.at(out_name).size(0);
    auto model = models::buildModel(spec.model, classes, spec.seed);
    size_t loaded = 0;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->named_parameters()) {
        ASSERT_TRUE(state.contains(p.key())) << "the export lacks " << p.key();
        p.value().copy_(state.at(p.key()));
        ++loaded;
      }
    }
    EXPECT_EQ(loaded, state.size());
    model->eval();
    const torch::Tensor logits = model->forward(input).detach();
    c10::Dict<std::string, torch::Tensor> sample;
    sample.insert("input", input);
    sample.insert("logits", logits);
    const std::vector<char> bytes = torch::pickle_save(sample);
    writeFile(dir_.file("sample.pt"), std::string(bytes.begin(), bytes.end()));

    const std::string roundtrip = dir_.file("roundtrip.pt");
    const auto py =
        runCommand(std::string(kPython) + " " + sourceDir() + "/tests/app/check_export.py " +
                   exported + " " + dir_.file("sample.pt") + " " + roundtrip +
                   (heads > 0 ? " --heads " + std::to_string(heads) : ""));
    ASSERT_EQ(py.exit_code, 0) << py.output;
    std::cout << py.output;  // the largest difference, for the log

    // What torch.load gave Python, saved back, is the checkpoint's parameters bit for bit.
    const auto back = loadStateDict(roundtrip);
    const auto reader = verify::CheckpointReader::open(checkpoint);
    size_t params = 0;
    for (const std::string& name : reader.names()) {
      if (name.rfind("params/", 0) != 0) continue;
      ++params;
      const std::string key = name.substr(7);
      ASSERT_TRUE(back.contains(key)) << key;
      const torch::Tensor t = back.at(key).contiguous();
      const verify::LoadedTensor stored = reader.read(name);
      ASSERT_EQ(std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), stored.shape) << key;
      ASSERT_EQ(static_cast<size_t>(t.numel()) * 4, stored.bytes.size()) << key;
      EXPECT_EQ(std::memcmp(t.data_ptr<float>(), stored.bytes.data(), stored.bytes.size()), 0)
          << key;
    }
    EXPECT_EQ(params, back.size());
  }

  TempDir dir_;
};

TEST_F(Export, MlpLoadsInPyTorchAndComputesTheSameLogits) {
  torch::manual_seed(1);
  check(mlpJob("export-mlp", 6), 6, torch::rand({8, 1, 28, 28}));
}

TEST_F(Export, CnnLoadsInPyTorchAndComputesTheSameLogits) {
  torch::manual_seed(2);
  check(cnnJob("export-cnn", 4), 4, torch::rand({4, 1, 28, 28}));
}

// A model described in the job file: conv, then dense layers (mlcp_torch gives every hidden
// dense layer its ReLU, so the stack keeps the default activation).
TEST_F(Export, LayerStackLoadsInPyTorchAndComputesTheSameLogits) {
  torch::manual_seed(4);
  std::string job = stackJob("export-stack", 3);
  job.erase(job.find("activation = \"none\"\n"), 20);
  check(job, 3, torch::rand({4, 1, 28, 28}));
}

TEST_F(Export, GptLoadsInPyTorchAndComputesTheSameLogits) {
  torch::manual_seed(3);
  check(gptJob("export-gpt", 4), 4, torch::randint(0, 256, {3, 16}, torch::kInt64), 2);
}

TEST_F(Export, BadCheckpointsAndFormatsAreOneSentence) {
  writeFile(dir_.file("job.toml"), mlpJob("export-bad", 2));
  const std::string run = dir_.file("run");
  ASSERT_EQ(
      runCommand(mlcpBinary() + " run " + dir_.file("job.toml") + " --no-progress --output " + run)
          .exit_code,
      0);
  const std::string checkpoint = verify::checkpointDir(run, 2);
  auto r = runCommand(mlcpBinary() + " export " + checkpoint + " --out " + dir_.file("x.pt") +
                      " --format onnx");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--format onnx"), std::string::npos) << r.output;
  r = runCommand(mlcpBinary() + " export " + dir_.file("nowhere") + " --out " + dir_.file("x.pt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("has no manifest.json"), std::string::npos) << r.output;
  // One flipped bit in a parameter's stored bytes (found by a run of its values): the tensor's
  // hash no longer matches, the message names it, and nothing is written.
  const std::string name = "params/layers.0.linear.weight";
  const auto stored = verify::CheckpointReader::open(checkpoint).read(name);
  const std::string shard =
      checkpoint + "/" + verify::CheckpointReader::open(checkpoint).entry(name).file;
  std::string bytes = readFile(shard);
  const size_t at = bytes.find(std::string(
      reinterpret_cast<const char*>(stored.bytes.data()) + stored.bytes.size() / 2, 64));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 17] = static_cast<char>(bytes[at + 17] ^ 0x08);
  writeFile(shard, bytes);
  r = runCommand(mlcpBinary() + " export " + checkpoint + " --out " + dir_.file("y.pt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("layers.0.linear.weight"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("y.pt")));
}

// The reverse: `mlcp run JOB --init-from FILE` starts from a state_dict's parameters — what
// `mlcp export` wrote, and what Python's torch.save wrote of it (from a DistributedDataParallel
// wrapper, "module." names, in float64) — bit for bit into checkpoint 0; a file that is not the
// job's model's is one sentence and exit 2.
TEST_F(Export, InitFromAPyTorchStateDictStartsTheJobThere) {
  const std::string job_file = dir_.file("job.toml");
  writeFile(job_file, mlpJob("import-mlp", 4) + "[checkpoint]\nevery = 2\n");
  const std::string trained = dir_.file("trained");
  ASSERT_EQ(runCommand(mlcpBinary() + " run " + job_file + " --no-progress --output " + trained)
                .exit_code,
            0);
  const std::string exported = dir_.file("model.pt");
  ASSERT_EQ(runCommand(mlcpBinary() + " export " + verify::checkpointDir(trained, 4) + " --out " +
                       exported)
                .exit_code,
            0);
  // Python rewrites it as a DDP module would save it, in float64; and two broken variants.
  const auto py =
      runCommand(std::string(kPython) +
                 " -c \"import torch, sys; s = torch.load(sys.argv[1]); "
                 "torch.save({'module.' + k: v.double() for k, v in s.items()}, sys.argv[2]); "
                 "t = dict(s); t.pop('layers.0.linear.bias'); torch.save(t, sys.argv[3]); "
                 "u = dict(s); u['layers.0.linear.weight'] = u['layers.0.linear.weight'][:3]; "
                 "torch.save(u, sys.argv[4])\" " +
                 exported + " " + dir_.file("ddp.pt") + " " + dir_.file("missing.pt") + " " +
                 dir_.file("shape.pt"));
  ASSERT_EQ(py.exit_code, 0) << py.output;

  const std::string started = dir_.file("started");
  auto r = runCommand(mlcpBinary() + " run " + job_file + " --no-progress --max-steps 2 --output " +
                      started + " --init-from " + dir_.file("ddp.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("replace the seed's"), std::string::npos) << r.output;
  // Checkpoint 0 of the new run holds exactly the exported parameters.
  const std::string again = dir_.file("again.pt");
  ASSERT_EQ(
      runCommand(mlcpBinary() + " export " + verify::checkpointDir(started, 0) + " --out " + again)
          .exit_code,
      0);
  const auto want = loadStateDict(exported), got = loadStateDict(again);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& item : want) {
    ASSERT_TRUE(got.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), got.at(item.key()))) << item.key();
  }
  // And a run from the seed starts elsewhere (the import is not vacuous).
  const auto seed = verify::CheckpointReader::open(verify::checkpointDir(trained, 0))
                        .read("params/layers.0.linear.weight");
  const torch::Tensor w0 = want.at("layers.0.linear.weight").contiguous();
  EXPECT_NE(std::memcmp(w0.data_ptr<float>(), seed.bytes.data(), seed.bytes.size()), 0);

  r = runCommand(mlcpBinary() + " run " + job_file + " --no-progress --output " + dir_.file("m") +
                 " --init-from " + dir_.file("missing.pt"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("missing: layers.0.linear.bias"), std::string::npos) << r.output;
  r = runCommand(mlcpBinary() + " run " + job_file + " --no-progress --output " + dir_.file("s") +
                 " --init-from " + dir_.file("shape.pt"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("layers.0.linear.weight has shape [3, 784]"), std::string::npos)
      << r.output;
  r = runCommand(mlcpBinary() + " run " + job_file + " --no-progress --output " + dir_.file("t") +
                 " --init-from " + job_file);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a file torch.save wrote"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mlcp::test
