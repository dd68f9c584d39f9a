#include "jobs/job_validation.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <vector>

namespace mlcp::jobs {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kByteVocabulary = 256;       // gpt: bytes are the tokens
constexpr int64_t kImageSize = 28;             // Fashion-MNIST images are 28x28
constexpr int64_t kFashionMnistTrain = 60000;  // training samples in Fashion-MNIST
constexpr int64_t kMaxConvBlocks = 4;          // 28 -> 14 -> 7 -> 3 -> 1 under 2x2 maxpools
constexpr int64_t kMaxIntraOpThreads = 1024;
constexpr int kMaxPort = 65535;
constexpr double kMaxDeadlineS = 86400;  // a volunteer's work unit: at most a day
constexpr int64_t kMaxVolunteers = 1024;
// Model sizes and rank counts enter products (layers + 2, ffn_mult x d_model, dp x pp x tp,
// nodes x tasks): each at most 2^20 keeps every such product of up to three inside int64.
constexpr int64_t kMaxCount = int64_t{1} << 20;

// The files a text corpus directory contributes, as data/text_corpus.cc reads them: regular
// files, not hidden, not fortune index files (*.dat) or their links (*.u8), not symlinks.
std::vector<fs::path> corpusFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string ext = e.path().extension().string();
    if (name.empty() || name[0] == '.' || ext == ".dat" || ext == ".u8" || e.is_symlink()) continue;
    if (e.is_regular_file()) files.push_back(e.path());
  }
  return files;
}

// What validation needs of prepared token data (docs/data-format.md), from DIR/tokens.toml:
// its token count and vocabulary. data/token_data.h reads and verifies all of it when the job
// loads its data; this is the cheap look before any work starts.
struct TokenDataInfo {
  int64_t tokens = 0, vocab_size = 0;
  std::string vocabulary_id;
};

// The manifest's facts, or why it cannot give them (`why`).
std::optional<TokenDataInfo> readTokenDataInfo(const std::string& dir, std::string* why) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *why = fs::exists(dir, ec)
               ? "which is not a directory"
               : "which does not exist (make it with `mlcp data prepare CORPUS --out DIR`)";
    return std::nullopt;
  }
  const fs::path file = fs::path(dir) / "tokens.toml";
  if (!fs::is_regular_file(file, ec)) {
    *why = "which has no tokens.toml (make it with `mlcp data prepare CORPUS --out DIR`)";
    return std::nullopt;
  }
  try {
    const toml::table t = toml::parse_file(file.string());
    TokenDataInfo info;
    const auto tokens = t["tokens"].value<int64_t>();
    const auto size = t["vocabulary"]["size"].value<int64_t>();
    const auto id = t["vocabulary"]["id"].value<std::string>();
    if (t["format"].value_or(std::string()) != "mlcp-tokens" || !tokens || !size || !id) {
      *why = "whose tokens.toml is not an mlcp token manifest";
      return std::nullopt;
    }
    return TokenDataInfo{*tokens, *size, *id};
  } catch (const toml::parse_error& e) {
    *why = fmt::format("whose tokens.toml is not valid TOML ({})", e.description());
    return std::nullopt;
  }
}

// The layer count with how it was counted, for messages.
std::string layerCountText(const ModelSpec& m) {
  const char* how = m.kind == "mlp"     ? "len(model.hidden)+1"
                    : m.kind == "cnn"   ? "len(model.channels)+1"
                    : m.kind == "stack" ? "len(model.stack)+1: the layers and the head"
                                        : "model.layers+2: embedding, blocks, head";
  return fmt::format("{} ({})", modelLayerCount(m), how);
}

class Validator {
 public:
  Validator(const JobSpec& s, const SpecReader& r) : s_(s), r_(r) {}

  void run() {
    job();
    model();
    data();
    optimizer();
    lrSchedule();
    train();
    parallel();
    checkpoint();
    runtime();
    bridge();
    slurm();
    volunteers();
  }

 private:
  // ---- one-key helpers (position: the key's value) ----
  void positive(const std::string& key, int64_t v) {
    if (v <= 0) r_.fail(key, fmt::format("must be a positive integer, got {}", v));
  }
  // Sizes and counts that are multiplied: also at most kMaxCount.
  void positiveCount(const std::string& key, int64_t v) {
    positive(key, v);
    if (v > kMaxCount) r_.fail(key, fmt::format("must be at most {}, got {}", kMaxCount, v));
  }
  void nonNegativeCount(const std::string& key, int64_t v) {
    nonNegative(key, v);
    if (v > kMaxCount) r_.fail(key, fmt::format("must be at most {}, got {}", kMaxCount, v));
  }
  void nonNegative(const std::string& key, int64_t v) {
    if (v < 0) r_.fail(key, fmt::format("must be >= 0, got {}", v));
  }
  void positive(const std::string& key, double v) {
    if (!(v > 0)) r_.fail(key, "must be > 0, got " + formatDouble(v));
  }
  void nonNegative(const std::string& key, double v) {
    if (!(v >= 0)) r_.fail(key, "must be >= 0, got " + formatDouble(v));
  }
  // lo <= v < hi
  void halfOpen(const std::string& key, double v, double lo, double hi) {
    if (!(v >= lo && v < hi)) {
      r_.fail(key, fmt::format("must be in [{}, {}), got {}", formatDouble(lo), formatDouble(hi),
                               formatDouble(v)));
    }
  }
  void existingFile(const std::string& key, const std::string& path, const std::string& what) {
    if (path.empty()) return;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      r_.fail(key, "expected " + what + ", got " + quoteText(path) + ", which does not exist");
    }
    if (!fs::is_regular_file(path, ec)) {
      r_.fail(key,
              "expected " + what + ", got " + quoteText(path) + ", which is not a regular file");
    }
  }

  void job() {
    static const std::regex kName("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    if (!std::regex_match(s_.name, kName)) {
      // Without a job.name key the name is the job file's own name: say so, or the message would
      // point at a key the file does not have.
      const std::string from = r_.positions().contains("job.name")
                                   ? std::string()
                                   : ", taken from the job file's name (set job.name)";
      r_.fail({"job.name", "job"}, "job.name",
              "expected 1 to 100 characters from A-Z a-z 0-9 . _ - starting with a letter or "
              "digit (it names the run directory and the Slurm job), got " +
                  quoteText(s_.name) + from);
    }
  }

  void model() {
    const ModelSpec& m = s_.model;
    if (m.kind == "mlp") {
      for (size_t i = 0; i < m.hidden.size(); ++i) {
        const std::string k = fmt::format("model.hidden[{}]", i);
        if (m.hidden[i] <= 0) {
          r_.fail({k, "model.hidden"}, k,
                  fmt::format("must be a positive width, got {}", m.hidden[i]));
        }
      }
    } else if (m.kind == "cnn") {
      const auto n = static_cast<int64_t>(m.channels.size());
      if (n < 1 || n > kMaxConvBlocks) {
        r_.fail({"model.channels", "model.kind"}, "model.channels",
                fmt::format("must hold 1 to {} conv widths ({}x{} images halve at each 2x2 "
                            "maxpool: 28, 14, 7, 3, 1), got {} entries",
                            kMaxConvBlocks, kImageSize, kImageSize, n));
      }
      for (size_t i = 0; i < m.channels.size(); ++i) {
        const std::string k = fmt::format("model.channels[{}]", i);
        if (m.channels[i] <= 0) {
          r_.fail({k, "model.channels"}, k,
                  fmt::format("must be a positive channel count, got {}", m.channels[i]));
        }
      }
    } else if (m.kind == "stack") {
      stack(m);
    } else if (m.kind == "gpt") {
      positiveCount("model.d_model", m.d_model);
      positiveCount("model.layers", m.layers);
      positiveCount("model.heads", m.heads);
      positiveCount("model.context", m.context);
      positiveCount("model.ffn_mult", m.ffn_mult);
      halfOpen("model.dropout", m.dropout, 0.0, 1.0);
      if (m.d_model % m.heads != 0) {
        r_.fail({"model.heads", "model.d_model", "model.kind"}, "model.heads",
                fmt::format("must divide model.d_model ({}) so each head has d_model/heads "
                            "dimensions, got {}",
                            m.d_model, m.heads));
      }
    }
    // A registered kind says which data it reads (models/model_registry.h checks it).
    if (!isBuiltInModelKind(m.kind)) return;
    // Which data a model reads: images for mlp/cnn/stack, bytes or tokens for gpt.
    const bool gpt_data = s_.data.kind == "text" || s_.data.kind == "tokens";
    if (m.kind == "gpt" ? !gpt_data : s_.data.kind != "fashion-mnist") {
      r_.fail({"data.kind", "model.kind"}, "data.kind",
              fmt::format("must be {} for model.kind {}, got {}",
                          m.kind == "gpt" ? "\"text\" or \"tokens\"" : "\"fashion-mnist\"",
                          quoteText(m.kind), quoteText(s_.data.kind)));
    }
  }

  // [[model.stack]]: at least one layer; conv layers (on the image) before dense ones (on the
  // flattened features), at most kMaxConvBlocks of them.
  void stack(const ModelSpec& m) {
    if (m.stack.empty()) {
      r_.fail({"model.kind", "model"}, "model.stack",
              "is required with model.kind \"stack\" (one [[model.stack]] table per layer, "
              "e.g. {type = \"dense\", width = 128}), got no layers");
    }
    int64_t convs = 0;
    for (size_t i = 0; i < m.stack.size(); ++i) {
      if (m.stack[i].type != "conv") continue;
      const std::string at = fmt::format("model.stack[{}]", i);
      if (i > 0 && m.stack[i - 1].type == "dense") {
        r_.fail({at, "model.stack"}, at + ".type",
                fmt::format("expected conv layers before every dense layer (a dense layer "
                            "flattens the image), got a conv layer after the dense layer {}",
                            fmt::format("model.stack[{}]", i - 1)));
      }
      if (++convs > kMaxConvBlocks) {
        r_.fail({at, "model.stack"}, at + ".type",
                fmt::format("expected at most {} conv layers ({}x{} images halve at each 2x2 "
                            "maxpool: 28, 14, 7, 3, 1), got more",
                            kMaxConvBlocks, kImageSize, kImageSize));
      }
    }
  }

  void data() {
    const DataSpec& d = s_.data;
    nonNegative("data.train_limit", d.train_limit);
    nonNegative("data.eval_limit", d.eval_limit);
    const std::initializer_list<std::string> at_path = {"data.path", "data.kind", "data"};
    std::error_code ec;
    if (d.kind == "fashion-mnist") {
      if (!fs::exists(d.path, ec)) {
        r_.fail(at_path, "data.path",
                "expected a Fashion-MNIST directory, got " + quoteText(d.path) +
                    ", which does not exist (Debian package dataset-fashion-mnist installs "
                    "/usr/share/datasets/fashion-mnist)");
      }
      if (!fs::is_directory(d.path, ec)) {
        r_.fail(at_path, "data.path",
                "expected a Fashion-MNIST directory, got " + quoteText(d.path) +
                    ", which is not a directory");
      }
      for (const auto& f : fashionMnistFiles()) {
        const fs::path p = fs::path(d.path) / f;
        if (!fs::is_regular_file(p, ec) && !fs::is_regular_file(p.string() + ".gz", ec)) {
          r_.fail(at_path, "data.path",
                  "expected a Fashion-MNIST directory holding " + f + "[.gz], got " +
                      quoteText(d.path) + " without it");
        }
      }
      train_samples_ =
          d.train_limit > 0 ? std::min(d.train_limit, kFashionMnistTrain) : kFashionMnistTrain;
      enoughForOneStep(train_samples_, "data.train_limit");
      return;
    }
    if (d.kind == "tokens") {
      tokenData();
      return;
    }
    // text
    if (!(d.holdout_fraction > 0 && d.holdout_fraction < 1)) {
      r_.fail("data.holdout_fraction",
              "must be in (0, 1) (the last fraction of the corpus is the held-out split), got " +
                  formatDouble(d.holdout_fraction));
    }
    int64_t bytes = 0;
    if (fs::is_regular_file(d.path, ec)) {
      bytes = static_cast<int64_t>(fs::file_size(d.path, ec));
    } else if (fs::is_directory(d.path, ec)) {
      const auto files = corpusFiles(d.path);
      if (files.empty()) {
        r_.fail(at_path, "data.path",
                "expected a text file or a directory holding text files (hidden, *.dat and *.u8 "
                "files and symlinks are skipped), got " +
                    quoteText(d.path) + " with none");
      }
      for (const auto& f : files) bytes += static_cast<int64_t>(fs::file_size(f, ec));
    } else {
      r_.fail(at_path, "data.path",
              "expected a text file or a directory of text files, got " + quoteText(d.path) +
                  (fs::exists(d.path, ec) ? ", which is neither" : ", which does not exist"));
    }
    // The split of data/text_corpus.cc: the last floor(bytes * holdout) bytes are held out;
    // an example is a window of context+1 bytes.
    const int64_t ctx = s_.model.context;
    const auto held =
        static_cast<int64_t>(std::floor(static_cast<double>(bytes) * d.holdout_fraction));
    const int64_t train_bytes = bytes - held;
    if (train_bytes < 2 * (ctx + 1) || held < ctx + 1) {
      r_.fail({"data.holdout_fraction", "data.path", "data.kind"}, "data.holdout_fraction",
              fmt::format("must leave at least model.context+1 = {} bytes in the held-out split "
                          "and {} in the training split of the {}-byte corpus {}, got {} "
                          "({} held out, {} for training)",
                          ctx + 1, 2 * (ctx + 1), bytes, quoteText(d.path),
                          formatDouble(d.holdout_fraction), held, train_bytes));
    }
    const int64_t windows = (train_bytes - 1) / ctx;
    train_samples_ = d.train_limit > 0 ? std::min(d.train_limit, windows) : windows;
    enoughForOneStep(train_samples_, "data.train_limit");
  }

  // tokens: every source is prepared token data of one vocabulary (the pinned one, if any)
  // with a few windows in each split (data/token_data.h's rules, from the manifests).
  void tokenData() {
    const DataSpec& d = s_.data;
    if (!(d.holdout_fraction > 0 && d.holdout_fraction < 1)) {
      r_.fail("data.holdout_fraction",
              "must be in (0, 1) (the last fraction of each source's tokens is the held-out "
              "split), got " +
                  formatDouble(d.holdout_fraction));
    }
    static const std::regex kHex64("[0-9a-f]{64}");
    if (!d.vocabulary.empty() && !std::regex_match(d.vocabulary, kHex64)) {
      r_.fail("data.vocabulary",
              "expected a vocabulary id (64 hex digits, as `mlcp data prepare` prints it), got " +
                  quoteText(d.vocabulary));
    }
    const int64_t ctx = s_.model.context;
    int64_t windows = 0;
    std::string first_id;
    for (size_t i = 0; i < d.sources.size(); ++i) {
      const std::string& dir = d.sources[i].path;
      const std::string at =
          d.sources.size() > 1 ? fmt::format("data.sources[{}]", i) : "data.path";
      const std::initializer_list<std::string> where = {at, "data.sources", "data.path", "data"};
      std::string why;
      const auto info = readTokenDataInfo(dir, &why);
      if (!info) {
        r_.fail(where, at,
                fmt::format("expected a directory `mlcp data prepare` wrote, got {} {}",
                            quoteText(dir), why));
      }
      if (!d.vocabulary.empty() && info->vocabulary_id != d.vocabulary) {
        r_.fail({"data.vocabulary"}, "data.vocabulary",
                fmt::format("vocabulary mismatch: the job pins {}, but {} was prepared with "
                            "vocabulary {} ({} pieces)",
                            quoteText(d.vocabulary), quoteText(dir), info->vocabulary_id,
                            info->vocab_size));
      }
      if (i == 0) {
        first_id = info->vocabulary_id;
        token_vocab_ = info->vocab_size;
      } else if (info->vocabulary_id != first_id) {
        r_.fail(where, at,
                fmt::format("vocabulary mismatch: {} was prepared with vocabulary {}, the first "
                            "source with {}: a mixture's sources must share one vocabulary",
                            quoteText(dir), info->vocabulary_id, first_id));
      }
      const auto held =
          static_cast<int64_t>(std::floor(static_cast<double>(info->tokens) * d.holdout_fraction));
      const int64_t train_tokens = info->tokens - held;
      if (train_tokens < 2 * (ctx + 1) || held < ctx + 1) {
        r_.fail({"data.holdout_fraction", at, "data.kind"}, "data.holdout_fraction",
                fmt::format("must leave at least model.context+1 = {} tokens in the held-out "
                            "split and {} in the training split of the {}-token data {}, got {} "
                            "({} held out, {} for training)",
                            ctx + 1, 2 * (ctx + 1), info->tokens, quoteText(dir),
                            formatDouble(d.holdout_fraction), held, train_tokens));
      }
      windows += (train_tokens - 1) / ctx;
    }
    train_samples_ = d.train_limit > 0 ? std::min(d.train_limit, windows) : windows;
    enoughForOneStep(train_samples_, "data.train_limit");
  }

  // One optimizer step needs global_batch training samples.
  void enoughForOneStep(int64_t train_samples, const std::string& limit_key) {
    const int64_t gb = s_.train.global_batch;
    if (gb <= 0 || train_samples >= gb) return;
    if (s_.data.train_limit > 0 && s_.data.train_limit < gb) {
      r_.fail({limit_key}, limit_key,
              fmt::format("must be at least train.global_batch ({}) so that one step has its "
                          "samples, got {}",
                          gb, s_.data.train_limit));
    }
    r_.fail({"train.global_batch"}, "train.global_batch",
            fmt::format("must be at most the {} training samples of the data set, got {}",
                        train_samples, gb));
  }

  void optimizer() {
    const OptimizerSpec& o = s_.optimizer;
    positive("optimizer.lr", o.lr);
    nonNegative("optimizer.weight_decay", o.weight_decay);
    nonNegative("optimizer.grad_clip", o.grad_clip);
    if (o.kind == "sgd") halfOpen("optimizer.momentum", o.momentum, 0.0, 1.0);
    if (o.kind == "adamw") {
      halfOpen("optimizer.beta1", o.beta1, 0.0, 1.0);
      halfOpen("optimizer.beta2", o.beta2, 0.0, 1.0);
      positive("optimizer.eps", o.eps);
    }
  }

  void lrSchedule() {
    const LrScheduleSpec& l = s_.lr_schedule;
    nonNegative("lr_schedule.warmup_steps", l.warmup_steps);
    if (l.kind != "constant" && !(l.min_lr_ratio >= 0 && l.min_lr_ratio <= 1)) {
      r_.fail("lr_schedule.min_lr_ratio", "must be in [0, 1], got " + formatDouble(l.min_lr_ratio));
    }
  }

  void train() {
    const TrainSpec& t = s_.train;
    positive("train.global_batch", t.global_batch);
    positive("train.micro_batches", t.micro_batches);
    if (t.global_batch % t.micro_batches != 0) {
      r_.fail({"train.global_batch"}, "train.global_batch",
              fmt::format("must be divisible by train.micro_batches ({}), got {}", t.micro_batches,
                          t.global_batch));
    }
    nonNegative("train.steps", t.steps);
    nonNegative("train.epochs", t.epochs);
    if (t.steps > 0 && t.epochs > 0) {
      r_.fail({"train.epochs", "train.steps"}, "train.epochs",
              fmt::format("must be 0 when train.steps is set (exactly one of steps and epochs is "
                          "> 0), got {} with train.steps = {}",
                          t.epochs, t.steps));
    }
    if (t.steps == 0 && t.epochs == 0) {
      r_.fail({"train.steps", "train.epochs", "train"}, "train.steps",
              "expected exactly one of train.steps and train.epochs to be > 0, got neither");
    }
    nonNegative("train.eval_every", t.eval_every);
    positive("train.log_every", t.log_every);
    // The run's length: train.steps, or epochs of floor(train samples / global_batch) steps
    // (the trainer drops the last partial batch of an epoch).
    const LrScheduleSpec& l = s_.lr_schedule;
    if (t.steps > 0 && l.warmup_steps > t.steps) {
      r_.fail({"lr_schedule.warmup_steps"}, "lr_schedule.warmup_steps",
              fmt::format("must be at most train.steps ({}), got {}", t.steps, l.warmup_steps));
    }
    const int64_t per_epoch = train_samples_ / t.global_batch;
    // Every count derived from the run's length must fit in int64: steps x global batch
    // (samples seen) is the largest; past 2^62 the run is refused rather than wrapped.
    constexpr int64_t kMaxSamples = int64_t{1} << 62;
    if (t.global_batch > 0 && t.steps > kMaxSamples / t.global_batch) {
      r_.fail("train.steps",
              fmt::format("must be at most {} (2^62 samples of train.global_batch {}), "
                          "got {}",
                          kMaxSamples / t.global_batch, t.global_batch, t.steps));
    }
    if (t.global_batch > 0 && per_epoch > 0 &&
        t.epochs > kMaxSamples / t.global_batch / per_epoch) {
      r_.fail("train.epochs",
              fmt::format("must be at most {} ({} steps per epoch of train.global_batch {}: "
                          "2^62 samples in all), got {}",
                          kMaxSamples / t.global_batch / per_epoch, per_epoch, t.global_batch,
                          t.epochs));
      return;
    }
    if (t.epochs > 0 && l.warmup_steps > t.epochs * per_epoch) {
      r_.fail({"lr_schedule.warmup_steps"}, "lr_schedule.warmup_steps",
              fmt::format("must be at most the run's {} steps ({} epochs of {} samples / "
                          "train.global_batch {}), got {}",
                          t.epochs * per_epoch, t.epochs, train_samples_, t.global_batch,
                          l.warmup_steps));
    }
  }

  void parallel() {
    const ParallelSpec& p = s_.parallel;
    const ModelSpec& m = s_.model;
    nonNegativeCount("parallel.dp", p.dp);
    positiveCount("parallel.pp", p.pp);
    positiveCount("parallel.tp", p.tp);
    positiveCount("parallel.virtual_stages", p.virtual_stages);

    const int64_t layers = modelLayerCount(m);  // 0: a registered kind, checked when built
    if (layers > 0 && p.pp > layers) {
      r_.fail("parallel.pp",
              fmt::format("must be at most the model's pipeline layer count {}, got {}",
                          layerCountText(m), p.pp));
    }
    // Tensor parallelism shards the GPT's heads, vocabulary and MLP width evenly across tp
    // ranks (models/gpt.h); the MLP and CNN have no tensor-parallel layers.
    if (p.tp > 1) {
      if (m.kind != "gpt") {
        r_.fail({"parallel.tp"}, "parallel.tp",
                fmt::format("tensor parallelism splits the GPT's attention heads and matrices; "
                            "model.kind \"{}\" has no tensor-parallel layers: use parallel.tp = "
                            "1 (and dp or pp to spread it), got {}",
                            m.kind, p.tp));
      } else {
        if (m.heads % p.tp != 0) {
          r_.fail({"parallel.tp"}, "parallel.tp",
                  fmt::format("must divide model.heads ({}), got {}", m.heads, p.tp));
        }
        // The vocabulary: the 256 bytes, or the token data's (data()).
        const bool tokens = s_.data.kind == "tokens";
        const int64_t vocab = tokens ? token_vocab_ : kByteVocabulary;
        if (vocab % p.tp != 0) {
          r_.fail({"parallel.tp"}, "parallel.tp",
                  fmt::format("must divide the {} ({}) for the vocab-parallel embedding, got {}",
                              tokens ? "token data's vocabulary" : "byte vocabulary", vocab, p.tp));
        }
        if ((m.ffn_mult * m.d_model) % p.tp != 0) {
          r_.fail({"parallel.tp"}, "parallel.tp",
                  fmt::format("must divide the MLP width model.ffn_mult * model.d_model ({}), "
                              "got {}",
                              m.ffn_mult * m.d_model, p.tp));
        }
      }
    }
    const TrainSpec& t = s_.train;
    if (p.pp > 1 && t.micro_batches < p.pp) {
      r_.fail({"train.micro_batches", "parallel.pp"}, "train.micro_batches",
              fmt::format("must be at least parallel.pp ({}) so that every pipeline stage has "
                          "work, got {}",
                          p.pp, t.micro_batches));
    }
    if (p.schedule != "interleaved") {
      if (p.virtual_stages != 1) {
        r_.fail("parallel.virtual_stages",
                fmt::format("must be 1 unless parallel.schedule is \"interleaved\", got {} with "
                            "schedule {}",
                            p.virtual_stages, quoteText(p.schedule)));
      }
    } else {
      if (p.pp < 2) {
        r_.fail({"parallel.schedule"}, "parallel.schedule",
                fmt::format("must not be \"interleaved\" without pipelining (parallel.pp >= 2), "
                            "got \"interleaved\" with parallel.pp = {}",
                            p.pp));
      }
      if (p.virtual_stages < 2) {
        r_.fail({"parallel.virtual_stages", "parallel.schedule"}, "parallel.virtual_stages",
                fmt::format("must be at least 2 with schedule \"interleaved\", got {}",
                            p.virtual_stages));
      }
      if (t.micro_batches % p.pp != 0) {
        r_.fail({"train.micro_batches", "parallel.schedule"}, "train.micro_batches",
                fmt::format("must be a multiple of parallel.pp ({}) with schedule "
                            "\"interleaved\", got {}",
                            p.pp, t.micro_batches));
      }
      if (layers > 0 && p.pp * p.virtual_stages > layers) {
        r_.fail({"parallel.virtual_stages", "parallel.schedule"}, "parallel.virtual_stages",
                fmt::format("must leave every one of the pp*virtual_stages model chunks at least "
                            "one of the model's {} layers, got {} ({}*{} = {} chunks)",
                            layerCountText(s_.model), p.virtual_stages, p.pp, p.virtual_stages,
                            p.pp * p.virtual_stages));
      }
    }
  }

  void checkpoint() {
    nonNegative("checkpoint.every", s_.checkpoint.every);
    nonNegative("checkpoint.keep", s_.checkpoint.keep);
    existingFile("checkpoint.key_file", s_.checkpoint.key_file, "an existing signing key file");
  }

  void runtime() {
    const RuntimeSpec& rt = s_.runtime;
    if (rt.intra_op_threads < 1 || rt.intra_op_threads > kMaxIntraOpThreads) {
      r_.fail("runtime.intra_op_threads",
              fmt::format("must be in [1, {}], got {}", kMaxIntraOpThreads, rt.intra_op_threads));
    }
    positive("runtime.collective_timeout_s", rt.collective_timeout_s);
    existingFile("runtime.devices_file", rt.devices_file, "an existing devices file");
  }

  void bridge() {
    const BridgeSpec& b = s_.bridge;
    static const std::regex kAddress("0x[0-9a-fA-F]{40}");
    if (!b.contract.empty() && !std::regex_match(b.contract, kAddress)) {
      r_.fail("bridge.contract",
              "expected a 0x-prefixed 20-byte hex address (42 characters), got " +
                  quoteText(b.contract));
    }
    if (!b.rpc_url.empty() && b.rpc_url.rfind("http://", 0) != 0 &&
        b.rpc_url.rfind("https://", 0) != 0) {
      r_.fail("bridge.rpc_url", "expected an http:// or https:// URL, got " + quoteText(b.rpc_url));
    }
    if (b.job_id < -1)
      r_.fail("bridge.job_id", fmt::format("must be >= 0 (or -1 = none), got {}", b.job_id));
    nonNegative("bridge.chain_id", b.chain_id);
    if (!b.enabled) return;
    const std::initializer_list<std::string> at_enabled = {"bridge.enabled", "bridge"};
    if (b.rpc_url.empty() && b.outbox.empty()) {
      r_.fail(at_enabled, "bridge.rpc_url",
              "expected an http(s) URL or a bridge.outbox file when bridge.enabled is true, got "
              "neither");
    }
    if (b.contract.empty()) {
      r_.fail(at_enabled, "bridge.contract",
              "is required when bridge.enabled is true (a 0x-prefixed 20-byte hex address), got "
              "nothing");
    }
    if (b.key_file.empty()) {
      r_.fail(at_enabled, "bridge.key_file",
              "is required when bridge.enabled is true (the secp256k1 key that signs "
              "transactions), got nothing");
    }
    existingFile("bridge.key_file", b.key_file, "an existing secp256k1 key file");
    if (b.job_id < 0) {
      r_.fail({"bridge.job_id", "bridge.enabled"}, "bridge.job_id",
              fmt::format("must be the on-chain job id (>= 0) when bridge.enabled is true, got {}",
                          b.job_id));
    }
    if (b.rpc_url.empty() && b.chain_id <= 0) {
      r_.fail({"bridge.chain_id", "bridge.enabled"}, "bridge.chain_id",
              "is required offline (bridge.outbox without bridge.rpc_url): transactions are "
              "signed for one chain, got nothing");
    }
    if (s_.checkpoint.every <= 0) {
      r_.fail({"checkpoint.every", "bridge.enabled"}, "checkpoint.every",
              fmt::format("must be > 0 when bridge.enabled is true (checkpoint k, committed on "
                          "chain, is the state after k x every steps), got {}",
                          s_.checkpoint.every));
    }
    if (!b.outbox.empty()) {
      const fs::path dir = fs::path(b.outbox).parent_path();
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) {
        r_.fail("bridge.outbox", "expected a file in an existing directory, got " +
                                     quoteText(b.outbox) + ", whose directory does not exist");
      }
    }
  }

  void slurm() {
    const SlurmSpec& sl = s_.slurm;
    // Slurm's --time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED/INFINITE.
    static const std::regex kTime(
        "\\d+|\\d+:\\d{1,2}|\\d+:\\d{1,2}:\\d{1,2}|\\d+-\\d+|\\d+-\\d+:\\d{1,2}|"
        "\\d+-\\d+:\\d{1,2}:\\d{1,2}|UNLIMITED|INFINITE");
    if (!std::regex_match(sl.time, kTime)) {
      r_.fail("slurm.time",
              "expected a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), "
              "got " +
                  quoteText(sl.time));
    }
    positiveCount("slurm.nodes", sl.nodes);
    nonNegativeCount("slurm.tasks_per_node", sl.tasks_per_node);
    nonNegative("slurm.gpus_per_node", sl.gpus_per_node);
    if (sl.tasks_per_node > 0) {
      const int64_t world = sl.nodes * sl.tasks_per_node;
      if (auto expected = worldSizeProblem(s_.parallel, world)) {
        r_.fail({"slurm.tasks_per_node"}, "slurm.tasks_per_node",
                fmt::format("{}, got slurm.nodes*tasks_per_node = {}*{} = {} ranks", *expected,
                            sl.nodes, sl.tasks_per_node, world));
      }
    }
  }

  // volunteers.allow and the allow file are checked while reading (job_spec.cc): their keys
  // are part of the spec (volunteers.allowed_keys).
  void volunteers() {
    const VolunteersSpec& v = s_.volunteers;
    // HOST:PORT as collectives/ucx/socket_address.h reads it (jobs/ does not link that library),
    // without resolving the name: it must resolve on the coordinator's node only, at launch.
    static const std::regex kListen(
        "([A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?\\]):([0-9]{1,5})");
    std::smatch m;
    if (!std::regex_match(v.listen, m, kListen) || std::stoi(m[3].str()) > kMaxPort) {
      r_.fail("volunteers.listen",
              "expected HOST:PORT with a port 0..65535 (e.g. 0.0.0.0:7700, "
              "coordinator.example:7700 or [::1]:7700; port 0 picks a free port), got " +
                  quoteText(v.listen));
    }
    existingFile("volunteers.key_file", v.key_file, "an existing ed25519 key file");
    if (!(v.deadline_s > 0 && v.deadline_s <= kMaxDeadlineS)) {
      r_.fail("volunteers.deadline_s",
              fmt::format("must be in (0, {}] (the seconds a volunteer has for one work unit), "
                          "got {}",
                          formatDouble(kMaxDeadlineS), formatDouble(v.deadline_s)));
    }
    if (v.max_volunteers < 1 || v.max_volunteers > kMaxVolunteers) {
      r_.fail("volunteers.max_volunteers",
              fmt::format("must be in [1, {}], got {}", kMaxVolunteers, v.max_volunteers));
    }
    if (!(v.audit_rate > 0 && v.audit_rate <= 1)) {
      r_.fail("volunteers.audit_rate",
              "must be in (0, 1] (the share of a trusted volunteer's units recomputed on a "
              "rank), got " +
                  formatDouble(v.audit_rate));
    }
    nonNegative("volunteers.audit_trust_after", v.audit_trust_after);
    nonNegative("volunteers.min_units", v.min_units);
    if (!v.enabled) return;
    if (v.allowed_keys.empty()) {
      r_.fail({"volunteers.allow", "volunteers.allow_file", "volunteers.enabled", "volunteers"},
              "volunteers.allow",
              "is required when volunteers.enabled is true (a job that takes volunteers names "
              "the keys it allows: volunteers.allow or volunteers.allow_file), got no keys");
    }
    // A volunteer computes a whole logical micro-batch through the whole model.
    const ParallelSpec& p = s_.parallel;
    for (const auto& [key, value] : {std::pair<std::string, int64_t>{"parallel.pp", p.pp},
                                     std::pair<std::string, int64_t>{"parallel.tp", p.tp}}) {
      if (value != 1) {
        r_.fail({key, "volunteers.enabled"}, key,
                fmt::format("must be 1 when volunteers.enabled is true (volunteers compute "
                            "whole logical micro-batches of the whole model), got {}",
                            value));
      }
    }
  }

  const JobSpec& s_;
  const SpecReader& r_;
  int64_t train_samples_ = 0;  // training samples one epoch has (set by data())
  int64_t token_vocab_ = 0;    // tokens: the data's vocabulary size (set by data())
};

}  // namespace

const std::vector<std::string>& fashionMnistFiles() {
  static const std::vector<std::string> kFiles = {
      "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte"};
  return kFiles;
}

std::optional<std::string> worldSizeProblem(const ParallelSpec& p, int64_t world) {
  if (world < 1) return std::string("expected at least 1 rank");
  const int64_t model_ranks = p.pp * p.tp;
  if (p.dp > 0) {
    if (world != p.dp * model_ranks) {
      return fmt::format("expected dp*pp*tp = {}*{}*{} = {} ranks", p.dp, p.pp, p.tp,
                         p.dp * model_ranks);
    }
    return std::nullopt;
  }
  if (world % model_ranks != 0) {
    return fmt::format(
        "expected a rank count divisible by pp*tp = {}*{} = {} (parallel.dp = 0 "
        "means dp = ranks/(pp*tp))",
        p.pp, p.tp, model_ranks);
  }
  return std::nullopt;
}

void validateJobSpec(const JobSpec& spec, const SpecReader& reader) {
  Validator(spec, reader).run();
}

}  // namespace mlcp::jobs
