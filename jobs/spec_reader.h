// Typed, position-aware reading of a parsed TOML job file. Every error it raises is one
// sentence of the form
//
//   <file>:<line>:<col>: <key path>: <what was expected>, got <what was found>
//
// where <line>:<col> is toml++'s source position of the offending value (or key, for a key
// that should not be there). Errors that involve several keys point at the most relevant key
// that the file actually contains (see SpecReader::fail with fallbacks).
//
// Reading protocol for one section (see job_spec.cc):
//   1. SectionReader::rejectUnknownKeys(): a key that the section never has is an error, with
//      the closest known key suggested ("did you mean 'global_batch'?").
//   2. get*() for each key that applies; each marks the key as used and checks its type.
//   3. rejectUnused(): a known key that was present but not read does not apply to this job
//      (e.g. model.hidden with model.kind "gpt"), and is an error naming why.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mlcp::jobs {

struct SourcePos {
  int64_t line = 0;  // 1-based; 0 = unknown
  int64_t column = 0;
  bool known() const { return line > 0; }
};

// The sections of a job file and the keys each may hold, in documentation order.
const std::vector<std::pair<std::string, std::vector<std::string>>>& jobSchema();

// Edit distance between two short strings (optimal string alignment: Levenshtein plus adjacent
// transpositions), for "did you mean" suggestions.
size_t editDistance(const std::string& a, const std::string& b);
// The candidate closest to `word`, when it is close enough to be a plausible typo.
std::optional<std::string> closestMatch(const std::string& word,
                                        const std::vector<std::string>& candidates);

// "an integer (5)", "a string (\"x\")", "a float (0.5)", "an array", "a table", ...
std::string describeNode(const toml::node& node);
// Renders a string as a double-quoted literal with JSON-style escapes.
std::string quoteText(const std::string& s);
// Shortest round-trip decimal rendering of a double (fmt's "{}"): 0.001, 1e-08, 300.
std::string formatDouble(double v);

// Positions of every key and value in a parsed document, by key path: "train.global_batch"
// (the value), "train.global_batch#key" (the key itself), "model.hidden[1]" (an element),
// "train" (the [train] header).
class SourceMap {
 public:
  SourceMap() = default;
  explicit SourceMap(const toml::table& root);
  // The position of the first of `paths` that the document contains; unknown when none does.
  SourcePos find(std::initializer_list<std::string> paths) const;
  SourcePos find(const std::string& path) const { return find({path}); }
  bool contains(const std::string& path) const { return pos_.count(path) != 0; }

 private:
  void walk(const toml::table& t, const std::string& prefix);
  std::map<std::string, SourcePos> pos_;
};

// Raises the one-sentence UsageError for a job file.
class SpecReader {
 public:
  SpecReader(std::string source_name, const toml::table& root);

  const std::string& sourceName() const { return source_name_; }
  const toml::table& root() const { return root_; }
  const SourceMap& positions() const { return map_; }

  // Throws "<file>:<pos>: <key>: <message>" where pos is that of the first present path in
  // `where` (1:1 when none is present).
  [[noreturn]] void fail(std::initializer_list<std::string> where, const std::string& key,
                         const std::string& message) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    fail({key}, key, message);
  }
  std::string prefix(SourcePos pos) const;

  // Checks the top level: every entry is a known section and a table. Call before sections.
  void rejectUnknownSections() const;

 private:
  std::string source_name_;
  const toml::table& root_;
  SourceMap map_;
};

// Reads one section ([train], [model], ...). The section may be absent: every get* then
// returns its default, and required keys report "no [train] section".
class SectionReader {
 public:
  SectionReader(const SpecReader& spec, std::string section);

  // Step 1 of the protocol: keys this section never has.
  void rejectUnknownKeys() const;

  bool has(const std::string& key) const;
  std::string path(const std::string& key) const { return section_ + "." + key; }

  int64_t getInt(const std::string& key, int64_t dflt);
  // A float; integers are accepted and converted.
  double getDouble(const std::string& key, double dflt);
  std::string getString(const std::string& key, const std::string& dflt);
  bool getBool(const std::string& key, bool dflt);
  std::vector<int64_t> getIntArray(const std::string& key, const std::vector<int64_t>& dflt);
  // An array of tables (data.sources = [{path = "a", weight = 2}, ...]); empty when absent.
  // Fails naming the element ("data.sources[1]") that is not a table.
  std::vector<const toml::table*> getTableArray(const std::string& key);
  // A sub-table ([model.options]); nullptr when absent.
  const toml::table* getTable(const std::string& key);
  // Required keys: fail with "is required (<expected>), got ..." when absent.
  int64_t requireInt(const std::string& key, const std::string& expected);
  std::string requireString(const std::string& key, const std::string& expected);
  // A string that must be one of `allowed`; `dflt` when absent (nullopt = required).
  std::string getEnum(const std::string& key, const std::vector<std::string>& allowed,
                      const std::optional<std::string>& dflt);

  // Step 3 of the protocol: a present key that was never read does not apply; `why(key)`
  // says when it applies, e.g. "is used only with model.kind \"mlp\"".
  void rejectUnused(const std::function<std::string(const std::string&)>& why) const;

 private:
  const toml::node* node(const std::string& key);  // marks used
  [[noreturn]] void typeError(const std::string& key, const std::string& expected,
                              const toml::node& got) const;
  [[noreturn]] void missing(const std::string& key, const std::string& expected) const;

  const SpecReader& spec_;
  std::string section_;
  const toml::table* table_ = nullptr;
  std::set<std::string> used_;
};

}  // namespace mlcp::jobs
