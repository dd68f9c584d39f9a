#include "models/model_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <regex>

#include "base/error.h"
#include "jobs/spec_reader.h"

namespace mlcp::models {
namespace {

std::map<std::string, ModelKind>& registry() {
  static std::map<std::string, ModelKind> kinds;
  return kinds;
}

// The kind `spec` names, with its [model.options] keys checked; UsageError naming `where`.
const ModelKind& registeredKind(const jobs::ModelSpec& spec, const std::string& where) {
  const ModelKind* kind = findModelKind(spec.kind);
  if (kind == nullptr) {
    std::vector<std::string> known = {"mlp", "cnn", "gpt", "stack"};
    for (const auto& n : registeredModelKinds()) known.push_back(n);
    std::string msg = fmt::format(
        "{}model.kind: expected a built-in model (mlp, cnn, gpt, stack) or one this program "
        "registered ({}), got \"{}\"",
        where,
        registry().empty() ? std::string("it registers none")
                           : fmt::format("{}", fmt::join(registeredModelKinds(), ", ")),
        spec.kind);
    if (auto near = jobs::closestMatch(spec.kind, known))
      msg += " (did you mean \"" + *near + "\"?)";
    throw UsageError(msg + "; a C++ program registers its own models: docs/models.md");
  }
  for (const auto& [key, value] : spec.options.values()) {
    if (std::find(kind->options.begin(), kind->options.end(), key) != kind->options.end()) continue;
    std::string msg = fmt::format(
        "{}model.options.{}: expected a key model \"{}\" reads ({}), got "
        "unknown key '{}'",
        where, key, kind->name,
        kind->options.empty() ? std::string("it reads none")
                              : fmt::format("{}", fmt::join(kind->options, ", ")),
        key);
    if (auto near = jobs::closestMatch(key, kind->options))
      msg += " (did you mean '" + *near + "'?)";
    throw UsageError(msg);
  }
  return *kind;
}

}  // namespace

void registerModel(ModelKind kind) {
  static const std::regex kName("[a-z][a-z0-9_]{0,63}");
  if (!std::regex_match(kind.name, kName)) {
    throw UsageError(
        "registerModel: a model kind's name is 1 to 64 characters from a-z, 0-9 and _ "
        "starting with a letter, got \"" +
        kind.name + "\"");
  }
  if (jobs::isBuiltInModelKind(kind.name)) {
    throw UsageError("registerModel: \"" + kind.name + "\" is a built-in model kind");
  }
  if (!kind.layers) {
    throw UsageError("registerModel: model kind \"" + kind.name + "\" has no layers function");
  }
  if (registry().count(kind.name) != 0) {
    throw UsageError("registerModel: model kind \"" + kind.name + "\" is registered twice");
  }
  const std::string name = kind.name;
  registry().emplace(name, std::move(kind));
}

const ModelKind* findModelKind(const std::string& name) {
  const auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> registeredModelKinds() {
  std::vector<std::string> names;
  for (const auto& [name, kind] : registry()) names.push_back(name);
  return names;
}

void checkModelKind(const jobs::JobSpec& spec) {
  if (jobs::isBuiltInModelKind(spec.model.kind)) return;
  const std::string where = spec.source_path.empty() ? "" : spec.source_path + ": ";
  const ModelKind& kind = registeredKind(spec.model, where);
  const bool tokens = spec.data.kind == "text" || spec.data.kind == "tokens";
  const bool wants_tokens = kind.input == ModelInput::kTokens;
  if (tokens != wants_tokens) {
    throw UsageError(
        fmt::format("{}data.kind: must be {} for model.kind \"{}\" (it reads {}), got "
                    "\"{}\"",
                    where, wants_tokens ? "\"text\" or \"tokens\"" : "\"fashion-mnist\"", kind.name,
                    wants_tokens ? "token ids" : "images", spec.data.kind));
  }
}

std::shared_ptr<LayerModel> buildRegisteredModel(const jobs::ModelSpec& spec, int64_t classes,
                                                 Operators ops) {
  const ModelKind& kind = registeredKind(spec, "");
  auto layers = kind.layers(spec.options, classes, ops);
  if (layers.empty()) {
    throw UsageError("model \"" + kind.name + "\": its layers function returned no layers");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i] == nullptr) {
      throw UsageError(
          fmt::format("model \"{}\": its layers function returned no layer at {}", kind.name, i));
    }
  }
  return std::make_shared<LayerModel>(kind.name, std::move(layers), ops);
}

}  // namespace mlcp::models
