#include "jobs/job_spec.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "jobs/job_validation.h"
#include "jobs/spec_reader.h"

namespace mlcp::jobs {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCanonicalVersion = "# mlcp canonical job v2";
constexpr const char* kDefaultFashionMnist = "/usr/share/datasets/fashion-mnist";

// Relative paths resolve against the job file's directory; results are absolute and
// lexically normal. "" stays "" (= not set).
std::string resolvePath(const fs::path& base, const std::string& p) {
  if (p.empty()) return p;
  const fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

toml::table parseToml(const std::string& text, const std::string& source_name) {
  try {
    return toml::parse(std::string_view(text), std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    throw UsageError(fmt::format("{}:{}:{}: TOML syntax error: {}", source_name,
                                 e.source().begin.line, e.source().begin.column, e.description()));
  }
}

// The default job name: the job file's stem ("jobs/quick_mlp.toml" -> "quick_mlp").
std::string defaultName(const std::string& source_name) {
  const std::string stem = fs::path(source_name).stem().string();
  return stem.empty() ? "job" : stem;
}

// [job]
void readJobSection(const SpecReader& r, const fs::path& base, const std::string& source_name,
                    JobSpec& s) {
  SectionReader t(r, "job");
  s.name = t.getString("name", defaultName(source_name));
  const int64_t seed = t.getInt("seed", 0);
  if (seed < 0) r.fail("job.seed", fmt::format("must be a non-negative integer, got {}", seed));
  s.seed = static_cast<uint64_t>(seed);
  const std::string out = t.getString("output_dir", "");
  if (t.has("output_dir") && out.empty()) {
    r.fail("job.output_dir", "expected a directory path, got an empty string");
  }
  s.output_dir = t.has("output_dir")
                     ? resolvePath(base, out)
                     : (fs::current_path() / "runs" / s.name).lexically_normal().string();
}

// [model]
const std::vector<std::string> kBuiltInModelKinds = {"mlp", "cnn", "gpt", "stack"};

// [[model.stack]]: {type = "conv", channels = C} or {type = "dense", width = W,
// activation = "relu" | "none"}.
void readModelStack(const SpecReader& r, SectionReader& t, ModelSpec& m) {
  const auto tables = t.getTableArray("stack");
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string at = fmt::format("model.stack[{}]", i);
    StackLayerSpec layer;
    const toml::node* type = tables[i]->get("type");
    if (type == nullptr || !type->is_string() ||
        (*type->value<std::string>() != "conv" && *type->value<std::string>() != "dense")) {
      r.fail({at, "model.stack"}, at + ".type",
             "expected \"conv\" or \"dense\", got " +
                 (type == nullptr ? std::string("a layer without a type") : describeNode(*type)));
    }
    layer.type = *type->value<std::string>();
    const bool conv = layer.type == "conv";
    const std::string size_key = conv ? "channels" : "width";
    for (auto&& [k, v] : *tables[i]) {
      const std::string key(k.str());
      if (key == "type") continue;
      if (key == size_key) {
        if (!v.is_integer() || *v.value<int64_t>() <= 0) {
          r.fail({at, "model.stack"}, at + "." + key,
                 "expected a positive " + std::string(conv ? "channel count" : "width") + ", got " +
                     describeNode(v));
        }
        layer.width = *v.value<int64_t>();
      } else if (key == "activation" && !conv) {
        const auto a = v.value<std::string>();
        if (!a || (*a != "relu" && *a != "none")) {
          r.fail({at, "model.stack"}, at + ".activation",
                 "expected \"relu\" or \"none\", got " + describeNode(v));
        }
        layer.relu = *a == "relu";
      } else {
        r.fail({at, "model.stack"}, at + "." + key,
               "expected a key of a " + layer.type + " layer (type, " +
                   (conv ? std::string("channels") : std::string("width, activation")) +
                   "), got unknown key '" + key + "'");
      }
    }
    if (layer.width == 0) {
      r.fail({at, "model.stack"}, at + "." + size_key,
             "is required (the layer's " + std::string(conv ? "output channels" : "output width") +
                 "), got a layer without it");
    }
    m.stack.push_back(layer);
  }
}

// [model.options] of a registered kind: each value an integer, float, boolean, string or array
// of integers.
void readModelOptions(const SpecReader& r, SectionReader& t, ModelSpec& m) {
  const toml::table* options = t.getTable("options");
  if (options == nullptr) return;
  for (auto&& [k, v] : *options) {
    const std::string key(k.str());
    const std::string at = "model.options." + key;
    if (v.is_integer()) {
      m.options.set(key, *v.value<int64_t>());
    } else if (v.is_floating_point() && std::isfinite(*v.value<double>())) {
      m.options.set(key, *v.value<double>());
    } else if (v.is_boolean()) {
      m.options.set(key, *v.value<bool>());
    } else if (v.is_string()) {
      m.options.set(key, std::string(*v.value<std::string_view>()));
    } else {
      const toml::array* arr = v.as_array();
      std::vector<int64_t> ints;
      bool all_ints = arr != nullptr;
      for (size_t i = 0; all_ints && i < arr->size(); ++i) {
        all_ints = (*arr)[i].is_integer();
        if (all_ints) ints.push_back(*(*arr)[i].value<int64_t>());
      }
      if (!all_ints) {
        r.fail({at, "model.options"}, at,
               "expected an integer, a finite float, a boolean, a string or an array of "
               "integers, got " +
                   describeNode(v));
      }
      m.options.set(key, ints);
    }
  }
}

void readModelSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "model");
  ModelSpec& m = s.model;
  const std::string expected =
      "one of \"mlp\", \"cnn\", \"gpt\", \"stack\", or the name of a model the program "
      "registered";
  m.kind = t.requireString("kind", expected);
  static const std::regex kRegisteredName("[a-z][a-z0-9_]{0,63}");
  if (!isBuiltInModelKind(m.kind) && !std::regex_match(m.kind, kRegisteredName)) {
    std::string msg = "must be " + expected +
                      " (a-z, 0-9 and _, starting with a letter, at most 64), got " +
                      quoteText(m.kind);
    if (auto near = closestMatch(m.kind, kBuiltInModelKinds)) {
      msg += " (did you mean " + quoteText(*near) + "?)";
    }
    r.fail("model.kind", msg);
  }
  if (m.kind == "mlp") m.hidden = t.getIntArray("hidden", m.hidden);
  if (m.kind == "cnn") m.channels = t.getIntArray("channels", m.channels);
  if (m.kind == "gpt") {
    m.d_model = t.getInt("d_model", m.d_model);
    m.layers = t.getInt("layers", m.layers);
    m.heads = t.getInt("heads", m.heads);
    m.context = t.getInt("context", m.context);
    m.ffn_mult = t.getInt("ffn_mult", m.ffn_mult);
    m.dropout = t.getDouble("dropout", m.dropout);
  }
  if (m.kind == "stack") readModelStack(r, t, m);
  if (!isBuiltInModelKind(m.kind)) readModelOptions(r, t, m);
  t.rejectUnused([&](const std::string& key) {
    const std::string owner = key == "hidden"     ? "model.kind \"mlp\""
                              : key == "channels" ? "model.kind \"cnn\""
                              : key == "stack"    ? "model.kind \"stack\""
                              : key == "options"
                                  ? "a model kind the program registered (not mlp, cnn, gpt or "
                                    "stack)"
                                  : "model.kind \"gpt\"";
    return fmt::format("is used only with {}, got model.kind {}", owner, quoteText(m.kind));
  });
}

// [data]
// tokens: data.path (one prepared directory) or data.sources (a mixture), never both.
void readTokenSources(const SpecReader& r, SectionReader& t, const fs::path& base, DataSpec& d) {
  const std::string expected_path = "a directory `mlcp data prepare` wrote";
  if (t.has("path") && t.has("sources")) {
    r.fail({"data.sources", "data.path"}, "data.sources",
           "expected either data.path (one prepared directory) or data.sources (a mixture), got "
           "both");
  }
  if (!t.has("sources")) {
    const std::string path =
        t.requireString("path", expected_path + ", or data.sources for a mixture");
    if (path.empty()) r.fail("data.path", "expected " + expected_path + ", got an empty string");
    d.path = resolvePath(base, path);
    d.sources = {DataSource{d.path, 1.0}};
    return;
  }
  const auto tables = t.getTableArray("sources");
  if (tables.empty()) {
    r.fail("data.sources",
           "expected at least one source ({path = \"DIR\", weight = 1.0}), got an empty array");
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string at = fmt::format("data.sources[{}]", i);
    DataSource src;
    bool has_path = false;
    for (auto&& [k, v] : *tables[i]) {
      const std::string key(k.str());
      if (key == "path") {
        const auto p = v.value<std::string>();
        if (!p || p->empty()) {
          r.fail({at, "data.sources"}, at + ".path",
                 "expected " + expected_path + ", got " + describeNode(v));
        }
        src.path = resolvePath(base, *p);
        has_path = true;
      } else if (key == "weight") {
        const auto w = v.value<double>();  // integers convert
        if (!w || !std::isfinite(*w) || *w <= 0) {
          r.fail({at, "data.sources"}, at + ".weight",
                 "expected a finite number > 0 (the source's share, relative to the others), "
                 "got " +
                     describeNode(v));
        }
        src.weight = *w;
      } else {
        r.fail({at, "data.sources"}, at + "." + key,
               "expected a key of a source (path, weight), got unknown key '" + key + "'");
      }
    }
    if (!has_path) {
      r.fail({at, "data.sources"}, at + ".path",
             "is required (" + expected_path + "), got a source without it");
    }
    d.sources.push_back(src);
  }
  d.path = d.sources.front().path;
}

void readDataSection(const SpecReader& r, const fs::path& base, JobSpec& s) {
  SectionReader t(r, "data");
  DataSpec& d = s.data;
  d.kind = t.getEnum("kind", {"fashion-mnist", "text", "tokens"}, std::nullopt);
  if (d.kind == "tokens") {
    readTokenSources(r, t, base, d);
    d.vocabulary = t.getString("vocabulary", "");
    for (char& c : d.vocabulary) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    d.holdout_fraction = t.getDouble("holdout_fraction", d.holdout_fraction);
  } else {
    std::string path;
    if (d.kind == "text") {
      path = t.requireString("path", "a text file or a directory of text files");
      d.holdout_fraction = t.getDouble("holdout_fraction", d.holdout_fraction);
    } else {
      path = t.getString("path", kDefaultFashionMnist);
    }
    if (path.empty()) {
      r.fail("data.path", "expected a file or directory path, got an empty string");
    }
    d.path = resolvePath(base, path);
  }
  d.train_limit = t.getInt("train_limit", d.train_limit);
  d.eval_limit = t.getInt("eval_limit", d.eval_limit);
  t.rejectUnused([&](const std::string& key) {
    if (key == "holdout_fraction") {
      return "is used only with data.kind \"text\" or \"tokens\", got data.kind " +
             quoteText(d.kind);
    }
    return "is used only with data.kind \"tokens\", got data.kind " + quoteText(d.kind);
  });
}

// [optimizer]
void readOptimizerSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "optimizer");
  OptimizerSpec& o = s.optimizer;
  o.kind = t.getEnum("kind", {"adamw", "sgd"}, o.kind);
  o.lr = t.getDouble("lr", o.lr);
  o.weight_decay = t.getDouble("weight_decay", o.weight_decay);
  o.grad_clip = t.getDouble("grad_clip", o.grad_clip);
  if (o.kind == "sgd") o.momentum = t.getDouble("momentum", o.momentum);
  if (o.kind == "adamw") {
    o.beta1 = t.getDouble("beta1", o.beta1);
    o.beta2 = t.getDouble("beta2", o.beta2);
    o.eps = t.getDouble("eps", o.eps);
  }
  t.rejectUnused([&](const std::string& key) {
    const char* owner = key == "momentum" ? "sgd" : "adamw";
    return fmt::format("is used only with optimizer.kind \"{}\", got optimizer.kind {}", owner,
                       quoteText(o.kind));
  });
}

// [lr_schedule]
void readLrScheduleSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "lr_schedule");
  LrScheduleSpec& l = s.lr_schedule;
  l.kind = t.getEnum("kind", {"constant", "cosine", "linear"}, l.kind);
  l.warmup_steps = t.getInt("warmup_steps", l.warmup_steps);
  if (l.kind != "constant") l.min_lr_ratio = t.getDouble("min_lr_ratio", l.min_lr_ratio);
  t.rejectUnused([&](const std::string&) {
    return "is used only with lr_schedule.kind \"cosine\" or \"linear\", got lr_schedule.kind " +
           quoteText(l.kind);
  });
}

// [train]
void readTrainSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "train");
  TrainSpec& tr = s.train;
  tr.global_batch = t.requireInt("global_batch", "a positive integer");
  tr.micro_batches = t.getInt("micro_batches", tr.micro_batches);
  tr.steps = t.getInt("steps", tr.steps);
  tr.epochs = t.getInt("epochs", tr.epochs);
  tr.eval_every = t.getInt("eval_every", tr.eval_every);
  tr.log_every = t.getInt("log_every", tr.log_every);
}

// [parallel]
void readParallelSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "parallel");
  ParallelSpec& p = s.parallel;
  p.dp = t.getInt("dp", p.dp);
  p.pp = t.getInt("pp", p.pp);
  p.tp = t.getInt("tp", p.tp);
  p.schedule = t.getEnum("schedule", {"gpipe", "1f1b", "interleaved"}, p.schedule);
  p.virtual_stages = t.getInt("virtual_stages", p.virtual_stages);
  p.shard_optimizer = t.getBool("shard_optimizer", p.shard_optimizer);
}

// [checkpoint]
void readCheckpointSection(const SpecReader& r, const fs::path& base, JobSpec& s) {
  SectionReader t(r, "checkpoint");
  CheckpointSpec& c = s.checkpoint;
  c.every = t.getInt("every", c.every);
  c.key_file = resolvePath(base, t.getString("key_file", ""));
  c.keep = t.getInt("keep", c.keep);
}

// [runtime]
void readRuntimeSection(const SpecReader& r, const fs::path& base, JobSpec& s) {
  SectionReader t(r, "runtime");
  RuntimeSpec& rt = s.runtime;
  rt.ops = t.getEnum("ops", {"reproducible", "native"}, rt.ops);
  rt.intra_op_threads = t.getInt("intra_op_threads", rt.intra_op_threads);
  rt.recompute = t.getBool("recompute", rt.recompute);
  rt.collective_timeout_s = t.getDouble("collective_timeout_s", rt.collective_timeout_s);
  rt.devices_file = resolvePath(base, t.getString("devices_file", ""));
}

// [bridge]
void readBridgeSection(const SpecReader& r, const fs::path& base, JobSpec& s) {
  SectionReader t(r, "bridge");
  BridgeSpec& b = s.bridge;
  b.enabled = t.getBool("enabled", b.enabled);
  b.rpc_url = t.getString("rpc_url", "");
  b.outbox = resolvePath(base, t.getString("outbox", ""));
  b.contract = t.getString("contract", "");
  b.key_file = resolvePath(base, t.getString("key_file", ""));
  b.job_id = t.getInt("job_id", b.job_id);
  b.chain_id = t.getInt("chain_id", b.chain_id);
}

// [slurm]
void readSlurmSection(const SpecReader& r, JobSpec& s) {
  SectionReader t(r, "slurm");
  SlurmSpec& sl = s.slurm;
  sl.partition = t.getString("partition", "");
  sl.account = t.getString("account", "");
  sl.time = t.getString("time", sl.time);
  sl.nodes = t.getInt("nodes", sl.nodes);
  sl.tasks_per_node = t.getInt("tasks_per_node", sl.tasks_per_node);
  sl.gpus_per_node = t.getInt("gpus_per_node", sl.gpus_per_node);
  sl.requeue = t.getBool("requeue", sl.requeue);
}

// [volunteers]
// The key lists are read and checked here rather than in job_validation, because what they
// yield (volunteers.allowed_keys) is part of the returned spec: volunteers.allow entry by entry
// (the message shows the entry as written), then the allow file line by line.

// An allow file larger than this is refused (about 250 000 keys).
constexpr std::uintmax_t kMaxAllowFileBytes = std::uintmax_t{16} << 20;
constexpr size_t kPublicKeyHexDigits = 64;  // an ed25519 public key

bool isPublicKeyHex(const std::string& s) {
  return s.size() == kPublicKeyHexDigits && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

std::string lowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// volunteers.allow: an array of distinct keys, returned lower-cased. (Read from the document
// directly: SectionReader has no string arrays. [volunteers] has no keys that may not apply,
// so no rejectUnused relies on this key being marked as used.)
std::vector<std::string> readAllowList(const SpecReader& r) {
  const toml::node* n = r.root()["volunteers"]["allow"].node();
  if (n == nullptr) return {};
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    r.fail(
        "volunteers.allow",
        "expected an array of ed25519 public keys (64 hex digits each), got " + describeNode(*n));
  }
  std::vector<std::string> keys;
  std::map<std::string, size_t> first;  // lower-cased key -> its first index
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string at = fmt::format("volunteers.allow[{}]", i);
    const toml::node& e = (*arr)[i];
    if (!e.is_string()) {
      r.fail({at, "volunteers.allow"}, at,
             "expected an ed25519 public key (a string of 64 hex digits), got " + describeNode(e));
    }
    const std::string text(*e.value<std::string_view>());
    if (!isPublicKeyHex(text)) {
      r.fail({at, "volunteers.allow"}, at,
             "expected an ed25519 public key (64 hex digits), got " + quoteText(text));
    }
    const std::string key = lowerCase(text);
    if (auto it = first.find(key); it != first.end()) {
      r.fail({at, "volunteers.allow"}, at,
             fmt::format("expected each key once, got {} again (volunteers.allow[{}] is the same "
                         "key)",
                         quoteText(text), it->second));
    }
    first.emplace(key, i);
    keys.push_back(key);
  }
  return keys;
}

// volunteers.allow_file (absolute): one key a line, '#' to the end of a line is a comment, blank
// lines skipped; returns the keys lower-cased, in file order (repeats kept: the caller merges).
std::vector<std::string> readAllowFile(const SpecReader& r, const std::string& path) {
  const std::string key = "volunteers.allow_file";
  const std::string expected = "expected a file of volunteer public keys, got " + quoteText(path);
  std::error_code ec;
  if (!fs::exists(path, ec)) r.fail(key, expected + ", which does not exist");
  if (!fs::is_regular_file(path, ec)) r.fail(key, expected + ", which is not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxAllowFileBytes) {
    r.fail(key, expected + (ec ? ", whose size cannot be read (" + ec.message() + ")"
                               : fmt::format(", which is larger than {} MiB ({} bytes)",
                                             kMaxAllowFileBytes >> 20, size)));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) r.fail(key, expected + ", which cannot be read (" + std::strerror(errno) + ")");
  std::vector<std::string> keys;
  std::string line;
  std::uintmax_t read = 0;  // procfs files report size 0: count what is read too
  for (int64_t number = 1; std::getline(in, line); ++number) {
    read += line.size() + 1;
    if (read > kMaxAllowFileBytes + 1) {
      r.fail(key,
             expected + fmt::format(", which is larger than {} MiB", kMaxAllowFileBytes >> 20));
    }
    std::string text = line.substr(0, line.find('#'));
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && space(text.back())) text.pop_back();
    text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), space));
    if (text.empty()) continue;
    if (!isPublicKeyHex(text)) {
      r.fail(key, fmt::format("expected one ed25519 public key (64 hex digits) a line ('#' starts "
                              "a comment), got {} on line {} of {}",
                              quoteText(text), number, quoteText(path)));
    }
    keys.push_back(lowerCase(text));
  }
  if (in.bad()) r.fail(key, expected + ", which cannot be read (" + std::strerror(errno) + ")");
  return keys;
}

void readVolunteersSection(const SpecReader& r, const fs::path& base, JobSpec& s) {
  SectionReader t(r, "volunteers");
  VolunteersSpec& v = s.volunteers;
  v.enabled = t.getBool("enabled", v.enabled);
  v.listen = t.getString("listen", v.listen);
  v.allow = readAllowList(r);
  v.allow_file = resolvePath(base, t.getString("allow_file", ""));
  v.key_file = resolvePath(base, t.getString("key_file", ""));
  v.deadline_s = t.getDouble("deadline_s", v.deadline_s);
  v.max_volunteers = t.getInt("max_volunteers", v.max_volunteers);
  v.audit_rate = t.getDouble("audit_rate", v.audit_rate);
  v.audit_trust_after = t.getInt("audit_trust_after", v.audit_trust_after);
  v.min_units = t.getInt("min_units", v.min_units);
  // The union: `allow` first, then the file's keys not seen yet.
  v.allowed_keys = v.allow;
  std::set<std::string> seen(v.allow.begin(), v.allow.end());
  if (!v.allow_file.empty()) {
    for (auto& k : readAllowFile(r, v.allow_file)) {
      if (seen.insert(k).second) v.allowed_keys.push_back(std::move(k));
    }
  }
}

// Reads every section (types, enums, which keys apply); value checks are in job_validation.
JobSpec readSpec(const SpecReader& r, const std::string& source_name) {
  const fs::path base = fs::absolute(fs::path(source_name)).parent_path();
  JobSpec s;
  readJobSection(r, base, source_name, s);
  readModelSection(r, s);
  readDataSection(r, base, s);
  readOptimizerSection(r, s);
  readLrScheduleSection(r, s);
  readTrainSection(r, s);
  readParallelSection(r, s);
  readCheckpointSection(r, base, s);
  readRuntimeSection(r, base, s);
  readBridgeSection(r, base, s);
  readSlurmSection(r, s);
  readVolunteersSection(r, base, s);
  return s;
}

std::string renderInts(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

}  // namespace

JobSpec parseJobSpec(const std::string& text, const std::string& source_name) {
  const toml::table root = parseToml(text, source_name);
  const SpecReader reader(source_name, root);
  // Shape first, so that a misspelt key is reported as such rather than as a missing one.
  reader.rejectUnknownSections();
  for (const auto& section : jobSchema()) SectionReader(reader, section.first).rejectUnknownKeys();
  JobSpec spec = readSpec(reader, source_name);
  spec.source_path = source_name;
  spec.source_text = text;
  validateJobSpec(spec, reader);
  return spec;
}

JobSpec loadJobSpec(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw UsageError(path + ": expected a job file, got a path that does not exist");
  }
  if (!fs::is_regular_file(path, ec)) {
    throw UsageError(path + ": expected a job file, got something that is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UsageError(path + ": expected a readable job file, got " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseJobSpec(ss.str(), path);
}

std::string JobSpec::canonicalText() const {
  std::map<std::string, std::string> kv;
  kv["job.seed"] = std::to_string(seed);

  kv["model.kind"] = quoteText(model.kind);
  if (model.kind == "mlp") kv["model.hidden"] = renderInts(model.hidden);
  if (model.kind == "cnn") kv["model.channels"] = renderInts(model.channels);
  if (model.kind == "stack") {
    std::string layers;
    for (const StackLayerSpec& l : model.stack) {
      layers += (layers.empty() ? "" : ", ") + l.type + " " + std::to_string(l.width) +
                (l.type == "dense" ? (l.relu ? " relu" : " none") : "");
    }
    kv["model.stack"] = "[" + layers + "]";
  }
  for (const auto& [key, value] : model.options.values()) {
    kv["model.options." + key] = ModelOptions::render(value);
  }
  if (model.kind == "gpt") {
    kv["model.d_model"] = std::to_string(model.d_model);
    kv["model.layers"] = std::to_string(model.layers);
    kv["model.heads"] = std::to_string(model.heads);
    kv["model.context"] = std::to_string(model.context);
    kv["model.ffn_mult"] = std::to_string(model.ffn_mult);
    kv["model.dropout"] = formatDouble(model.dropout);
  }

  kv["data.kind"] = quoteText(data.kind);
  if (data.kind == "text" || data.kind == "tokens") {
    kv["data.holdout_fraction"] = formatDouble(data.holdout_fraction);
  }
  // tokens: a mixture's weights (in source order) change which windows a step sees; one
  // source's weight changes nothing. The pinned vocabulary, when there is one.
  if (data.kind == "tokens" && data.sources.size() > 1) {
    std::string w;
    for (size_t i = 0; i < data.sources.size(); ++i) {
      w += (i ? ", " : "") + formatDouble(data.sources[i].weight);
    }
    kv["data.weights"] = "[" + w + "]";
  }
  if (data.kind == "tokens" && !data.vocabulary.empty()) {
    kv["data.vocabulary"] = quoteText(data.vocabulary);
  }
  kv["data.train_limit"] = std::to_string(data.train_limit);
  kv["data.eval_limit"] = std::to_string(data.eval_limit);

  kv["optimizer.kind"] = quoteText(optimizer.kind);
  kv["optimizer.lr"] = formatDouble(optimizer.lr);
  kv["optimizer.weight_decay"] = formatDouble(optimizer.weight_decay);
  kv["optimizer.grad_clip"] = formatDouble(optimizer.grad_clip);
  if (optimizer.kind == "sgd") kv["optimizer.momentum"] = formatDouble(optimizer.momentum);
  if (optimizer.kind == "adamw") {
    kv["optimizer.beta1"] = formatDouble(optimizer.beta1);
    kv["optimizer.beta2"] = formatDouble(optimizer.beta2);
    kv["optimizer.eps"] = formatDouble(optimizer.eps);
  }

  kv["lr_schedule.kind"] = quoteText(lr_schedule.kind);
  kv["lr_schedule.warmup_steps"] = std::to_string(lr_schedule.warmup_steps);
  if (lr_schedule.kind != "constant") {
    kv["lr_schedule.min_lr_ratio"] = formatDouble(lr_schedule.min_lr_ratio);
  }

  kv["train.global_batch"] = std::to_string(train.global_batch);
  kv["train.micro_batches"] = std::to_string(train.micro_batches);
  kv["train.steps"] = std::to_string(train.steps);
  kv["train.epochs"] = std::to_string(train.epochs);
  kv["train.eval_every"] = std::to_string(train.eval_every);

  kv["parallel.pp"] = std::to_string(parallel.pp);
  kv["parallel.tp"] = std::to_string(parallel.tp);
  kv["parallel.schedule"] = quoteText(parallel.schedule);
  kv["parallel.virtual_stages"] = std::to_string(parallel.virtual_stages);

  kv["checkpoint.every"] = std::to_string(checkpoint.every);
  kv["runtime.ops"] = quoteText(runtime.ops);
  // The reproducible operators give the same bits on any thread count; LibTorch's kernels do not.
  if (runtime.ops == "native") {
    kv["runtime.intra_op_threads"] = std::to_string(runtime.intra_op_threads);
  }

  std::string out = std::string(kCanonicalVersion) + "\n";
  for (const auto& [k, v] : kv) out += k + " = " + v + "\n";
  return out;
}

int64_t modelLayerCount(const ModelSpec& model) {
  if (model.kind == "mlp") return static_cast<int64_t>(model.hidden.size()) + 1;
  if (model.kind == "cnn") return static_cast<int64_t>(model.channels.size()) + 1;
  if (model.kind == "gpt") return model.layers + 2;
  if (model.kind == "stack") return static_cast<int64_t>(model.stack.size()) + 1;
  return 0;
}

bool isBuiltInModelKind(const std::string& kind) {
  return std::find(kBuiltInModelKinds.begin(), kBuiltInModelKinds.end(), kind) !=
         kBuiltInModelKinds.end();
}

void checkWorldSize(const JobSpec& spec, int world_size) {
  // Positions come from the job's own text, so the message points at the [parallel] keys.
  toml::table root;
  if (!spec.source_text.empty()) {
    try {
      root = toml::parse(std::string_view(spec.source_text), std::string_view(spec.source_path));
    } catch (const toml::parse_error&) {
      // A spec whose text no longer parses still gets the message, at 1:1.
    }
  }
  const SpecReader reader(spec.source_path.empty() ? "<job>" : spec.source_path, root);
  if (auto expected = worldSizeProblem(spec.parallel, world_size)) {
    reader.fail({"parallel.dp", "parallel.tp", "parallel.pp", "parallel"}, "parallel.dp",
                fmt::format("{}, got a world of {} ranks", *expected, world_size));
  }
}

int64_t resolvedDp(const JobSpec& spec, int world_size) {
  checkWorldSize(spec, world_size);
  const ParallelSpec& p = spec.parallel;
  return p.dp > 0 ? p.dp : world_size / (p.pp * p.tp);
}

}  // namespace mlcp::jobs
