#include "jobs/model_options.h"

#include "base/error.h"
#include "jobs/spec_reader.h"

namespace mlcp::jobs {
namespace {

std::string describe(const ModelOptionValue& v) {
  switch (v.index()) {
    case 0:
      return "an integer (" + ModelOptions::render(v) + ")";
    case 1:
      return "a float (" + ModelOptions::render(v) + ")";
    case 2:
      return "a boolean (" + ModelOptions::render(v) + ")";
    case 3:
      return "a string (" + ModelOptions::render(v) + ")";
    default:
      return "an array of integers (" + ModelOptions::render(v) + ")";
  }
}

template <typename T>
T get(const std::map<std::string, ModelOptionValue>& values, const std::string& key, T dflt,
      const char* expected) {
  const auto it = values.find(key);
  if (it == values.end()) return dflt;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  if constexpr (std::is_same_v<T, double>) {
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  }
  throw UsageError("model.options." + key + ": expected " + expected + ", got " +
                   describe(it->second));
}

}  // namespace

int64_t ModelOptions::getInt(const std::string& key, int64_t dflt) const {
  return get<int64_t>(values_, key, dflt, "an integer");
}

double ModelOptions::getDouble(const std::string& key, double dflt) const {
  return get<double>(values_, key, dflt, "a number");
}

bool ModelOptions::getBool(const std::string& key, bool dflt) const {
  return get<bool>(values_, key, dflt, "a boolean (true or false)");
}

std::string ModelOptions::getString(const std::string& key, const std::string& dflt) const {
  return get<std::string>(values_, key, dflt, "a string");
}

std::vector<int64_t> ModelOptions::getIntArray(const std::string& key,
                                               const std::vector<int64_t>& dflt) const {
  return get<std::vector<int64_t>>(values_, key, dflt, "an array of integers");
}

std::string ModelOptions::render(const ModelOptionValue& value) {
  switch (value.index()) {
    case 0:
      return std::to_string(std::get<int64_t>(value));
    case 1: {
      // A float keeps a fraction or an exponent, so 2.0 does not read back as the integer 2.
      const std::string text = formatDouble(std::get<double>(value));
      return text.find_first_of(".eEn") == std::string::npos ? text + ".0" : text;
    }
    case 2:
      return std::get<bool>(value) ? "true" : "false";
    case 3:
      return quoteText(std::get<std::string>(value));
    default: {
      const auto& v = std::get<std::vector<int64_t>>(value);
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
      return out + "]";
    }
  }
}

}  // namespace mlcp::jobs
