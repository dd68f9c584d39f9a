#include "verify/checkpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/pause_point.h"
#include "verify/hdf5_handle.h"
#include "verify/merkle.h"

namespace mlcp::verify {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kShardFormat = "mlcp-checkpoint-shard";

hid_t fileType(DType d) {
  switch (d) {
    case DType::kFloat32:
      return H5T_IEEE_F32LE;
    case DType::kFloat64:
      return H5T_IEEE_F64LE;
    case DType::kInt64:
      return H5T_STD_I64LE;
    case DType::kInt32:
      return H5T_STD_I32LE;
    case DType::kUInt8:
      return H5T_STD_U8LE;
  }
  throw InvalidArgument("unknown dtype");
}

hid_t memType(DType d) {
  switch (d) {
    case DType::kFloat32:
      return H5T_NATIVE_FLOAT;
    case DType::kFloat64:
      return H5T_NATIVE_DOUBLE;
    case DType::kInt64:
      return H5T_NATIVE_INT64;
    case DType::kInt32:
      return H5T_NATIVE_INT32;
    case DType::kUInt8:
      return H5T_NATIVE_UINT8;
  }
  throw InvalidArgument("unknown dtype");
}

// Hash threads while writing: one core stays with the HDF5 writer.
int hashThreads() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 2 ? static_cast<int>(cores - 1) : 1;
}

// "step-" followed by the canonical (>= 8 digit, zero-padded) spelling of a step.
bool parseStepDirName(const std::string& name, int64_t* step) {
  const std::string prefix = "step-";
  if (name.size() < prefix.size() + 8 || name.compare(0, prefix.size(), prefix) != 0) return false;
  std::string digits = name.substr(prefix.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *step = std::stoll(digits);
  return checkpointDirName(*step) == name;
}

void removeAll(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw IoError(fmt::format("cannot remove {}: {}", p.string(), ec.message()));
}

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// ---- names and paths ------------------------------------------------------------------------

std::string checkpointDirName(int64_t step) {
  require(step >= 0, fmt::format("checkpoint step must be >= 0, got {}", step));
  return fmt::format("step-{:08d}", step);
}

std::string checkpointsRoot(const std::string& run_dir) { return run_dir + "/checkpoints"; }

std::string checkpointDir(const std::string& run_dir, int64_t step) {
  return checkpointsRoot(run_dir) + "/" + checkpointDirName(step);
}

std::string tmpCheckpointDir(const std::string& run_dir, int64_t step) {
  return checkpointsRoot(run_dir) + "/.tmp-" + checkpointDirName(step);
}

std::string shardFileName(int shard_index) {
  require(shard_index >= 0, fmt::format("shard index must be >= 0, got {}", shard_index));
  return fmt::format("shard-{:05d}.h5", shard_index);
}

std::string datasetPathFor(const std::string& name) { return "/" + name; }

void checkTensorName(const std::string& name) {
  auto bad = [&](const char* why) {
    throw InvalidArgument(fmt::format("tensor name '{}' is not valid: {}", name, why));
  };
  if (name.empty()) bad("it is empty");
  if (name.find('\0') != std::string::npos) bad("it contains a NUL byte");
  if (name.front() == '/' || name.back() == '/') bad("it starts or ends with '/'");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (part.empty()) bad("it has an empty component ('//')");
    if (part == "." || part == "..") bad("it has a '.' or '..' component");
    start = end + 1;
  }
}

TensorView int64Tensor(std::string name, const int64_t* values, size_t count, bool scalar) {
  require(!scalar || count == 1, "a scalar int64 tensor holds exactly one value");
  TensorView v;
  v.name = std::move(name);
  v.dtype = DType::kInt64;
  if (!scalar) v.shape = {static_cast<int64_t>(count)};
  v.data = values;
  v.bytes = count * sizeof(int64_t);
  return v;
}

TensorView bytesTensor(std::string name, const void* data, size_t bytes) {
  TensorView v;
  v.name = std::move(name);
  v.dtype = DType::kUInt8;
  v.shape = {static_cast<int64_t>(bytes)};
  v.data = data;
  v.bytes = bytes;
  return v;
}

// ---- writing --------------------------------------------------------------------------------

std::string beginCheckpoint(const std::string& run_dir, int64_t step) {
  std::string root = checkpointsRoot(run_dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", root, ec.message()));
  // Leftovers of crashed writes and replacements: never part of a committed checkpoint.
  for (const auto& d : fs::directory_iterator(root)) {
    std::string name = d.path().filename().string();
    if (name.rfind(".tmp-step-", 0) == 0 || name.rfind(".old-step-", 0) == 0) removeAll(d.path());
  }
  std::string tmp = tmpCheckpointDir(run_dir, step);
  fs::create_directory(tmp, ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", tmp, ec.message()));
  syncPath(root, true);
  return tmp;
}

std::vector<TensorEntry> writeShard(const std::string& tmp_dir, int shard_index,
                                    const std::vector<TensorView>& tensors) {
  silenceHdf5Errors();
  std::set<std::string> seen;
  for (const auto& t : tensors) {
    checkTensorName(t.name);
    checkView(t);
    if (!seen.insert(t.name).second) {
      throw InvalidArgument(fmt::format("tensor '{}' is given twice to one shard", t.name));
    }
  }
  std::error_code ec;
  fs::create_directories(tmp_dir, ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", tmp_dir, ec.message()));
  const std::string file_name = shardFileName(shard_index);
  const std::string path = tmp_dir + "/" + file_name;

  // Hash on other threads (one per core, across tensors) while HDF5 writes the same read-only
  // memory on this one. The future's destructor joins, so the views outlive the hashing even
  // when writing throws.
  std::future<std::vector<Hash256>> hashes =
      std::async(std::launch::async, [&tensors] { return hashTensors(tensors, hashThreads()); });

  std::vector<TensorEntry> entries;
  {
    H5Handle file = h5File(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                           fmt::format("cannot create checkpoint shard {}", path));
    writeStringAttribute(file.get(), "format", kShardFormat);
    writeInt64Attribute(file.get(), "format_version", kManifestFormatVersion);
    writeInt64Attribute(file.get(), "shard_index", shard_index);
    H5Handle lcpl = h5Plist(H5Pcreate(H5P_LINK_CREATE), "cannot create an HDF5 property list");
    h5check(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set intermediate groups");

    std::vector<H5Handle> datasets;
    for (const auto& t : tensors) {
      std::string dataset = datasetPathFor(t.name);
      std::string what =
          fmt::format("cannot write tensor '{}' to {} (dataset {})", t.name, path, dataset);
      H5Handle space;
      if (t.shape.empty()) {
        space = h5Space(H5Screate(H5S_SCALAR), what);
      } else {
        std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
        space =
            h5Space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), what);
      }
      H5Handle ds = h5Dataset(H5Dcreate2(file.get(), dataset.c_str(), fileType(t.dtype),
                                         space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                              what);
      if (t.bytes > 0) {
        h5check(H5Dwrite(ds.get(), memType(t.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data), what);
      }
      writeStringAttribute(ds.get(), "name", t.name);
      writeStringAttribute(ds.get(), "dtype", dtypeName(t.dtype));
      datasets.push_back(std::move(ds));
      entries.push_back(TensorEntry{t.name, t.dtype, t.shape, Hash256{}, file_name, dataset});
    }
    // Flush the element bytes and fsync them now, while the hashes are still being computed,
    // so the disk and the hash threads work at the same time; only the small attributes and
    // metadata written below remain for the final fsync.
    h5check(H5Fflush(file.get(), H5F_SCOPE_LOCAL),
            fmt::format("cannot flush checkpoint shard {}", path));
    syncPath(path, false);
    std::vector<Hash256> h = hashes.get();
    for (size_t i = 0; i < tensors.size(); ++i) {
      entries[i].hash = h[i];
      writeStringAttribute(datasets[i].get(), "hash", h[i].hex());
    }
    for (auto& ds : datasets) ds.close(fmt::format("cannot close a dataset of {}", path));
    file.close(fmt::format("cannot flush and close checkpoint shard {}", path));
  }
  syncPath(path, false);
  return entries;
}

CommitResult commitCheckpoint(const std::string& run_dir, int64_t step,
                              std::vector<TensorEntry> entries, const std::string& job_spec_text,
                              const std::string& plan_text, const KeyPair& key,
                              const ProgramInfo& program) {
  const std::string tmp = tmpCheckpointDir(run_dir, step);
  const std::string final_dir = checkpointDir(run_dir, step);
  const std::string root_dir = checkpointsRoot(run_dir);
  // 3a. Check the entries: unique names (merkleRoot also refuses duplicates), files present.
  std::set<std::string> files;
  for (const auto& e : entries) files.insert(e.file);
  for (const auto& f : files) {
    if (!fs::is_regular_file(tmp + "/" + f)) {
      throw IoError(fmt::format("cannot commit checkpoint step {}: shard file {} is missing in {}",
                                step, f, tmp));
    }
  }
  // 3b. Root and signed manifest.
  CheckpointManifest m;
  m.step = step;
  m.job_spec_text = job_spec_text;
  m.plan_text = plan_text;
  m.job_path = program.job_path;
  m.data_hash = program.data_hash;
  m.ops = program.ops;
  m.tensors = std::move(entries);
  std::vector<NamedHash> leaves;
  for (const auto& e : m.tensors) leaves.emplace_back(e.name, e.hash);
  m.root = merkleRoot(std::move(leaves));
  m.sign(key);
  // 3c. manifest.json, fsynced, then the folder's entries.
  writeFileDurably(tmp + "/" + kManifestFile, m.toJson());
  syncPath(tmp, true);
  pausePoint("checkpoint.manifest");
  // 3d. Publish: rename into place (moving aside an existing step-N first), fsync the parent.
  std::string old_dir;
  if (fs::exists(final_dir)) {
    old_dir = root_dir + "/.old-" + checkpointDirName(step);
    removeAll(old_dir);
    renamePath(final_dir, old_dir);
  }
  renamePath(tmp, final_dir);
  pausePoint("checkpoint.rename");
  syncPath(root_dir, true);
  if (!old_dir.empty()) removeAll(old_dir);
  return CommitResult{final_dir, std::move(m)};
}

// ---- reading --------------------------------------------------------------------------------

struct CheckpointReader::Files {
  std::map<std::string, H5Handle> open;
};

CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;
CheckpointReader& CheckpointReader::operator=(CheckpointReader&&) noexcept = default;
CheckpointReader::~CheckpointReader() = default;

CheckpointReader CheckpointReader::open(const std::string& checkpoint_dir,
                                        const ReaderOptions& options) {
  std::string path = checkpoint_dir + "/" + kManifestFile;
  if (!fs::is_regular_file(path)) {
    throw VerificationError(
        fmt::format("checkpoint {} has no {} (it was never committed, or the file was removed)",
                    checkpoint_dir, kManifestFile));
  }
  std::string text = readWholeFile(path);
  CheckpointReader r;
  r.dir_ = checkpoint_dir;
  try {
    r.manifest_ = CheckpointManifest::fromJson(text);
  } catch (const VerificationError& e) {
    throw VerificationError(fmt::format("{}: {}", path, e.what()));
  }
  const CheckpointManifest& m = r.manifest_;
  try {
    m.verifySignature(options.expected_signer);
  } catch (const VerificationError& e) {
    throw VerificationError(fmt::format("{}: {}", path, e.what()));
  }
  Hash256 root = m.computeRoot();
  if (root != m.root) {
    throw VerificationError(
        fmt::format("{}: the Merkle root of its tensors is {}, manifest says {}", path, root.hex(),
                    m.root.hex()));
  }
  std::string base = fs::path(checkpoint_dir).lexically_normal().filename().string();
  if (base.empty())
    base = fs::path(checkpoint_dir).lexically_normal().parent_path().filename().string();
  int64_t dir_step = -1;
  if (parseStepDirName(base, &dir_step) && dir_step != m.step) {
    throw VerificationError(
        fmt::format("{}: manifest is for step {}, but the folder is {}", path, m.step, base));
  }
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorEntry& e = m.tensors[i];
    if (e.file.empty() || e.file.find('/') != std::string::npos || e.file == "." ||
        e.file == "..") {
      throw VerificationError(
          fmt::format("{}: tensor '{}' names file '{}', which is not a plain "
                      "file name in the checkpoint folder",
                      path, e.name, e.file));
    }
    r.index_[e.name] = i;
  }
  r.files_ = std::make_unique<Files>();
  return r;
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  for (const auto& [name, i] : index_) out.push_back(name);
  return out;
}

bool CheckpointReader::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorEntry& CheckpointReader::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    throw InvalidArgument(fmt::format("checkpoint {} has no tensor '{}'", dir_, name));
  }
  return manifest_.tensors[it->second];
}

void CheckpointReader::readRaw(const TensorEntry& e, void* dst, size_t bytes) const {
  silenceHdf5Errors();
  std::string where = fmt::format("tensor '{}' in {}/{}", e.name, dir_, e.file);
  try {
    auto it = files_->open.find(e.file);
    if (it == files_->open.end()) {
      std::string path = dir_ + "/" + e.file;
      H5Handle f = h5File(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                          fmt::format("cannot open shard {}", path));
      it = files_->open.emplace(e.file, std::move(f)).first;
    }
    std::string what = fmt::format("cannot read dataset {}", e.dataset);
    H5Handle ds = h5Dataset(H5Dopen2(it->second.get(), e.dataset.c_str(), H5P_DEFAULT), what);
    H5Handle type = h5Type(H5Dget_type(ds.get()), what);
    if (h5check(H5Tequal(type.get(), fileType(e.dtype)), what) <= 0) {
      throw VerificationError(
          fmt::format("{}: the dataset's element type is not {} as the "
                      "manifest says",
                      where, dtypeName(e.dtype)));
    }
    H5Handle space = h5Space(H5Dget_space(ds.get()), what);
    int rank = h5check(H5Sget_simple_extent_ndims(space.get()), what);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0) h5check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), what);
    std::vector<int64_t> shape(dims.begin(), dims.end());
    if (shape != e.shape) {
      throw VerificationError(fmt::format("{} has shape [{}], manifest says [{}]", where,
                                          fmt::join(shape, ", "), fmt::join(e.shape, ", ")));
    }
    if (bytes > 0)
      h5check(H5Dread(ds.get(), memType(e.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, dst), what);
  } catch (const IoError& ex) {
    throw VerificationError(fmt::format("{} cannot be read: {}", where, ex.what()));
  }
}

void CheckpointReader::checkHash(const TensorEntry& e, const void* data, size_t bytes) const {
  Hash256 h = hashTensor(e.dtype, e.shape, data, bytes);
  if (h != e.hash) {
    throw VerificationError(fmt::format("tensor '{}' in {}/{} has hash {}, manifest says {}",
                                        e.name, dir_, e.file, h.hex(), e.hash.hex()));
  }
}

LoadedTensor CheckpointReader::read(const std::string& name) const {
  const TensorEntry& e = entry(name);
  LoadedTensor t;
  t.name = e.name;
  t.dtype = e.dtype;
  t.shape = e.shape;
  t.bytes.resize(static_cast<size_t>(numElements(e.shape)) * dtypeSize(e.dtype));
  readRaw(e, t.bytes.data(), t.bytes.size());
  checkHash(e, t.bytes.data(), t.bytes.size());
  return t;
}

void CheckpointReader::readInto(const std::string& name, void* dst, size_t bytes) const {
  const TensorEntry& e = entry(name);
  size_t expected = static_cast<size_t>(numElements(e.shape)) * dtypeSize(e.dtype);
  require(bytes == expected,
          fmt::format("readInto('{}'): {} bytes given, the tensor has {}", name, bytes, expected));
  readRaw(e, dst, bytes);
  checkHash(e, dst, bytes);
}

void CheckpointReader::readAllInto(const std::vector<ReadRequest>& requests) const {
  for (const auto& q : requests) {
    const TensorEntry& e = entry(q.name);
    size_t expected = static_cast<size_t>(numElements(e.shape)) * dtypeSize(e.dtype);
    require(q.bytes == expected, fmt::format("readAllInto('{}'): {} bytes given, the tensor has {}",
                                             q.name, q.bytes, expected));
  }
  // Pipeline: this thread reads request i while up to `threads` earlier ones hash.
  const size_t threads = static_cast<size_t>(std::max(1, hashThreads()));
  std::vector<std::future<void>> pending(requests.size());
  size_t oldest = 0;
  std::exception_ptr first_error;
  auto collect = [&](size_t i) {
    try {
      pending[i].get();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    const TensorEntry& e = entry(requests[i].name);
    readRaw(e, requests[i].dst, requests[i].bytes);
    while (i - oldest >= threads) collect(oldest++);
    pending[i] = std::async(std::launch::async,
                            [this, &e, &q = requests[i]] { checkHash(e, q.dst, q.bytes); });
  }
  while (oldest < requests.size()) collect(oldest++);
  if (first_error) std::rethrow_exception(first_error);
}

void CheckpointReader::verifyAll() const {
  // In windows of a few tensors, so memory stays bounded for checkpoints larger than RAM.
  const size_t window = static_cast<size_t>(std::max(1, hashThreads())) + 1;
  const auto& all = manifest_.tensors;
  for (size_t start = 0; start < all.size(); start += window) {
    size_t end = std::min(all.size(), start + window);
    std::vector<std::vector<uint8_t>> buffers(end - start);
    std::vector<ReadRequest> requests;
    for (size_t i = start; i < end; ++i) {
      auto& b = buffers[i - start];
      b.resize(static_cast<size_t>(numElements(all[i].shape)) * dtypeSize(all[i].dtype));
      requests.push_back(ReadRequest{all[i].name, b.data(), b.size()});
    }
    readAllInto(requests);
  }
}

// ---- finding checkpoints --------------------------------------------------------------------

std::vector<CheckpointInfo> listCheckpoints(const std::string& run_dir) {
  std::vector<CheckpointInfo> out;
  std::string root = checkpointsRoot(run_dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& d : fs::directory_iterator(root)) {
    int64_t step = 0;
    std::string name = d.path().filename().string();
    if (d.is_directory() && parseStepDirName(name, &step)) {
      out.push_back(CheckpointInfo{step, d.path().string()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.step < b.step; });
  return out;
}

LatestCheckpoint latestValidCheckpoint(const std::string& run_dir, const ReaderOptions& options,
                                       bool verify_data) {
  LatestCheckpoint result;
  std::string root = checkpointsRoot(run_dir);
  std::error_code ec;
  if (fs::is_directory(root, ec)) {
    for (const auto& d : fs::directory_iterator(root)) {
      std::string name = d.path().filename().string();
      if (name.rfind(".tmp-step-", 0) == 0) {
        result.notes.push_back(
            fmt::format("{}: ignored: an uncommitted (partial) checkpoint", name));
      }
    }
  }
  std::vector<CheckpointInfo> all = listCheckpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      CheckpointReader r = CheckpointReader::open(it->dir, options);
      if (verify_data) r.verifyAll();
      result.checkpoint = *it;
      result.root = r.root();
      break;
    } catch (const Error& e) {
      result.notes.push_back(
          fmt::format("{}: skipped: {}", fs::path(it->dir).filename().string(), e.what()));
    }
  }
  return result;
}

}  // namespace mlcp::verify
