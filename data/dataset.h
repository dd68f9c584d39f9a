// A dataset is an indexable collection of examples held in memory. A batch is built from an
// explicit list of sample indices (the logical micro-batch), so its contents never depend on
// which rank builds it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlcp::data {

struct Batch {
  torch::Tensor input;   // model input, first dimension = batch
  torch::Tensor target;  // class ids (int64) or next-token ids (int64)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Batch batch(const std::vector<int64_t>& indices) const = 0;
  virtual std::string describe() const = 0;
};

// The training and held-out splits of a job's data.
struct DataSplits {
  std::shared_ptr<Dataset> train;
  std::shared_ptr<Dataset> eval;
  int64_t num_classes = 0;            // classification: classes; language model: vocabulary size
  double unigram_entropy_nats = 0.0;  // language model: entropy of the training bytes (baseline)
  // BLAKE2b-256 (hex) of the data's content as the loader read it — the bytes the job trains
  // and evaluates on, whatever the files are called or compressed as. Part of what a
  // checkpoint records about its program: a replay on other copies of the data checks it.
  std::string content_hash;
};

// Classes (classifier) or vocabulary size (language model) of a [data] kind, without loading
// the data. Token data ("tokens") keeps its vocabulary size in the prepared directory `path`
// (its tokens.json, docs/data-format.md; nothing else is read); the other kinds ignore `path`.
// Throws UsageError for an unknown kind, or for "tokens" without a readable `path`.
int64_t classCount(const std::string& kind, const std::string& path = "");

}  // namespace mlcp::data
