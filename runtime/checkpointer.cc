#include "runtime/checkpointer.h"

#include <filesystem>

#include <fmt/format.h>

#include "runtime/error.h"

namespace mlcp::runtime {

using collectives::DataType;
using collectives::ReduceOp;

verify::DType dtypeOf(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return verify::DType::kFloat32;
    case torch::kFloat64: return verify::DType::kFloat64;
    case torch::kInt64: return verify::DType::kInt64;
    case torch::kInt32: return verify::DType::kInt32;
    case torch::kUInt8: return verify::DType::kUInt8;
    default: throw InvalidArgument(std::string("no checkpoint dtype for ") + c10::toString(t.scalar_type()));
  }
}

namespace {

torch::ScalarType scalarTypeOf(verify::DType d) {
  switch (d) {
    case verify::DType::kFloat32: return torch::kFloat32;
    case verify::DType::kFloat64: return torch::kFloat64;
    case verify::DType::kInt64: return torch::kInt64;
    case verify::DType::kInt32: return torch::kInt32;
    case verify::DType::kUInt8: return torch::kUInt8;
  }
  throw InvalidArgument("unknown dtype");
}

}  // namespace

std::vector<std::string> allgatherStrings(collectives::Communicator& comm, const std::string& mine,
                                          const collectives::CollectiveOptions& opts) {
  int64_t len = static_cast<int64_t>(mine.size());
  comm.allreduce(&len, 1, DataType::kInt64, ReduceOp::kMax, opts);
  // Each slot: 8 bytes of length, then the padded text.
  const int64_t slot = len + 8;
  std::string send(static_cast<size_t>(slot), '\0');
  const int64_t my_len = static_cast<int64_t>(mine.size());
  std::memcpy(send.data(), &my_len, 8);
  std::memcpy(send.data() + 8, mine.data(), mine.size());
  std::string all(static_cast<size_t>(slot * comm.size()), '\0');
  comm.allgather(send.data(), all.data(), slot, DataType::kUInt8, opts);
  std::vector<std::string> out;
  for (int r = 0; r < comm.size(); ++r) {
    int64_t n = 0;
    std::memcpy(&n, all.data() + r * slot, 8);
    out.push_back(all.substr(static_cast<size_t>(r * slot + 8), static_cast<size_t>(n)));
  }
  return out;
}

Checkpointer::Checkpointer(std::string run_dir, collectives::Communicator& comm,
                           verify::KeyPair key, std::string job_text, std::string job_path,
                           std::string plan_text, collectives::CollectiveOptions opts)
    : run_dir_(std::move(run_dir)),
      comm_(comm),
      key_(std::move(key)),
      job_text_(std::move(job_text)),
      job_path_(std::move(job_path)),
      plan_text_(std::move(plan_text)),
      opts_(opts) {}

verify::Hash256 Checkpointer::save(int64_t step, const std::vector<NamedTensor>& state) {
  // 1.
  std::string tmp;
  if (comm_.rank() == 0) tmp = verify::beginCheckpoint(run_dir_, step);
  comm_.barrier(opts_);
  if (comm_.rank() != 0) tmp = verify::tmpCheckpointDir(run_dir_, step);
  // 2.
  std::vector<verify::TensorView> mine;
  for (size_t i = 0; i < state.size(); ++i) {
    const auto& t = state[i].tensor;
    mine.push_back(verify::TensorView{state[i].name, dtypeOf(t),
                                      std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                                      t.data_ptr(), static_cast<size_t>(t.nbytes())});
  }
  std::vector<verify::TensorEntry> entries;
  if (!mine.empty()) entries = verify::writeShard(tmp, comm_.rank(), mine);
  // 3.
  const auto gathered = allgatherStrings(comm_, verify::encodeEntries(entries), opts_);
  std::string root_hex(64, '0');
  if (comm_.rank() == 0) {
    std::vector<verify::TensorEntry> all;
    for (const auto& text : gathered) {
      auto part = verify::decodeEntries(text);
      all.insert(all.end(), part.begin(), part.end());
    }
    // The replay command reads the job's path after "source ".
    const std::string plan = fmt::format("{}; source {}", plan_text_, job_path_);
    auto result = verify::commitCheckpoint(run_dir_, step, std::move(all), job_text_, plan, key_);
    root_hex = result.manifest.root.hex();
  }
  comm_.broadcast(root_hex.data(), 64, DataType::kUInt8, 0, opts_);
  return verify::Hash256::fromHex(root_hex);
}

torch::Tensor readCheckpointTensor(const verify::CheckpointReader& reader, const std::string& name) {
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
