#include "data/token_vocabulary.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "base/error.h"
#include "data/corpus_lines.h"
#include "data/sentencepiece_module.h"

namespace mlcp::data {
namespace {

// SentencePiece samples training lines with its own generator; a fixed seed makes the
// vocabulary a function of the corpus and the flags (the library's default seed is random).
constexpr unsigned kTrainerSeed = 0x6d6c6370;  // "mlcp"

// Feeds the trainer the corpus lines in document order (a spm::LineSource over CorpusLines).
bool nextCorpusLine(void* context, std::string* line, std::string* error) {
  try {
    return static_cast<CorpusLines*>(context)->next(line);
  } catch (const Error& e) {
    *error = e.what();
    return false;
  }
}

}  // namespace

TokenVocabulary TokenVocabulary::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read SentencePiece model file {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw UsageError(fmt::format("cannot read SentencePiece model file {}", path));
  return fromBytes(ss.str(), path);
}

TokenVocabulary TokenVocabulary::fromBytes(std::string bytes, const std::string& what) {
  const spm::Module& sp = spm::sentencePiece();
  TokenVocabulary v;
  std::string error;
  v.sp_.reset(sp.load(bytes, &error));
  if (!v.sp_ || sp.pieceSize(v.sp_.get()) <= 0) {
    throw UsageError(fmt::format("{} is not a SentencePiece model ({})", what,
                                 v.sp_ ? "it has no pieces" : error));
  }
  v.id_ = blake2b256(bytes);
  v.bytes_ = std::move(bytes);
  v.size_ = sp.pieceSize(v.sp_.get());
  v.eos_id_ = sp.eosId(v.sp_.get());
  return v;
}

void TokenVocabulary::ProcessorDeleter::operator()(void* processor) const {
  spm::sentencePiece().destroy(processor);
}

TokenVocabulary::TokenVocabulary(TokenVocabulary&&) noexcept = default;
TokenVocabulary& TokenVocabulary::operator=(TokenVocabulary&&) noexcept = default;
TokenVocabulary::~TokenVocabulary() = default;

void TokenVocabulary::encode(std::string_view text, std::vector<int>* ids) const {
  std::string error;
  if (!spm::sentencePiece().encode(sp_.get(), text, ids, &error)) {
    throw UsageError(fmt::format("SentencePiece cannot encode a line: {}", error));
  }
}

std::string trainVocabulary(const std::string& corpus_path, const VocabularyTraining& o) {
  require(o.vocab_size > 0 && o.threads > 0 && o.sample_lines >= 0, "bad vocabulary options");
  std::unordered_map<std::string, std::string> args = {
      {"vocab_size", std::to_string(o.vocab_size)},
      {"model_type", o.model_type},
      {"num_threads", std::to_string(o.threads)},
      {"minloglevel", "1"},  // SentencePiece's progress log is INFO; keep warnings and errors
  };
  if (o.sample_lines > 0) {
    args["input_sentence_size"] = std::to_string(o.sample_lines);
    args["shuffle_input_sentence"] = "true";
  }
  CorpusLines lines(corpus_path);
  std::string model, error;
  if (!spm::sentencePiece().train(args, kTrainerSeed, {&lines, nextCorpusLine}, &model, &error)) {
    throw UsageError(
        fmt::format("SentencePiece could not train a vocabulary of {} pieces on {}: {}",
                    o.vocab_size, corpus_path, error));
  }
  return model;
}

}  // namespace mlcp::data
