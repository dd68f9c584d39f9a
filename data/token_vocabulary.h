// A SentencePiece vocabulary (Kudo & Richardson 2018; Debian libsentencepiece-dev, reached
// through data/sentencepiece_module.h, which says why it is loaded apart): the
// tokenizer of token data. Its id is the BLAKE2b-256 of the model file's bytes — two files with
// the same id tokenize identically, and a shard records the id it was encoded with
// (docs/data-format.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"

namespace mlcp::data {

class TokenVocabulary {
 public:
  // Reads a SentencePiece model file. Throws UsageError naming the file when it cannot be read
  // or is not a SentencePiece model.
  static TokenVocabulary load(const std::string& path);
  // A model from its serialized bytes; `what` names it in errors.
  static TokenVocabulary fromBytes(std::string bytes, const std::string& what);

  TokenVocabulary(TokenVocabulary&&) noexcept;
  TokenVocabulary& operator=(TokenVocabulary&&) noexcept;
  ~TokenVocabulary();

  const Hash256& id() const { return id_; }
  int64_t size() const { return size_; }
  // The end-of-sentence piece (written after every line), or -1 when the model has none.
  int eosId() const { return eos_id_; }
  const std::string& bytes() const { return bytes_; }

  // Sets `ids` to the ids of `text` (reusing its storage); thread-safe (SentencePiece's Encode
  // is const). Throws UsageError when SentencePiece refuses the text.
  void encode(std::string_view text, std::vector<int>* ids) const;

 private:
  TokenVocabulary() = default;

  struct ProcessorDeleter {
    void operator()(void* processor) const;
  };
  // SentencePiece's processor, made by data/sentencepiece_module.h's module.
  std::unique_ptr<void, ProcessorDeleter> sp_;
  std::string bytes_;
  Hash256 id_;
  int64_t size_ = 0;
  int eos_id_ = -1;
};

// How `mlcp data prepare` trains a vocabulary (SentencePieceTrainer).
struct VocabularyTraining {
  int64_t vocab_size = 0;              // pieces, > 0
  std::string model_type = "unigram";  // unigram | bpe | char | word
  // Lines SentencePiece samples from the corpus to train on (input_sentence_size, shuffled
  // with a fixed seed); 0 = every line.
  int64_t sample_lines = 0;
  // Trainer threads. SentencePiece's unigram trainer gives another model on another thread
  // count (measured), so the default is 1: the vocabulary is a function of the corpus and flags.
  int threads = 1;
};

// Trains a vocabulary on the lines of the corpus at `corpus_path` (data/corpus_lines.h order)
// and returns the model file's bytes. Throws UsageError with SentencePiece's message when the
// trainer refuses (e.g. a vocabulary larger than the corpus allows).
std::string trainVocabulary(const std::string& corpus_path, const VocabularyTraining& options);

}  // namespace mlcp::data
