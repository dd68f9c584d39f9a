#include "data/token_data.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "base/error.h"
#include "data/data_mixture.h"
#include "data/sample_order.h"
#include "data/token_vocabulary.h"

namespace fs = std::filesystem;

namespace mlcp::data {
namespace {

std::string manifestPath(const std::string& dir) {
  return (fs::path(dir) / kTokenManifestFile).string();
}

// Typed access to tokens.toml with one-sentence errors naming the file and the field.
class ManifestReader {
 public:
  ManifestReader(const toml::table& t, std::string file) : t_(t), file_(std::move(file)) {}

  int64_t integer(const toml::table& t, const std::string& key, const std::string& path) const {
    const auto v = t[key].value<int64_t>();
    if (!v) fail(path, "an integer");
    return *v;
  }
  std::string string(const toml::table& t, const std::string& key, const std::string& path) const {
    const auto v = t[key].value<std::string>();
    if (!v) fail(path, "a string");
    return *v;
  }
  Hash256 hash(const toml::table& t, const std::string& key, const std::string& path) const {
    const std::string hex = string(t, key, path);
    try {
      return Hash256::fromHex(hex);
    } catch (const InvalidArgument&) {
      fail(path, "64 hex digits");
    }
  }
  const toml::table& table(const std::string& key) const {
    const auto* sub = t_[key].as_table();
    if (sub == nullptr) fail(key, "a table");
    return *sub;
  }
  [[noreturn]] void fail(const std::string& path, const std::string& expected) const {
    throw UsageError(
        fmt::format("{}: {}: expected {} (docs/data-format.md)", file_, path, expected));
  }

 private:
  const toml::table& t_;
  std::string file_;
};

std::string hexOf(const Hash256& h) { return h.hex(); }

constexpr uint64_t kHeldOutTag = 0x686F6C64ULL;  // "hold": the held-out mixture's draws

}  // namespace

Hash256 tokenContentHash(const Hash256& vocabulary_id, uint32_t token_width,
                         const std::vector<TokenShardEntry>& shards) {
  Blake2b256 h;
  h.update(std::string_view("mlcp-tokens v1\n"));
  h.update(vocabulary_id.bytes.data(), vocabulary_id.bytes.size());
  h.updateLe64(token_width);
  h.updateLe64(shards.size());
  for (const auto& s : shards) {
    h.updateLe64(static_cast<uint64_t>(s.tokens));
    h.update(s.hash.bytes.data(), s.hash.bytes.size());
  }
  return h.finish();
}

// ---- TokenManifest --------------------------------------------------------------------------

std::string TokenManifest::toToml() const {
  toml::table vocabulary{{"kind", "sentencepiece"},
                         {"file", tokenizer_file},
                         {"id", hexOf(vocabulary_id)},
                         {"size", vocab_size},
                         {"eos_id", eos_id}};
  toml::table corpus{{"path", corpus_path},
                     {"files", corpus_files},
                     {"lines", corpus_lines},
                     {"bytes", corpus_bytes}};
  toml::array shard_list;
  for (const auto& s : shards) {
    shard_list.push_back(
        toml::table{{"file", s.file}, {"tokens", s.tokens}, {"hash", hexOf(s.hash)}});
  }
  toml::table t{{"format", kTokenFormat},
                {"version", kTokenFormatVersion},
                {"token_width", static_cast<int64_t>(token_width)},
                {"tokens", tokens},
                {"content_hash", hexOf(content_hash)},
                {"vocabulary", std::move(vocabulary)},
                {"corpus", std::move(corpus)},
                {"shards", std::move(shard_list)}};
  std::ostringstream out;
  out << "# mlcp token data, written by `mlcp data prepare` (docs/data-format.md).\n"
      << "# Do not edit: the shards, the tokenizer and this file are checked against each other.\n"
      << t << "\n";
  return out.str();
}

TokenManifest TokenManifest::read(const std::string& dir) {
  const std::string file = manifestPath(dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw UsageError(fmt::format("token data {} {}", dir,
                                 fs::exists(dir, ec) ? "is not a directory"
                                                     : "does not exist (make it with `mlcp data "
                                                       "prepare CORPUS --out DIR`)"));
  }
  if (!fs::is_regular_file(file, ec)) {
    throw UsageError(
        fmt::format("{} is not a prepared token directory: it has no {} (make one "
                    "with `mlcp data prepare CORPUS --out DIR`)",
                    dir, kTokenManifestFile));
  }
  toml::table t;
  try {
    t = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw UsageError(fmt::format("{}:{}:{}: not a token manifest: {}", file, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  const ManifestReader r(t, file);
  if (r.string(t, "format", "format") != kTokenFormat) r.fail("format", "\"mlcp-tokens\"");
  const int64_t version = r.integer(t, "version", "version");
  if (version != kTokenFormatVersion) {
    throw UsageError(
        fmt::format("{} is token data format version {}; this mlcp reads version {} "
                    "(prepare the data again with this mlcp)",
                    file, version, kTokenFormatVersion));
  }
  TokenManifest m;
  const int64_t width = r.integer(t, "token_width", "token_width");
  if (width != 2 && width != 4) r.fail("token_width", "2 or 4");
  m.token_width = static_cast<uint32_t>(width);
  m.tokens = r.integer(t, "tokens", "tokens");
  m.content_hash = r.hash(t, "content_hash", "content_hash");
  const toml::table& v = r.table("vocabulary");
  m.tokenizer_file = r.string(v, "file", "vocabulary.file");
  if (m.tokenizer_file.empty() || m.tokenizer_file.find('/') != std::string::npos) {
    r.fail("vocabulary.file", "a file name in the directory");
  }
  m.vocabulary_id = r.hash(v, "id", "vocabulary.id");
  m.vocab_size = r.integer(v, "size", "vocabulary.size");
  if (m.vocab_size <= 0 || m.vocab_size > (int64_t{1} << 31)) {
    r.fail("vocabulary.size", "a vocabulary size in [1, 2^31]");
  }
  m.eos_id = r.integer(v, "eos_id", "vocabulary.eos_id");
  if (const auto* c = t["corpus"].as_table()) {
    m.corpus_path = (*c)["path"].value_or(std::string());
    m.corpus_files = (*c)["files"].value_or(int64_t{0});
    m.corpus_lines = (*c)["lines"].value_or(int64_t{0});
    m.corpus_bytes = (*c)["bytes"].value_or(int64_t{0});
  }
  const auto* shards = t["shards"].as_array();
  if (shards == nullptr || shards->empty()) r.fail("shards", "a non-empty array of tables");
  int64_t total = 0;
  for (size_t i = 0; i < shards->size(); ++i) {
    const std::string at = fmt::format("shards[{}]", i);
    const auto* s = (*shards)[i].as_table();
    if (s == nullptr) r.fail(at, "a table");
    TokenShardEntry e;
    e.file = r.string(*s, "file", at + ".file");
    if (e.file.empty() || e.file.find('/') != std::string::npos) {
      r.fail(at + ".file", "a file name in the directory");
    }
    e.tokens = r.integer(*s, "tokens", at + ".tokens");
    if (e.tokens < 0) r.fail(at + ".tokens", "a token count >= 0");
    e.hash = r.hash(*s, "hash", at + ".hash");
    total += e.tokens;
    m.shards.push_back(std::move(e));
  }
  if (total != m.tokens) {
    throw UsageError(
        fmt::format("{}: tokens = {}, but its shards list {} tokens", file, m.tokens, total));
  }
  return m;
}

// ---- TokenSource ----------------------------------------------------------------------------

TokenSource::TokenSource(const std::string& dir, double holdout_fraction)
    : dir_(dir), manifest_(TokenManifest::read(dir)) {
  const TokenManifest& m = manifest_;
  // 2. The tokenizer is the one the manifest names.
  const std::string model_path = (fs::path(dir) / m.tokenizer_file).string();
  const TokenVocabulary vocabulary = TokenVocabulary::load(model_path);
  if (vocabulary.id() != m.vocabulary_id) {
    throw VerificationError(fmt::format(
        "vocabulary mismatch: {} has id {}, but {} says the tokens were encoded with vocabulary "
        "{}",
        model_path, vocabulary.id().hex(), manifestPath(dir), m.vocabulary_id.hex()));
  }
  if (vocabulary.size() != m.vocab_size) {
    throw VerificationError(fmt::format("{} has {} pieces, {} says {}", model_path,
                                        vocabulary.size(), manifestPath(dir), m.vocab_size));
  }
  if (tokenWidthFor(m.vocab_size) != m.token_width) {
    throw UsageError(fmt::format("{}: token_width = {} does not fit a vocabulary of {} pieces",
                                 manifestPath(dir), m.token_width, m.vocab_size));
  }
  const auto held =
      static_cast<int64_t>(std::floor(static_cast<double>(m.tokens) * holdout_fraction));
  train_tokens_ = m.tokens - held;
  histogram_.assign(static_cast<size_t>(m.vocab_size), 0);

  int64_t start = 0;
  for (size_t i = 0; i < m.shards.size(); ++i) {
    const TokenShardEntry& e = m.shards[i];
    // 3. The header agrees with the manifest.
    TokenShard shard((fs::path(dir) / e.file).string());
    const TokenShardHeader& h = shard.header();
    if (h.vocabulary_id != m.vocabulary_id) {
      throw UsageError(fmt::format(
          "vocabulary mismatch: token shard {} was encoded with vocabulary {} ({} pieces), but "
          "its directory's vocabulary is {} ({} pieces): shards of different vocabularies "
          "cannot form one token stream",
          shard.path(), h.vocabulary_id.hex(), h.vocab_size, m.vocabulary_id.hex(), m.vocab_size));
    }
    if (h.token_width != m.token_width || static_cast<int64_t>(h.vocab_size) != m.vocab_size) {
      throw UsageError(
          fmt::format("token shard {} stores {} pieces in {} bytes per token, {} says "
                      "{} in {}",
                      shard.path(), h.vocab_size, h.token_width, manifestPath(dir), m.vocab_size,
                      m.token_width));
    }
    if (h.shard_index != i) {
      throw UsageError(
          fmt::format("token shard {} is shard {} of its data set, but {} lists it as "
                      "shard {}: shards were renamed or mixed up",
                      shard.path(), h.shard_index, manifestPath(dir), i));
    }
    if (static_cast<int64_t>(h.token_count) != e.tokens || h.tokens_hash != e.hash) {
      throw VerificationError(fmt::format(
          "token shard {} holds {} tokens with hash {}, but {} lists {} tokens with hash {}: "
          "the shard was replaced or the manifest edited",
          shard.path(), h.token_count, h.tokens_hash.hex(), manifestPath(dir), e.tokens,
          e.hash.hex()));
    }
    // 4. The bytes are the ones the header hashes.
    shard.verify(&histogram_, train_tokens_ - start);
    starts_.push_back(start);
    start += e.tokens;
    shards_.push_back(std::move(shard));
  }
  // 5. The content hash.
  const Hash256 content = tokenContentHash(m.vocabulary_id, m.token_width, m.shards);
  if (content != m.content_hash) {
    throw VerificationError(fmt::format("{}: content_hash {} does not match its shards ({})",
                                        manifestPath(dir), m.content_hash.hex(), content.hex()));
  }
}

void TokenSource::read(int64_t pos, int64_t n, int64_t* out) const {
  require(pos >= 0 && n >= 0 && pos + n <= tokens(), "token range outside the stream");
  // The last shard starting at or before pos.
  auto it = std::upper_bound(starts_.begin(), starts_.end(), pos);
  auto k = static_cast<size_t>(it - starts_.begin()) - 1;
  while (n > 0) {
    const int64_t offset = pos - starts_[k];
    const int64_t take = std::min(n, shards_[k].size() - offset);
    shards_[k].read(offset, take, out);
    out += take;
    pos += take;
    n -= take;
    ++k;
  }
}

// ---- TokenWindows ---------------------------------------------------------------------------

TokenWindows::TokenWindows(std::shared_ptr<const TokenSource> source, int64_t begin,
                           int64_t windows, int64_t context, std::string name)
    : source_(std::move(source)),
      begin_(begin),
      windows_(windows),
      context_(context),
      name_(std::move(name)) {
  require(context > 0 && windows >= 0 && begin >= 0 &&
              (windows == 0 || begin + windows * context + 1 <= source_->tokens()),
          "token windows outside the stream");
}

Batch TokenWindows::batch(const std::vector<int64_t>& indices) const {
  const auto rows = static_cast<int64_t>(indices.size());
  auto input = torch::empty({rows, context_}, torch::kInt64);
  auto target = torch::empty({rows, context_}, torch::kInt64);
  std::vector<int64_t> window(static_cast<size_t>(context_ + 1));
  auto* in = input.data_ptr<int64_t>();
  auto* tg = target.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = indices[static_cast<size_t>(r)];
    require(i >= 0 && i < windows_, "window index out of range");
    source_->read(begin_ + i * context_, context_ + 1, window.data());
    std::copy(window.begin(), window.end() - 1, in + r * context_);
    std::copy(window.begin() + 1, window.end(), tg + r * context_);
  }
  return {input, target};
}

std::string TokenWindows::describe() const {
  return fmt::format("{} ({} windows of {} tokens)", name_, windows_, context_);
}

// ---- loadTokenData --------------------------------------------------------------------------

DataSplits loadTokenData(const TokenDataOptions& o) {
  require(!o.sources.empty() && o.context > 0, "token data needs a source and a context");
  std::vector<std::shared_ptr<const TokenSource>> sources;
  for (const auto& s : o.sources) {
    auto source = std::make_shared<const TokenSource>(s.path, o.holdout_fraction);
    const TokenManifest& m = source->manifest();
    if (!o.vocabulary.empty() && m.vocabulary_id.hex() != o.vocabulary) {
      throw UsageError(fmt::format(
          "vocabulary mismatch: the job pins data.vocabulary = {}, but the token data {} was "
          "encoded with vocabulary {} ({} pieces; {})",
          o.vocabulary, s.path, m.vocabulary_id.hex(), m.vocab_size,
          (fs::path(s.path) / kTokenManifestFile).string()));
    }
    if (!sources.empty() && m.vocabulary_id != sources.front()->manifest().vocabulary_id) {
      const TokenManifest& first = sources.front()->manifest();
      throw UsageError(fmt::format(
          "vocabulary mismatch: mixture source {} uses vocabulary {} ({} pieces), source {} "
          "uses {} ({} pieces): a mixture's sources must share one vocabulary (prepare them "
          "with `mlcp data prepare ... --model {}/{}`)",
          s.path, m.vocabulary_id.hex(), m.vocab_size, sources.front()->dir(),
          first.vocabulary_id.hex(), first.vocab_size, sources.front()->dir(), kTokenizerFile));
    }
    // Both splits must hold windows (the same rule as text: data/text_corpus.cc).
    const int64_t held = source->tokens() - source->trainTokens();
    if (source->trainTokens() < 2 * (o.context + 1) || held < o.context + 1) {
      throw UsageError(fmt::format(
          "token data {} ({} tokens) is too small for context {} with holdout_fraction {}: "
          "{} training and {} held-out tokens, at least {} and {} needed",
          s.path, source->tokens(), o.context, o.holdout_fraction, source->trainTokens(), held,
          2 * (o.context + 1), o.context + 1));
    }
    sources.push_back(std::move(source));
  }

  DataSplits d;
  d.num_classes = sources.front()->manifest().vocab_size;
  const bool one = sources.size() == 1;
  std::vector<std::shared_ptr<TokenWindows>> train, eval;
  std::vector<double> weights;
  for (size_t k = 0; k < sources.size(); ++k) {
    const auto& s = sources[k];
    const int64_t train_windows = (s->trainTokens() - 1) / o.context;
    const int64_t eval_windows = (s->tokens() - s->trainTokens() - 1) / o.context;
    const std::string tag = one ? "tokens" : fmt::format("tokens[{}]", k);
    // A limit applies to the whole split: to the windows of one source, to a mixture's samples.
    train.push_back(std::make_shared<TokenWindows>(
        s, 0, one && o.train_limit > 0 ? std::min(o.train_limit, train_windows) : train_windows,
        o.context, tag + " train"));
    eval.push_back(std::make_shared<TokenWindows>(
        s, s->trainTokens(),
        one && o.eval_limit > 0 ? std::min(o.eval_limit, eval_windows) : eval_windows, o.context,
        tag + " held-out"));
    weights.push_back(o.sources[k].weight);
  }

  // The loss of the best model that ignores context: entropy of the training tokens (of the
  // mixture's proportions: source k's distribution weighted by its share of the samples).
  std::vector<double> p(static_cast<size_t>(d.num_classes), 0.0);
  std::vector<int64_t> quotas{1};
  if (!one) {
    int64_t total = 0;
    for (const auto& t : train) total += t->size();
    quotas = mixtureQuotas(weights, total);
  }
  const double quota_sum =
      static_cast<double>(std::accumulate(quotas.begin(), quotas.end(), int64_t{0}));
  for (size_t k = 0; k < sources.size(); ++k) {
    const auto& hist = sources[k]->trainHistogram();
    const auto tokens = static_cast<double>(sources[k]->trainTokens());
    for (size_t t = 0; t < p.size(); ++t) {
      p[t] += static_cast<double>(quotas[k]) / quota_sum * static_cast<double>(hist[t]) / tokens;
    }
  }
  for (double q : p) {
    if (q > 0) d.unigram_entropy_nats -= q * std::log(q);
  }

  if (one) {
    d.train = train.front();
    d.eval = eval.front();
    d.content_hash = sources.front()->manifest().content_hash.hex();
    return d;
  }
  d.train = std::make_shared<MixtureDataset>(
      std::vector<std::shared_ptr<const Dataset>>(train.begin(), train.end()), weights, o.seed,
      o.train_limit, "token mixture train");
  // The held-out split mixes with the same weights, drawn from another key.
  d.eval = std::make_shared<MixtureDataset>(
      std::vector<std::shared_ptr<const Dataset>>(eval.begin(), eval.end()), weights,
      mixSeed({o.seed, kHeldOutTag}), o.eval_limit, "token mixture held-out");
  Blake2b256 h;
  h.update(std::string_view("mlcp-token-mixture v1\n"));
  h.updateLe64(sources.size());
  for (const auto& s : sources) {
    h.update(s->manifest().content_hash.bytes.data(), s->manifest().content_hash.bytes.size());
  }
  d.content_hash = h.finish().hex();
  return d;
}

}  // namespace mlcp::data
