// bench_ops — RepOps' reproducible kernels (ops/) against the non-reproducible ones they
// replace, measured side by side in this run:
//   1. matrix products on the models' shapes (jobs/*.toml, bench/jobs/*.toml: MLP 784-256-128
//      at batch 32/128/1024, GPT d_model 128 / context 64 / micro-batch 8 = 512 tokens, its
//      attention on 8 x 4 heads, the CNN's second convolution as a batched product) against
//      OpenBLAS sgemm through torch::mm / torch::bmm, with 1 and 2 threads;
//   2. exp, log, tanh, erf over 64 Ki floats against the C library's expf, logf, tanhf, erff.
//
//   bench_ops [--repeats R] [--only matmul|math] [--clock wall|cpu]
//
// Printed: milliseconds per call (best of R timings, each averaging enough calls for ~25 ms)
// and "speed" = baseline time / RepOps time (1.0 = as fast as OpenBLAS or libm; targets for
// matmul: >= 0.7, stretch 0.9). Every RepOps path this CPU supports is shown; OpenBLAS runs the
// kernel it picks for this CPU (OPENBLAS_CORETYPE, printed, may force another).
// --clock cpu times with the process's CPU time instead of the wall clock: on a machine shared
// with other work it still measures the single-thread rows fairly (with 2 threads it is the
// work of both threads, not the latency, so compare those rows on an idle machine only).
#include <fmt/format.h>
#include <time.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "ops/isa.h"
#include "ops/math_functions.h"
#include "ops/matmul.h"
#include "ops/parallel.h"

namespace {

bool g_cpu_clock = false;  // --clock cpu

double now() {
  if (!g_cpu_clock) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Best over `repeats` of the mean seconds per call of fn, each timing running fn for ~25 ms.
double secondsPerCall(const std::function<void()>& fn, int repeats) {
  fn();  // warm up: caches, packing buffers, thread pool
  int64_t calls = 1;
  for (;;) {
    const double t0 = now();
    for (int64_t i = 0; i < calls; ++i) fn();
    if (now() - t0 >= 0.025) break;
    calls *= 2;
  }
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now();
    for (int64_t i = 0; i < calls; ++i) fn();
    best = std::min(best, (now() - t0) / static_cast<double>(calls));
  }
  return best;
}

struct Product {
  std::string name;
  bool ta, tb;
  int64_t batch, m, n, k;
};

std::vector<Product> modelProducts() {
  std::vector<Product> p;
  for (int64_t b : {32, 128, 1024}) {
    const std::string mb = "mlp b" + std::to_string(b);
    p.push_back({mb + " fc1 fwd", false, true, 1, b, 256, 784});
    p.push_back({mb + " fc1 dW", true, false, 1, 256, 784, b});
    p.push_back({mb + " fc2 fwd", false, true, 1, b, 128, 256});
    p.push_back({mb + " fc2 dx", false, false, 1, b, 256, 128});
  }
  p.push_back({"gpt qkv fwd", false, true, 1, 512, 384, 128});
  p.push_back({"gpt proj fwd", false, true, 1, 512, 128, 128});
  p.push_back({"gpt fc1 fwd", false, true, 1, 512, 512, 128});
  p.push_back({"gpt fc2 fwd", false, true, 1, 512, 128, 512});
  p.push_back({"gpt head fwd", false, true, 1, 512, 256, 128});
  p.push_back({"gpt fc2 dx", false, false, 1, 512, 512, 128});
  p.push_back({"gpt fc1 dW", true, false, 1, 512, 128, 512});
  p.push_back({"gpt att q.kT (32x)", false, true, 32, 64, 64, 32});
  p.push_back({"gpt att p.v (32x)", false, false, 32, 64, 32, 64});
  p.push_back({"cnn conv2 (32 img)", false, false, 32, 32, 196, 144});
  return p;
}

void benchMatmul(int repeats) {
  const auto paths = [] {
    std::vector<mlcp::ops::Isa> v;
    for (auto isa : {mlcp::ops::Isa::kAvx512, mlcp::ops::Isa::kAvx2}) {
      if (mlcp::ops::cpuSupports(isa)) v.push_back(isa);
    }
    return v;
  }();
  std::string header =
      fmt::format("{:<22} {:>6} {:>3} {:>10}", "product", "layout", "thr", "openblas");
  for (auto isa : paths) {
    header += fmt::format(" {:>10} {:>6}", mlcp::ops::isaName(isa), "speed");
  }
  fmt::print("\nmatmul: ms per call; speed = OpenBLAS time / RepOps time\n{}\n", header);
  std::vector<std::vector<double>> speeds(paths.size() * 2);
  for (const auto& p : modelProducts()) {
    auto a = torch::randn(p.ta ? std::vector<int64_t>{p.batch, p.k, p.m}
                               : std::vector<int64_t>{p.batch, p.m, p.k});
    auto b = torch::randn(p.tb ? std::vector<int64_t>{p.batch, p.n, p.k}
                               : std::vector<int64_t>{p.batch, p.k, p.n});
    auto c = torch::empty({p.batch, p.m, p.n});
    auto c0 = c[0], a0 = (p.ta ? a.transpose(1, 2) : a)[0], b0 = (p.tb ? b.transpose(1, 2) : b)[0];
    // OpenBLAS sees the same memory layout, through transposed views.
    auto av = p.ta ? a.transpose(1, 2) : a;
    auto bv = p.tb ? b.transpose(1, 2) : b;
    const std::string layout = std::string(p.ta ? "T" : "N") + (p.tb ? "T" : "N");
    for (int threads : {1, 2}) {
      torch::set_num_threads(threads);
      mlcp::ops::setNumThreads(threads);
      const double blas = secondsPerCall(
          [&] {
            if (p.batch == 1) {
              torch::mm_out(c0, a0, b0);
            } else {
              torch::bmm_out(c, av, bv);
            }
          },
          repeats);
      std::string line =
          fmt::format("{:<22} {:>6} {:>3} {:>10.4f}", p.name, layout, threads, 1e3 * blas);
      for (size_t i = 0; i < paths.size(); ++i) {
        mlcp::ops::setIsa(paths[i]);
        const int64_t lda = p.ta ? p.m : p.k, ldb = p.tb ? p.k : p.n;
        const double ours = secondsPerCall(
            [&] {
              mlcp::ops::batchedGemm(p.ta, p.tb, p.batch, p.m, p.n, p.k, a.data_ptr<float>(), lda,
                                     p.m * p.k, b.data_ptr<float>(), ldb, p.k * p.n,
                                     c.data_ptr<float>(), p.n, p.m * p.n);
            },
            repeats);
        line += fmt::format(" {:>10.4f} {:>6.2f}", 1e3 * ours, blas / ours);
        speeds[i * 2 + static_cast<size_t>(threads - 1)].push_back(blas / ours);
      }
      fmt::print("{}\n", line);
    }
  }
  mlcp::ops::resetIsa();
  for (size_t i = 0; i < paths.size(); ++i) {
    for (int threads : {1, 2}) {
      const auto& v = speeds[i * 2 + static_cast<size_t>(threads - 1)];
      double log_sum = 0, lo = 1e30;
      for (double s : v) {
        log_sum += std::log(s);
        lo = std::min(lo, s);
      }
      fmt::print("{:<7} {} thread(s): speed vs OpenBLAS geometric mean {:.2f}, lowest {:.2f}\n",
                 mlcp::ops::isaName(paths[i]), threads, std::exp(log_sum / v.size()), lo);
    }
  }
}

void benchMath(int repeats) {
  constexpr int64_t kN = 1 << 16;
  mlcp::ops::setNumThreads(1);
  struct Fn {
    const char* name;
    void (*ours)(const float*, float*, int64_t);
    float (*libm)(float);
    float lo, hi;
  };
  const Fn fns[] = {{"exp", &mlcp::ops::exp, &::expf, -80.0f, 80.0f},
                    {"log", &mlcp::ops::log, &::logf, 1e-30f, 1e30f},
                    {"tanh", &mlcp::ops::tanh, &::tanhf, -10.0f, 10.0f},
                    {"erf", &mlcp::ops::erf, &::erff, -5.0f, 5.0f}};
  fmt::print("\nmath, 1 thread, {} floats: ns per element; speed = libm time / RepOps time\n", kN);
  fmt::print("{:<5} {:>8}", "fn", "libm");
  const mlcp::ops::Isa all[] = {mlcp::ops::Isa::kAvx512, mlcp::ops::Isa::kAvx2,
                                mlcp::ops::Isa::kScalar};
  for (auto isa : all) {
    if (mlcp::ops::cpuSupports(isa)) fmt::print(" {:>8} {:>6}", mlcp::ops::isaName(isa), "speed");
  }
  fmt::print("\n");
  std::vector<float> x(kN), y(kN);
  for (const auto& f : fns) {
    const bool log_scale = f.lo > 0;
    for (int64_t i = 0; i < kN; ++i) {
      const double t = (i + 0.5) / kN;
      x[static_cast<size_t>(i)] = log_scale ? static_cast<float>(f.lo * std::pow(f.hi / f.lo, t))
                                            : static_cast<float>(f.lo + (f.hi - f.lo) * t);
    }
    const double libm = secondsPerCall(
        [&] {
          for (int64_t i = 0; i < kN; ++i)
            y[static_cast<size_t>(i)] = f.libm(x[static_cast<size_t>(i)]);
        },
        repeats);
    fmt::print("{:<5} {:>8.3f}", f.name, 1e9 * libm / kN);
    for (auto isa : all) {
      if (!mlcp::ops::cpuSupports(isa)) continue;
      mlcp::ops::setIsa(isa);
      const double ours = secondsPerCall([&] { f.ours(x.data(), y.data(), kN); }, repeats);
      fmt::print(" {:>8.3f} {:>6.2f}", 1e9 * ours / kN, libm / ours);
    }
    fmt::print("\n");
  }
  mlcp::ops::resetIsa();
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--clock" && i + 1 < argc &&
               (std::string(argv[i + 1]) == "wall" || std::string(argv[i + 1]) == "cpu")) {
      g_cpu_clock = std::string(argv[++i]) == "cpu";
    } else {
      fmt::print(stderr,
                 "usage: bench_ops [--repeats R] [--only matmul|math] [--clock wall|cpu]\n");
      return 2;
    }
  }
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("bench_ops: RepOps paths {} (default {}); OPENBLAS_CORETYPE={}; best of {}; {} time\n",
             mlcp::ops::supportedIsas(), mlcp::ops::isaName(mlcp::ops::bestIsa()),
             core != nullptr ? core : "(unset)", repeats, g_cpu_clock ? "CPU" : "wall");
  if (only.empty() || only == "matmul") benchMatmul(repeats);
  if (only.empty() || only == "math") benchMath(repeats);
  return 0;
}
