#include "jobs/spec_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "base/error.h"

namespace mlcp::jobs {

const std::vector<std::pair<std::string, std::vector<std::string>>>& jobSchema() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kSchema = {
      {"job", {"name", "seed", "output_dir"}},
      {"model",
       {"kind", "hidden", "channels", "d_model", "layers", "heads", "context", "ffn_mult",
        "dropout", "stack", "options"}},
      {"data",
       {"kind", "path", "sources", "vocabulary", "holdout_fraction", "train_limit", "eval_limit"}},
      {"optimizer",
       {"kind", "lr", "weight_decay", "momentum", "beta1", "beta2", "eps", "grad_clip"}},
      {"lr_schedule", {"kind", "warmup_steps", "min_lr_ratio"}},
      {"train", {"global_batch", "micro_batches", "steps", "epochs", "eval_every", "log_every"}},
      {"parallel", {"dp", "pp", "tp", "schedule", "virtual_stages", "shard_optimizer"}},
      {"checkpoint", {"every", "key_file", "keep"}},
      {"runtime", {"ops", "intra_op_threads", "recompute", "collective_timeout_s", "devices_file"}},
      {"bridge", {"enabled", "rpc_url", "outbox", "contract", "key_file", "job_id", "chain_id"}},
      {"slurm",
       {"partition", "account", "time", "nodes", "tasks_per_node", "gpus_per_node", "requeue"}},
      {"volunteers",
       {"enabled", "listen", "allow", "allow_file", "key_file", "deadline_s", "max_volunteers",
        "audit_rate", "audit_trust_after", "min_units"}},
  };
  return kSchema;
}

namespace {

const std::vector<std::string>* sectionKeys(const std::string& section) {
  for (const auto& [name, keys] : jobSchema()) {
    if (name == section) return &keys;
  }
  return nullptr;
}

std::vector<std::string> sectionNames() {
  std::vector<std::string> out;
  for (const auto& s : jobSchema()) out.push_back(s.first);
  return out;
}

// "section.key" for every section that has `key` (exact name), other than `except`.
std::vector<std::string> sectionsWithKey(const std::string& key, const std::string& except) {
  std::vector<std::string> out;
  for (const auto& [name, keys] : jobSchema()) {
    if (name == except) continue;
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) out.push_back(name + "." + key);
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

SourcePos toPos(const toml::source_position& p) {
  return SourcePos{static_cast<int64_t>(p.line), static_cast<int64_t>(p.column)};
}

// Entries of a table in file order (toml++ iterates in key order).
std::vector<std::pair<std::string, const toml::key*>> keysInFileOrder(const toml::table& t) {
  std::vector<std::pair<std::string, const toml::key*>> out;
  for (auto&& [k, v] : t) out.emplace_back(std::string(k.str()), &k);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second->source().begin < b.second->source().begin;
  });
  return out;
}

}  // namespace

size_t editDistance(const std::string& a, const std::string& b) {
  // Optimal string alignment: insertions, deletions, substitutions and transpositions of two
  // adjacent letters ("trian" -> "train") each cost 1.
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::optional<std::string> closestMatch(const std::string& word,
                                        const std::vector<std::string>& candidates) {
  // A plausible typo: at most a third of the word's letters wrong (at least 1, at most 3).
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::optional<std::string> best;
  size_t best_d = std::numeric_limits<size_t>::max();
  // Case-insensitive: "1F1B" suggests "1f1b".
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  for (const auto& c : candidates) {
    const size_t d = editDistance(lower(word), lower(c));
    if (d < best_d) best_d = d, best = c;
  }
  if (best && best_d <= limit) return best;
  return std::nullopt;
}

std::string quoteText(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string formatDouble(double v) { return fmt::format("{}", v); }

std::string describeNode(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string (" + quoteText(std::string(*node.value<std::string_view>())) + ")";
    case toml::node_type::integer:
      return fmt::format("an integer ({})", *node.value<int64_t>());
    case toml::node_type::floating_point:
      return "a float (" + formatDouble(*node.value<double>()) + ")";
    case toml::node_type::boolean:
      return std::string("a boolean (") + (*node.value<bool>() ? "true" : "false") + ")";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// ---- SourceMap ------------------------------------------------------------------------------

SourceMap::SourceMap(const toml::table& root) { walk(root, ""); }

void SourceMap::walk(const toml::table& t, const std::string& prefix) {
  for (auto&& [k, v] : t) {
    const std::string path =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    pos_[path] = toPos(v.source().begin);
    pos_[path + "#key"] = toPos(k.source().begin);
    if (const auto* sub = v.as_table()) walk(*sub, path);
    if (const auto* arr = v.as_array()) {
      for (size_t i = 0; i < arr->size(); ++i) {
        pos_[fmt::format("{}[{}]", path, i)] = toPos((*arr)[i].source().begin);
      }
    }
  }
}

SourcePos SourceMap::find(std::initializer_list<std::string> paths) const {
  for (const auto& p : paths) {
    auto it = pos_.find(p);
    if (it != pos_.end() && it->second.known()) return it->second;
  }
  return SourcePos{};
}

// ---- SpecReader -----------------------------------------------------------------------------

SpecReader::SpecReader(std::string source_name, const toml::table& root)
    : source_name_(std::move(source_name)), root_(root), map_(root) {}

std::string SpecReader::prefix(SourcePos pos) const {
  if (!pos.known()) pos = SourcePos{1, 1};
  return fmt::format("{}:{}:{}: ", source_name_, pos.line, pos.column);
}

void SpecReader::fail(std::initializer_list<std::string> where, const std::string& key,
                      const std::string& message) const {
  throw UsageError(prefix(map_.find(where)) + key + ": " + message);
}

void SpecReader::rejectUnknownSections() const {
  const std::vector<std::string> names = sectionNames();
  for (const auto& [name, key] : keysInFileOrder(root_)) {
    const toml::node& value = *root_.get(name);
    if (sectionKeys(name) != nullptr) {
      if (!value.is_table()) {
        fail({name}, name, "expected a table ([" + name + "]), got " + describeNode(value));
      }
      continue;
    }
    std::string msg;
    if (value.is_table()) {
      msg = "expected one of the sections [" + joined(names, "], [") + "], got unknown section [" +
            name + "]";
      if (auto m = closestMatch(name, names)) msg += " (did you mean [" + *m + "]?)";
    } else {
      msg = "expected a section ([job], [model], ...), got a top-level key '" + name + "'";
      auto homes = sectionsWithKey(name, "");
      if (!homes.empty()) msg += " (did you mean '" + homes.front() + "'?)";
    }
    fail({name + "#key"}, name, msg);
  }
}

// ---- SectionReader --------------------------------------------------------------------------

SectionReader::SectionReader(const SpecReader& spec, std::string section)
    : spec_(spec), section_(std::move(section)) {
  if (const auto* n = spec_.root().get(section_)) table_ = n->as_table();
}

void SectionReader::rejectUnknownKeys() const {
  if (table_ == nullptr) return;
  const std::vector<std::string>& known = *sectionKeys(section_);
  for (const auto& [name, key] : keysInFileOrder(*table_)) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string msg = "expected a key of [" + section_ + "], got unknown key '" + name + "'";
    if (auto m = closestMatch(name, known)) {
      msg += " (did you mean '" + *m + "'?)";
    } else if (auto homes = sectionsWithKey(name, section_); !homes.empty()) {
      msg += " (did you mean '" + homes.front() + "'?)";
    } else {
      msg += " (known keys: " + joined(known, ", ") + ")";
    }
    spec_.fail({path(name) + "#key"}, path(name), msg);
  }
}

bool SectionReader::has(const std::string& key) const {
  return table_ != nullptr && table_->get(key) != nullptr;
}

const toml::node* SectionReader::node(const std::string& key) {
  if (table_ == nullptr) return nullptr;
  const toml::node* n = table_->get(key);
  if (n != nullptr) used_.insert(key);
  return n;
}

void SectionReader::typeError(const std::string& key, const std::string& expected,
                              const toml::node& got) const {
  spec_.fail(path(key), "expected " + expected + ", got " + describeNode(got));
}

void SectionReader::missing(const std::string& key, const std::string& expected) const {
  const std::string found = table_ == nullptr ? "no [" + section_ + "] section"
                                              : "no '" + key + "' in [" + section_ + "]";
  spec_.fail({section_}, path(key), "is required (" + expected + "), got " + found);
}

int64_t SectionReader::getInt(const std::string& key, int64_t dflt) {
  const toml::node* n = node(key);
  if (n == nullptr) return dflt;
  if (!n->is_integer()) typeError(key, "an integer", *n);
  return *n->value<int64_t>();
}

double SectionReader::getDouble(const std::string& key, double dflt) {
  const toml::node* n = node(key);
  if (n == nullptr) return dflt;
  if (n->is_integer()) return static_cast<double>(*n->value<int64_t>());
  if (!n->is_floating_point()) typeError(key, "a number", *n);
  const double v = *n->value<double>();
  if (!std::isfinite(v)) spec_.fail(path(key), "expected a finite number, got " + describeNode(*n));
  return v;
}

std::string SectionReader::getString(const std::string& key, const std::string& dflt) {
  const toml::node* n = node(key);
  if (n == nullptr) return dflt;
  if (!n->is_string()) typeError(key, "a string", *n);
  return std::string(*n->value<std::string_view>());
}

bool SectionReader::getBool(const std::string& key, bool dflt) {
  const toml::node* n = node(key);
  if (n == nullptr) return dflt;
  if (!n->is_boolean()) typeError(key, "a boolean (true or false)", *n);
  return *n->value<bool>();
}

std::vector<int64_t> SectionReader::getIntArray(const std::string& key,
                                                const std::vector<int64_t>& dflt) {
  const toml::node* n = node(key);
  if (n == nullptr) return dflt;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) typeError(key, "an array of integers", *n);
  std::vector<int64_t> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = (*arr)[i];
    if (!e.is_integer()) {
      const std::string p = fmt::format("{}[{}]", path(key), i);
      spec_.fail({p, path(key)}, p, "expected an integer, got " + describeNode(e));
    }
    out.push_back(*e.value<int64_t>());
  }
  return out;
}

std::vector<const toml::table*> SectionReader::getTableArray(const std::string& key) {
  const toml::node* n = node(key);
  if (n == nullptr) return {};
  const toml::array* arr = n->as_array();
  if (arr == nullptr) typeError(key, "an array of tables", *n);
  std::vector<const toml::table*> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (t == nullptr) {
      const std::string p = fmt::format("{}[{}]", path(key), i);
      spec_.fail({p, path(key)}, p, "expected a table, got " + describeNode((*arr)[i]));
    }
    out.push_back(t);
  }
  return out;
}

const toml::table* SectionReader::getTable(const std::string& key) {
  const toml::node* n = node(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) typeError(key, "a table ([" + path(key) + "])", *n);
  return n->as_table();
}

int64_t SectionReader::requireInt(const std::string& key, const std::string& expected) {
  if (!has(key)) missing(key, expected);
  return getInt(key, 0);
}

std::string SectionReader::requireString(const std::string& key, const std::string& expected) {
  if (!has(key)) missing(key, expected);
  return getString(key, "");
}

std::string SectionReader::getEnum(const std::string& key, const std::vector<std::string>& allowed,
                                   const std::optional<std::string>& dflt) {
  std::vector<std::string> q;
  for (const auto& a : allowed) q.push_back(quoteText(a));
  const std::string expected = "one of " + joined(q, ", ");
  if (!has(key)) {
    if (dflt) return *dflt;
    missing(key, expected);
  }
  const std::string v = getString(key, "");
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string msg = "must be " + expected + ", got " + quoteText(v);
  if (auto m = closestMatch(v, allowed)) msg += " (did you mean " + quoteText(*m) + "?)";
  spec_.fail(path(key), msg);
}

void SectionReader::rejectUnused(const std::function<std::string(const std::string&)>& why) const {
  if (table_ == nullptr) return;
  for (const auto& [name, key] : keysInFileOrder(*table_)) {
    if (used_.count(name) != 0) continue;
    spec_.fail({path(name) + "#key"}, path(name), why(name));
  }
}

}  // namespace mlcp::jobs
