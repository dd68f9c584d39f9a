// The settings of a model a program registered (models/model_registry.h): the job file's
// [model.options] table, e.g.
//
//   [model]
//   kind = "residual_mlp"          # registered by the program that runs the job
//   [model.options]
//   width = 256
//   blocks = 3
//
// Values are integers, floats, booleans, strings or arrays of integers. They are part of the
// logical program (JobSpec::canonicalText renders each as "model.options.<key> = <value>"), so
// a checkpoint, a replay and a dispute all see the model the run built.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mlcp::jobs {

using ModelOptionValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;

class ModelOptions {
 public:
  void set(const std::string& key, ModelOptionValue value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  bool empty() const { return values_.empty(); }
  const std::map<std::string, ModelOptionValue>& values() const { return values_; }

  // The value of `key`, or `dflt` when the job does not set it. A value of another type throws
  // UsageError naming model.options.<key> ("expected an integer, got a string (\"wide\")"); an
  // integer is accepted where a float is asked for.
  int64_t getInt(const std::string& key, int64_t dflt) const;
  double getDouble(const std::string& key, double dflt) const;
  bool getBool(const std::string& key, bool dflt) const;
  std::string getString(const std::string& key, const std::string& dflt) const;
  std::vector<int64_t> getIntArray(const std::string& key, const std::vector<int64_t>& dflt) const;

  // TOML text of one value: 3, 0.5, true, "text", [1, 2].
  static std::string render(const ModelOptionValue& value);

 private:
  std::map<std::string, ModelOptionValue> values_;
};

}  // namespace mlcp::jobs
