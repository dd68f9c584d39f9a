#include "runtime/parameter_import.h"

#include <fmt/format.h>
#include <torch/serialize.h>

#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "base/error.h"

namespace mlcp::runtime {

namespace {

std::string shapeText(at::IntArrayRef sizes) { return fmt::format("[{}]", fmt::join(sizes, ", ")); }

// The first few of `names`, for a message.
std::string some(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += fmt::format(" and {} more", names.size() - 5);
  return out;
}

}  // namespace

int64_t importParameters(const std::string& path, const ModelState::Named& params) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("--init-from {}: cannot open the file", path));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw UsageError(fmt::format("--init-from {}: not a file torch.save wrote: {}", path,
                                 e.what_without_backtrace()));
  }
  if (!value.isGenericDict()) {
    throw UsageError(
        fmt::format("--init-from {}: expected a state_dict (a dictionary of tensors), got a {}",
                    path, value.tagKind()));
  }
  std::map<std::string, at::Tensor> file;
  bool all_module = true;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) {
      throw UsageError(fmt::format(
          "--init-from {}: expected a state_dict (names to tensors); an entry is a {} -> {}", path,
          item.key().tagKind(), item.value().tagKind()));
    }
    const std::string name = item.key().toStringRef();
    all_module = all_module && name.rfind("module.", 0) == 0;
    file.emplace(name, item.value().toTensor());
  }
  if (all_module && !file.empty()) {  // saved from a DistributedDataParallel wrapper
    std::map<std::string, at::Tensor> stripped;
    for (auto& [name, t] : file) stripped.emplace(name.substr(7), t);
    file = std::move(stripped);
  }
  std::vector<std::string> missing, unexpected;
  for (const auto& [name, p] : params) {
    if (file.count(name) == 0) missing.push_back(name);
  }
  for (const auto& [name, t] : file) {
    const bool known =
        std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty()) {
    throw UsageError(fmt::format(
        "--init-from {}: the file's names are not this job's model's{}{} (docs/export.md names "
        "them)",
        path, missing.empty() ? "" : "; missing: " + some(missing),
        unexpected.empty() ? "" : "; not in the model: " + some(unexpected)));
  }
  for (const auto& [name, p] : params) {
    const at::Tensor& t = file.at(name);
    if (t.sizes() != p.sizes()) {
      throw UsageError(fmt::format("--init-from {}: {} has shape {}, the job's model {}", path,
                                   name, shapeText(t.sizes()), shapeText(p.sizes())));
    }
    if (!t.is_floating_point()) {
      throw UsageError(fmt::format("--init-from {}: {} is {}, not floating point", path, name,
                                   c10::toString(t.scalar_type())));
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    torch::Tensor dst = p;  // a handle: copies into the parameter's storage
    dst.copy_(file.at(name).to(torch::kFloat32).contiguous());
  }
  return static_cast<int64_t>(params.size());
}

}  // namespace mlcp::runtime
