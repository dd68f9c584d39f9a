#include "data/text_corpus.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/digest.h"
#include "base/error.h"

namespace fs = std::filesystem;

namespace mlcp::data {
namespace {

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw UsageError("cannot read text file " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string readCorpus(const std::string& path) {
  std::string all;
  for (const auto& f : corpusFiles(path)) all += readAll(f);
  if (all.empty()) throw UsageError("text corpus " + path + " holds no text");
  return all;
}

class ByteWindows : public Dataset {
 public:
  ByteWindows(torch::Tensor bytes, int64_t context, int64_t limit, std::string name)
      : bytes_(std::move(bytes)), context_(context), name_(std::move(name)) {
    count_ = (bytes_.size(0) - 1) / context_;
    if (limit > 0) count_ = std::min(count_, limit);
  }
  int64_t size() const override { return count_; }
  Batch batch(const std::vector<int64_t>& indices) const override {
    auto input = torch::empty({static_cast<int64_t>(indices.size()), context_}, torch::kInt64);
    auto target = torch::empty_like(input);
    const auto* src = bytes_.data_ptr<int64_t>();
    auto* in = input.data_ptr<int64_t>();
    auto* tg = target.data_ptr<int64_t>();
    for (size_t r = 0; r < indices.size(); ++r) {
      const int64_t start = indices[r] * context_;
      std::copy(src + start, src + start + context_, in + r * context_);
      std::copy(src + start + 1, src + start + 1 + context_, tg + r * context_);
    }
    return {input, target};
  }
  std::string describe() const override {
    return name_ + " (" + std::to_string(count_) + " windows of " + std::to_string(context_) +
           " bytes)";
  }

 private:
  torch::Tensor bytes_;
  int64_t context_, count_ = 0;
  std::string name_;
};

}  // namespace

std::vector<std::string> corpusFiles(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {path};
  if (!fs::is_directory(path, ec)) throw UsageError("text corpus " + path + " does not exist");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const auto name = e.path().filename().string();
    const auto ext = e.path().extension().string();
    if (name.empty() || name[0] == '.' || ext == ".dat" || ext == ".u8" || e.is_symlink()) continue;
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  if (ec) throw UsageError("cannot list text corpus " + path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw UsageError("text corpus " + path + " holds no text files");
  return files;
}

DataSplits loadTextCorpus(const std::string& path, int64_t context, double holdout_fraction,
                          int64_t train_limit, int64_t eval_limit) {
  const std::string text = readCorpus(path);
  const auto n = static_cast<int64_t>(text.size());
  const auto n_eval = static_cast<int64_t>(std::floor(static_cast<double>(n) * holdout_fraction));
  const int64_t n_train = n - n_eval;
  if (n_train < 2 * (context + 1) || n_eval < context + 1) {
    throw UsageError("text corpus " + path + " (" + std::to_string(n) +
                     " bytes) is too small for context " + std::to_string(context));
  }
  auto all = torch::empty({n}, torch::kInt64);
  auto* p = all.data_ptr<int64_t>();
  std::vector<double> counts(kByteVocabulary, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = static_cast<unsigned char>(text[static_cast<size_t>(i)]);
    if (i < n_train) counts[static_cast<size_t>(p[i])] += 1.0;
  }
  double entropy = 0.0;
  for (double c : counts) {
    if (c > 0) entropy -= (c / n_train) * std::log(c / n_train);
  }
  DataSplits s;
  s.train = std::make_shared<ByteWindows>(all.slice(0, 0, n_train).clone(), context, train_limit,
                                          "text train");
  s.eval = std::make_shared<ByteWindows>(all.slice(0, n_train, n).clone(), context, eval_limit,
                                         "text held-out");
  s.num_classes = kByteVocabulary;
  s.unigram_entropy_nats = entropy;
  s.content_hash = blake2b256("text\n" + text).hex();
  return s;
}

}  // namespace mlcp::data
