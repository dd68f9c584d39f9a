// `mlcp export CHECKPOINT --out FILE [--format pt]`: a checkpoint's parameters as a PyTorch
// state_dict (docs/export.md).
#include <fmt/format.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstring>
#include <memory>
#include <string>

#include "app/commands.h"
#include "base/durable_file.h"
#include "base/error.h"
#include "verify/checkpoint.h"

namespace mlcp::app {
namespace {

// Checkpoint tensors under this prefix are the model's parameters, named as the model names
// them ("layers.0.linear.weight"); the rest is optimizer and training state.
constexpr const char* kParamsPrefix = "params/";

struct ExportOptions {
  std::string checkpoint, out, format = "pt", signer;
};

torch::Tensor toTorch(const verify::LoadedTensor& t) {
  if (t.dtype != verify::DType::kFloat32) {
    throw VerificationError(fmt::format("parameter {} is not float32", t.name));
  }
  torch::Tensor out = torch::empty(t.shape, torch::kFloat32);
  if (static_cast<size_t>(out.numel()) * sizeof(float) != t.bytes.size()) {
    throw VerificationError(fmt::format("parameter {} holds {} bytes for shape [{}]", t.name,
                                        t.bytes.size(), fmt::join(t.shape, ", ")));
  }
  std::memcpy(out.data_ptr<float>(), t.bytes.data(), t.bytes.size());
  return out;
}

void exportCheckpoint(const ExportOptions& o) {
  if (o.format != "pt") {
    throw UsageError(
        fmt::format("--format {}: the formats are: pt (a PyTorch state_dict)", o.format));
  }
  verify::ReaderOptions options;
  if (!o.signer.empty()) options.expected_signer = o.signer;
  const verify::CheckpointReader reader = verify::CheckpointReader::open(o.checkpoint, options);
  c10::Dict<std::string, torch::Tensor> state;
  int64_t parameters = 0;
  for (const std::string& name : reader.names()) {  // sorted: a stable file for a checkpoint
    if (name.rfind(kParamsPrefix, 0) != 0) continue;
    torch::Tensor t = toTorch(reader.read(name));  // read() checks the tensor's hash
    parameters += t.numel();
    state.insert(name.substr(std::strlen(kParamsPrefix)), std::move(t));
  }
  if (state.empty()) {
    throw VerificationError(
        fmt::format("checkpoint {} holds no parameters ({}*)", o.checkpoint, kParamsPrefix));
  }
  const std::vector<char> bytes = torch::pickle_save(state);
  writeFileDurably(o.out, std::string_view(bytes.data(), bytes.size()));
  fmt::print("exported {} tensors ({} parameters) of step {} (root {}) to {}\n", state.size(),
             parameters, reader.step(), reader.root().hex(), o.out);
}

}  // namespace

void addExportCommand(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a checkpoint's parameters as a PyTorch state_dict (torch.load reads it)");
  cmd->add_option("checkpoint", o->checkpoint, "Checkpoint folder (RUN_DIR/checkpoints/step-N)")
      ->required();
  cmd->add_option("--out", o->out, "The file to write")->required();
  cmd->add_option("--format", o->format, "pt: a PyTorch state_dict")->capture_default_str();
  cmd->add_option("--signer", o->signer, "Refuse unless signed by this public key (hex)");
  cmd->callback([o] { exportCheckpoint(*o); });
}

}  // namespace mlcp::app
