#include "ops/isa.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "base/error.h"
#include "ops/detail/kernel_table.h"

namespace mlcp::ops {
namespace {

constexpr int kUnset = -1;
std::atomic<int> g_forced{kUnset};  // set by setIsa()
std::once_flag g_env_once;
int g_env_isa = kUnset;  // from MLCP_ISA, or bestIsa()

void readEnvironment() {
  const char* value = std::getenv("MLCP_ISA");
  if (value == nullptr || *value == '\0') {
    g_env_isa = static_cast<int>(bestIsa());
    return;
  }
  const Isa isa = parseIsa(value, "MLCP_ISA");
  if (!cpuSupports(isa)) {
    throw UsageError(std::string("MLCP_ISA=") + value + " asks for the " + isaName(isa) +
                     " path, but this CPU supports only: " + supportedIsas());
  }
  g_env_isa = static_cast<int>(isa);
}

}  // namespace

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

Isa parseIsa(const std::string& name, const std::string& origin) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  throw UsageError(origin + ": '" + name + "' is not one of scalar, avx2, avx512");
}

bool cpuSupports(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma");
  }
  return false;
}

std::string supportedIsas() {
  std::string out = "scalar";
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (cpuSupports(isa)) out += std::string(", ") + isaName(isa);
  }
  return out;
}

Isa bestIsa() {
  if (cpuSupports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpuSupports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

Isa activeIsa() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced != kUnset) return static_cast<Isa>(forced);
  std::call_once(g_env_once, readEnvironment);  // a throw leaves it unset: the next call retries
  return static_cast<Isa>(g_env_isa);
}

void setIsa(Isa isa) {
  if (!cpuSupports(isa)) {
    throw UsageError(std::string("ops::setIsa(") + isaName(isa) +
                     "): this CPU supports only: " + supportedIsas());
  }
  g_forced.store(static_cast<int>(isa), std::memory_order_relaxed);
}

void resetIsa() { g_forced.store(kUnset, std::memory_order_relaxed); }

namespace detail {

const KernelTable& kernelsFor(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return avx512Kernels();
    case Isa::kAvx2:
      return avx2Kernels();
    case Isa::kScalar:
      break;
  }
  return scalarKernels();
}

const KernelTable& activeKernels() { return kernelsFor(activeIsa()); }

}  // namespace detail

}  // namespace mlcp::ops
