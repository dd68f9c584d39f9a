#include "jobs/memory_estimate.h"

#include <fmt/format.h>

#include <limits>

namespace mlcp::jobs {
namespace {

constexpr int64_t kOverflow = std::numeric_limits<int64_t>::max();

// a * b + c with saturation at kOverflow (all non-negative).
int64_t mulAdd(int64_t a, int64_t b, int64_t c = 0) {
  int64_t p = 0, s = 0;
  if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(a, b, &p) ||
      __builtin_add_overflow(p, c, &s)) {
    return kOverflow;
  }
  return s;
}

int64_t add(int64_t a, int64_t b) {
  int64_t s = 0;
  return a == kOverflow || b == kOverflow || __builtin_add_overflow(a, b, &s) ? kOverflow : s;
}

}  // namespace

int64_t parameterCount(const ModelSpec& m, int64_t num_classes) {
  int64_t n = 0;
  if (m.kind == "mlp") {
    int64_t in = 28 * 28;
    for (int64_t width : m.hidden) {
      n = add(n, mulAdd(in, width, width));  // weight + bias
      in = width;
    }
    return add(n, mulAdd(in, num_classes, num_classes));
  }
  if (m.kind == "cnn") {
    int64_t channels = 1, size = 28;
    for (int64_t c : m.channels) {
      n = add(n, mulAdd(mulAdd(9, channels), c, c));  // 3x3 kernels + bias
      channels = c;
      size /= 2;
    }
    return add(n, mulAdd(mulAdd(channels, size * size), num_classes, num_classes));
  }
  if (m.kind == "stack") {
    int64_t in = 1, size = 28;  // conv channels of the image, then flattened features
    bool flat = false;
    for (const StackLayerSpec& l : m.stack) {
      if (l.type == "conv") {
        n = add(n, mulAdd(mulAdd(9, in), l.width, l.width));
        in = l.width;
        size /= 2;
      } else {
        if (!flat) in = mulAdd(in, size * size);
        flat = true;
        n = add(n, mulAdd(in, l.width, l.width));
        in = l.width;
      }
    }
    if (!flat) in = mulAdd(in, size * size);
    return add(n, mulAdd(in, num_classes, num_classes));
  }
  if (m.kind == "gpt") {
    const int64_t d = m.d_model, h = mulAdd(m.ffn_mult, d);
    n = mulAdd(add(num_classes, m.context), d);                 // token and position tables
    int64_t block = mulAdd(4, d);                               // two LayerNorms
    block = add(block, mulAdd(d, mulAdd(3, d), mulAdd(3, d)));  // qkv
    block = add(block, mulAdd(d, d, d));                        // proj
    block = add(block, mulAdd(d, h, h));                        // fc1
    block = add(block, mulAdd(h, d, d));                        // fc2
    n = add(n, mulAdd(m.layers, block));
    return add(n, add(mulAdd(2, d), mulAdd(d, num_classes)));  // final LayerNorm, head
  }
  return 0;
}

MemoryEstimate estimateMemory(const JobSpec& spec, int world_size, int64_t num_classes,
                              int64_t parameters) {
  MemoryEstimate e;
  e.parameters = parameters >= 0 ? parameters : parameterCount(spec.model, num_classes);
  const int64_t model_ranks = std::max<int64_t>(1, spec.parallel.pp * spec.parallel.tp);
  const int64_t dp = std::max<int64_t>(1, world_size / model_ranks);
  const int64_t local_micro_batches = (spec.train.micro_batches + dp - 1) / dp;
  const int64_t optimizer =
      spec.optimizer.kind == "adamw" ? 2 : (spec.optimizer.momentum > 0 ? 1 : 0);
  const int64_t snapshot = spec.checkpoint.every > 0 ? 1 : 0;
  const int64_t copies = 1 + local_micro_batches + snapshot;
  const int64_t mine =
      e.parameters == kOverflow ? kOverflow : (e.parameters + model_ranks - 1) / model_ranks;
  const int64_t state_shards = spec.parallel.shard_optimizer ? dp : 1;
  e.optimizer_bytes = mulAdd(mulAdd(mine, 4), optimizer);
  if (e.optimizer_bytes != kOverflow)
    e.optimizer_bytes = (e.optimizer_bytes + state_shards - 1) / state_shards;
  e.bytes_per_rank = add(mulAdd(mulAdd(mine, 4), copies), e.optimizer_bytes);
  e.breakdown = fmt::format(
      "{} parameters{} x 4 bytes x (1 parameter + {} gradients, one per local micro-batch, + {} "
      "optimizer state{}{})",
      e.parameters == kOverflow ? std::string("more than 2^63") : std::to_string(e.parameters),
      model_ranks > 1 ? fmt::format(" / {} (pp x tp)", model_ranks) : std::string(),
      local_micro_batches, optimizer,
      state_shards > 1 ? fmt::format(" / {} (shard_optimizer over dp)", state_shards) : "",
      snapshot ? " + 1 checkpoint snapshot" : "");
  return e;
}

}  // namespace mlcp::jobs
