// `mlcp data prepare` and `mlcp data verify`: token data for language models
// (data/token_prepare.h, data/token_data.h; docs/data-format.md).
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>

#include "app/commands.h"
#include "data/token_data.h"
#include "data/token_prepare.h"

namespace mlcp::app {
namespace {

std::string megabytes(int64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

void printSummary(const data::PrepareSummary& s, const data::PrepareOptions& o) {
  fmt::print("prepared {}: {} tokens in {} shard{} of {} bytes per token\n", s.out, s.tokens,
             s.shards, s.shards == 1 ? "" : "s", s.token_width);
  fmt::print("corpus:       {} ({} file{}, {} lines, {})\n", o.corpus, s.files,
             s.files == 1 ? "" : "s", s.lines, megabytes(s.bytes));
  if (s.trained) {
    fmt::print("vocabulary:   {} pieces, trained here ({}, {:.1f} s)\n", s.vocab_size,
               o.training.model_type, s.train_seconds);
  } else {
    fmt::print("vocabulary:   {} pieces, from {}\n", s.vocab_size, o.model);
  }
  fmt::print("vocabulary id: {}\n", s.vocabulary_id.hex());
  fmt::print("content hash:  {}\n", s.content_hash.hex());
  const double secs = std::max(s.encode_seconds, 1e-9);
  fmt::print("encoding:     {:.2f} s, {:.2f} M tokens/s, {:.2f} MB/s of text\n", s.encode_seconds,
             static_cast<double>(s.tokens) / secs / 1e6, static_cast<double>(s.bytes) / secs / 1e6);
  fmt::print("use it: [data] kind = \"tokens\", path = \"{}\"\n", s.out);
}

}  // namespace

void addDataCommands(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Prepare and check token data for language models");
  data->require_subcommand(1);

  auto o = std::make_shared<data::PrepareOptions>();
  CLI::App* prepare = data->add_subcommand(
      "prepare",
      "Tokenize a text corpus with SentencePiece into token shards (docs/data-format.md)");
  prepare->add_option("corpus", o->corpus, "A text file, or a directory of text files")->required();
  prepare->add_option("--out", o->out, "The directory to create (must not exist)")->required();
  auto* vocab = prepare->add_option("--vocab-size", o->training.vocab_size,
                                    "Train a SentencePiece vocabulary of this many pieces");
  auto* model = prepare->add_option("--model", o->model,
                                    "Use this SentencePiece model file instead of training one");
  vocab->excludes(model);
  prepare
      ->add_option("--model-type", o->training.model_type,
                   "With --vocab-size: SentencePiece's model type")
      ->check(CLI::IsMember({"unigram", "bpe", "char", "word"}))
      ->capture_default_str();
  prepare
      ->add_option("--sample-lines", o->training.sample_lines,
                   "With --vocab-size: train on this many lines sampled from the corpus (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  prepare
      ->add_option("--threads", o->training.threads,
                   "With --vocab-size: trainer threads (another count gives another vocabulary)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  prepare->add_option("--shard-tokens", o->shard_tokens, "Tokens per shard")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  prepare->callback([o] { printSummary(data::prepareTokenData(*o), *o); });

  auto dir = std::make_shared<std::string>();
  CLI::App* verify = data->add_subcommand(
      "verify", "Check prepared token data as a run does before its first step");
  verify->add_option("dir", *dir, "A directory `mlcp data prepare` wrote")->required();
  verify->callback([dir] {
    const data::TokenSource source(*dir, 0.0);
    const auto& m = source.manifest();
    fmt::print("{}: {} tokens in {} shard{} of {} bytes per token: every hash matches\n", *dir,
               m.tokens, m.shards.size(), m.shards.size() == 1 ? "" : "s", m.token_width);
    fmt::print("vocabulary:    {} pieces, id {}\n", m.vocab_size, m.vocabulary_id.hex());
    fmt::print("content hash:  {}\n", m.content_hash.hex());
  });
}

}  // namespace mlcp::app
