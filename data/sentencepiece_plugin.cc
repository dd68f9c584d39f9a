// libmlcp-sentencepiece.so: SentencePiece behind data/sentencepiece_module.h's function table.
// Built as a module that links only libsentencepiece(_train); see that header for why.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "data/sentencepiece_module.h"

namespace {

using sentencepiece::SentencePieceProcessor;

class Sentences : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(mlcp::data::spm::LineSource source) : source_(source) { Next(); }
  bool done() const override { return done_; }
  void Next() override { done_ = !source_.next(source_.context, &line_, &error_); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override {
    if (error_.empty()) return {};
    return {sentencepiece::util::StatusCode::kInternal, error_};
  }

 private:
  mlcp::data::spm::LineSource source_;
  std::string line_, error_;
  bool done_ = false;
};

void* load(const std::string& model, std::string* error) {
  auto sp = std::make_unique<SentencePieceProcessor>();
  const auto status = sp->LoadFromSerializedProto(model);
  if (!status.ok()) {
    *error = status.ToString();
    return nullptr;
  }
  return sp.release();
}

void destroy(void* p) { delete static_cast<SentencePieceProcessor*>(p); }
int pieceSize(const void* p) {
  return static_cast<const SentencePieceProcessor*>(p)->GetPieceSize();
}
int eosId(const void* p) { return static_cast<const SentencePieceProcessor*>(p)->eos_id(); }

bool encode(const void* p, std::string_view text, std::vector<int>* ids, std::string* error) {
  const auto status = static_cast<const SentencePieceProcessor*>(p)->Encode(text, ids);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

bool train(const std::unordered_map<std::string, std::string>& args, unsigned seed,
           mlcp::data::spm::LineSource lines, std::string* model, std::string* error) {
  sentencepiece::SetRandomGeneratorSeed(seed);
  Sentences sentences(lines);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &sentences, model);
  if (!status.ok()) *error = status.ToString();
  return status.ok();
}

constexpr mlcp::data::spm::Module kModule = {
    mlcp::data::spm::kModuleVersion, load, destroy, pieceSize, eosId, encode, train};

}  // namespace

extern "C" __attribute__((visibility("default"))) const mlcp::data::spm::Module*
mlcp_sentencepiece_module() {
  return &kModule;
}
