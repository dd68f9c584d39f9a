#include "verify/hash.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "base/error.h"
#include "base/hex.h"
#include "base/sodium.h"

// The canonical bytes are little-endian; this build writes host memory as is.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mlcp verify assumes a little-endian host (canonical tensor bytes are little-endian)"
#endif

namespace mlcp::verify {
namespace {}  // namespace

const char* dtypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kUInt8:
      return "uint8";
  }
  throw InvalidArgument(fmt::format("unknown dtype code {}", static_cast<int>(dtype)));
}

DType dtypeFromName(std::string_view name) {
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kUInt8}) {
    if (name == dtypeName(d)) return d;
  }
  throw InvalidArgument(
      fmt::format("unknown dtype '{}' (expected float32, float64, int64, int32 or uint8)", name));
}

size_t dtypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
      return 8;
    case DType::kInt64:
      return 8;
    case DType::kInt32:
      return 4;
    case DType::kUInt8:
      return 1;
  }
  throw InvalidArgument(fmt::format("unknown dtype code {}", static_cast<int>(dtype)));
}

int64_t numElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw InvalidArgument(fmt::format("a tensor dimension is negative ({})", d));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw InvalidArgument("a tensor's element count overflows int64");
    }
    n *= d;
  }
  return n;
}

void checkView(const TensorView& view) {
  int64_t n = numElements(view.shape);
  size_t expected = static_cast<size_t>(n) * dtypeSize(view.dtype);
  if (view.bytes != expected) {
    throw InvalidArgument(fmt::format(
        "tensor '{}': {} bytes given, but its shape [{}] of {} needs {} bytes", view.name,
        view.bytes, fmt::join(view.shape, ", "), dtypeName(view.dtype), expected));
  }
  if (view.data == nullptr && view.bytes != 0) {
    throw InvalidArgument(fmt::format("tensor '{}' has a null data pointer", view.name));
  }
}

std::string canonicalTensorHeader(DType dtype, const std::vector<int64_t>& shape) {
  std::string name = dtypeName(dtype);
  std::string out;
  out.push_back(static_cast<char>(name.size()));
  out += name;
  auto le64 = [&out](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  le64(shape.size());
  for (int64_t d : shape) le64(static_cast<uint64_t>(d));
  return out;
}

Hash256 hashTensor(DType dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes) {
  Blake2b256 h;
  h.update(canonicalTensorHeader(dtype, shape));
  h.update(data, bytes);
  return h.finish();
}

Hash256 hashTensor(const TensorView& view) {
  checkView(view);
  return hashTensor(view.dtype, view.shape, view.data, view.bytes);
}

std::vector<Hash256> hashTensors(const std::vector<TensorView>& views, int threads) {
  for (const auto& v : views) checkView(v);
  std::vector<Hash256> out(views.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), views.size()));
  if (threads <= 1) {
    for (size_t i = 0; i < views.size(); ++i) out[i] = hashTensor(views[i]);
    return out;
  }
  std::vector<size_t> order(views.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return views[a].bytes > views[b].bytes; });
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto work = [&](size_t t) {
    try {
      for (size_t k = next++; k < order.size(); k = next++)
        out[order[k]] = hashTensor(views[order[k]]);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, static_cast<size_t>(t));
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

}  // namespace mlcp::verify
