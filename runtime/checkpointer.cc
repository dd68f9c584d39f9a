#include "runtime/checkpointer.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/pause_point.h"
#include "collectives/string_gather.h"

namespace mlcp::runtime {

using collectives::DataType;
using collectives::ReduceOp;

verify::DType dtypeOf(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return verify::DType::kFloat32;
    case torch::kFloat64:
      return verify::DType::kFloat64;
    case torch::kInt64:
      return verify::DType::kInt64;
    case torch::kInt32:
      return verify::DType::kInt32;
    case torch::kUInt8:
      return verify::DType::kUInt8;
    default:
      throw InvalidArgument(std::string("no checkpoint dtype for ") +
                            c10::toString(t.scalar_type()));
  }
}

namespace {

torch::ScalarType scalarTypeOf(verify::DType d) {
  switch (d) {
    case verify::DType::kFloat32:
      return torch::kFloat32;
    case verify::DType::kFloat64:
      return torch::kFloat64;
    case verify::DType::kInt64:
      return torch::kInt64;
    case verify::DType::kInt32:
      return torch::kInt32;
    case verify::DType::kUInt8:
      return torch::kUInt8;
  }
  throw InvalidArgument("unknown dtype");
}

}  // namespace

Checkpointer::Checkpointer(std::string run_dir, collectives::Communicator& comm,
                           verify::KeyPair key, std::string job_text, verify::ProgramInfo program,
                           std::string plan_text, collectives::CollectiveOptions opts, int64_t keep)
    : run_dir_(std::move(run_dir)),
      comm_(comm),
      key_(std::move(key)),
      job_text_(std::move(job_text)),
      plan_text_(std::move(plan_text)),
      program_(std::move(program)),
      opts_(opts),
      keep_(keep) {}

// An uncommitted checkpoint's files stay in its .tmp folder, which the next run's first
// checkpoint (verify::beginCheckpoint) removes; listCheckpoints never counts them. The worker's
// destructor finishes a shard or commit still running.
Checkpointer::~Checkpointer() = default;

verify::Hash256 Checkpointer::save(int64_t step, const std::vector<NamedTensor>& state) {
  begin(step, state);
  return finish();
}

void Checkpointer::begin(int64_t step, std::vector<NamedTensor> state) {
  require(!inFlight(),
          fmt::format("Checkpointer: checkpoint {} begun while {} is in flight", step, step_));
  // 1. Rank 0 creates the folder before any rank writes into it. The first time it also removes
  // what crashed runs left behind; later, nothing can have left anything (one in flight at once).
  std::string tmp = verify::tmpCheckpointDir(run_dir_, step);
  if (comm_.rank() == 0) {
    if (!prepared_) {
      verify::beginCheckpoint(run_dir_, step);
    } else {
      std::error_code ec;
      std::filesystem::create_directory(tmp, ec);
      if (ec) throw IoError(fmt::format("cannot create {}: {}", tmp, ec.message()));
    }
  }
  prepared_ = true;
  comm_.barrier(opts_);
  // 2. In the background: the snapshot (private copies: the trainer updates the live tensors as
  // soon as waitForSnapshot() returns), then the shard.
  auto snapshot_taken = std::make_shared<std::promise<void>>();
  snapshot_ = snapshot_taken->get_future().share();
  const int shard_index = comm_.rank();
  shard_ = worker_.submit([tmp, shard_index, live = std::move(state), snapshot_taken] {
    std::vector<NamedTensor> copies;
    try {
      for (const auto& e : live) {
        auto src = e.tensor.detach().contiguous();
        auto copy = torch::empty(src.sizes(), src.options());
        std::memcpy(copy.data_ptr(), src.data_ptr(), static_cast<size_t>(src.nbytes()));
        copies.push_back({e.name, copy});
      }
    } catch (...) {
      snapshot_taken->set_value();
      throw;
    }
    snapshot_taken->set_value();
    pausePoint("checkpoint.snapshot");
    std::vector<verify::TensorView> views;
    for (const auto& e : copies) {
      const auto& t = e.tensor;
      views.push_back(verify::TensorView{e.name, dtypeOf(t),
                                         std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                                         t.data_ptr(), static_cast<size_t>(t.nbytes())});
    }
    std::vector<verify::TensorEntry> entries;
    if (!views.empty()) entries = verify::writeShard(tmp, shard_index, views);
    pausePoint("checkpoint.shard");
    return verify::encodeEntries(entries);
  });
  step_ = step;
  phase_ = Phase::kWriting;
}

void Checkpointer::waitForSnapshot() {
  if (snapshot_.valid()) snapshot_.wait();
}

void Checkpointer::pruneOldCheckpoints() const {
  if (keep_ <= 0) return;
  const auto all = verify::listCheckpoints(run_dir_);  // oldest first
  for (size_t i = 0; i + static_cast<size_t>(keep_) < all.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove_all(all[i].dir, ec);
    if (ec)
      throw IoError(fmt::format("cannot delete old checkpoint {} (checkpoint.keep = {}): {}",
                                all[i].dir, keep_, ec.message()));
  }
}

bool Checkpointer::localReady() const {
  auto done = [](const auto& f) {
    return !f.valid() || f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  switch (phase_) {
    case Phase::kIdle:
      return true;
    case Phase::kWriting:
      return done(shard_);
    case Phase::kCommitting:
      return done(commit_);
  }
  return true;
}

std::optional<verify::Hash256> Checkpointer::advance() {
  require(inFlight(), "Checkpointer: advance() without a checkpoint in flight");
  const int64_t step = step_;
  if (phase_ == Phase::kWriting) {
    // b. Each rank sends "+" and its entries, or "-" and why its shard failed, so that every
    // rank learns of a failure and none waits for a rank that gave up.
    std::string mine;
    try {
      mine = "+" + shard_.get();
    } catch (const std::exception& e) {
      mine = std::string("-") + e.what();
    }
    const auto gathered = collectives::allgatherStrings(comm_, mine, opts_);
    for (size_t r = 0; r < gathered.size(); ++r) {
      if (gathered[r].empty() || gathered[r][0] != '+') {
        phase_ = Phase::kIdle;
        throw IoError(fmt::format("checkpoint {}: rank {} could not write its shard: {}", step, r,
                                  gathered[r].empty() ? "no reply" : gathered[r].substr(1)));
      }
    }
    if (comm_.rank() == 0) {
      std::vector<verify::TensorEntry> all;
      for (const auto& text : gathered) {
        auto part = verify::decodeEntries(text.substr(1));
        all.insert(all.end(), part.begin(), part.end());
      }
      commit_ = worker_.submit([this, step, all = std::move(all)]() mutable {
        auto root = verify::commitCheckpoint(run_dir_, step, std::move(all), job_text_, plan_text_,
                                             key_, program_)
                        .manifest.root.hex();
        pruneOldCheckpoints();
        return root;
      });
    }
    phase_ = Phase::kCommitting;
    return std::nullopt;
  }
  // c. Rank 0 tells every rank the root, or that its commit failed.
  std::string root_hex(64, '0');
  std::exception_ptr failure;
  if (comm_.rank() == 0) {
    try {
      root_hex = commit_.get();
    } catch (...) {
      failure = std::current_exception();
      root_hex.assign(64, 'x');
    }
  }
  phase_ = Phase::kIdle;
  comm_.broadcast(root_hex.data(), 64, DataType::kUInt8, 0, opts_);
  if (failure) std::rethrow_exception(failure);
  if (root_hex[0] == 'x') {
    throw IoError(
        fmt::format("checkpoint {}: rank 0 could not commit it (its error is above)", step));
  }
  return verify::Hash256::fromHex(root_hex);
}

verify::Hash256 Checkpointer::finish() {
  for (;;) {
    if (auto root = advance()) return *root;
  }
}

void Checkpointer::setPublisher(
    std::function<void(int64_t step, const verify::Hash256& root)> publisher) {
  publisher_ = std::move(publisher);
}

void Checkpointer::setOnCommitted(
    std::function<void(int64_t step, const verify::Hash256& root)> listener) {
  on_committed_ = std::move(listener);
}

void Checkpointer::committed(int64_t step, const verify::Hash256& root) {
  last_committed_ = step;
  if (publisher_) {
    std::exception_ptr failure;
    if (comm_.rank() == 0) {
      try {
        publisher_(step, root);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    int32_t failed = failure ? 1 : 0;
    comm_.allreduce(&failed, 1, DataType::kInt32, ReduceOp::kMax, opts_);
    if (failure) std::rethrow_exception(failure);
    if (failed != 0) {
      throw ChainError(
          fmt::format("rank 0 could not publish checkpoint {} (its error is above)", step));
    }
  }
  if (on_committed_) on_committed_(step, root);
}

void Checkpointer::start(int64_t step, std::vector<NamedTensor> mine) {
  commit();  // one in flight at a time
  begin(step, std::move(mine));
}

void Checkpointer::poll(bool all_ready) {
  if (!inFlight() || !all_ready) return;
  const int64_t step = step_;
  if (auto root = advance()) committed(step, *root);
}

void Checkpointer::commit() {
  if (!inFlight()) return;
  const int64_t step = step_;
  committed(step, finish());
}

torch::Tensor readCheckpointTensor(const verify::CheckpointReader& reader,
                                   const std::string& name) {
  if (!reader.contains(name)) return {};
  const auto& e = reader.entry(name);
  auto t = torch::empty(e.shape, scalarTypeOf(e.dtype));
  reader.readInto(name, t.data_ptr(), static_cast<size_t>(t.nbytes()));
  return t;
}

verify::KeyPair loadOrCreateNodeKey(const std::string& key_file, bool announce) {
  if (!key_file.empty()) return verify::KeyPair::load(key_file);
  const std::string path = verify::defaultKeyPath();
  if (std::filesystem::exists(path)) return verify::KeyPair::load(path);
  auto key = verify::KeyPair::generate();
  key.save(path, false);
  if (announce) {
    fmt::print("mlcp: created node key {} (public {})\n", path, key.publicKeyHex());
  }
  return key;
}

}  // namespace mlcp::runtime
