// bench_checkpoint — an mlcp checkpoint (HDF5 shard + BLAKE2b hashes + fsync + signed manifest +
// atomic rename) against plain fwrite+fsync of the same bytes, and a verified load against a
// plain fread of them, measured side by side in this run (median of --reps runs each).
//
//   bench_checkpoint [--mib N] [--tensors K] [--dir PATH] [--reps R]
//
// Defaults: 256 MiB of float32 in 16 tensors, under $TMPDIR (or /tmp), 3 repetitions.
// Targets (issue 4): checkpoint write >= 0.8x plain write. Loads are warm (page cache): plain
// read is memcpy-bound, a verified load is BLAKE2b-bound (about 1 GB/s per core).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_cli.h"
#include "verify/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using mlcp::verify::TensorView;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void die(const std::string& what) {
  std::fprintf(stderr, "bench_checkpoint: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void plainWrite(const std::string& path, const std::vector<std::vector<float>>& tensors) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) die("cannot create " + path);
  for (const auto& t : tensors) {
    if (std::fwrite(t.data(), sizeof(float), t.size(), f) != t.size()) die("fwrite");
  }
  if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) die("fsync");
  std::fclose(f);
}

void plainRead(const std::string& path, std::vector<std::vector<float>>& out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) die("cannot open " + path);
  for (auto& t : out) {
    if (std::fread(t.data(), sizeof(float), t.size(), f) != t.size()) die("fread");
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mib = 256;
  int tensors_n = 16;
  int reps = 3;
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp ? tmp : "/tmp";
  CLI::App app{
      "Checkpoint write + hash + commit against fwrite + fsync, verified load against fread",
      "bench_checkpoint"};
  app.add_option("--mib", mib, "MiB of float32 state to write")->check(CLI::PositiveNumber);
  app.add_option("--tensors", tensors_n, "Tensors it is split into")->check(CLI::PositiveNumber);
  app.add_option("--dir", base, "Folder to write into (default $TMPDIR or /tmp)");
  app.add_option("--reps", reps, "Repetitions (the best is printed)")->check(CLI::PositiveNumber);
  return mlcp::bench::runBenchmark(app, argc, argv, [&] {
    std::string work = base + "/mlcp-bench-checkpoint-" + std::to_string(::getpid());
    fs::create_directories(work);
    const size_t total = static_cast<size_t>(mib) << 20;
    const size_t per = total / sizeof(float) / static_cast<size_t>(tensors_n);

    std::vector<std::vector<float>> data(static_cast<size_t>(tensors_n), std::vector<float>(per));
    uint32_t x = 12345;
    for (auto& t : data) {
      for (auto& v : t) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<float>(x >> 8) * 1e-7f;
      }
    }
    std::vector<TensorView> views;
    for (int i = 0; i < tensors_n; ++i) {
      views.push_back(TensorView{fmt::format("params/layers.{}.weight", i),
                                 mlcp::verify::DType::kFloat32,
                                 {static_cast<int64_t>(per)},
                                 data[static_cast<size_t>(i)].data(),
                                 per * sizeof(float)});
    }
    const double mb =
        static_cast<double>(per * sizeof(float) * static_cast<size_t>(tensors_n)) / 1e6;
    mlcp::verify::KeyPair key = mlcp::verify::KeyPair::generate();
    std::string plain_path = work + "/plain.bin";
    std::string run_dir = work + "/run";

    std::vector<double> t_plain_w, t_ckpt_w, t_plain_r, t_ckpt_r, t_hash, t_phash, t_shard;
    std::vector<std::vector<float>> back(data.size(), std::vector<float>(per));
    for (int r = 0; r < reps; ++r) {
      ::unlink(plain_path.c_str());  // both sides write a new file
      auto t0 = Clock::now();
      plainWrite(plain_path, data);
      auto t1 = Clock::now();
      std::string tdir = mlcp::verify::beginCheckpoint(run_dir, 100 + r);
      auto tw0 = Clock::now();
      auto entries = mlcp::verify::writeShard(tdir, 0, views);
      auto tw1 = Clock::now();
      t_shard.push_back(seconds(tw0, tw1));
      auto commit = mlcp::verify::commitCheckpoint(run_dir, 100 + r, entries, "bench", "dp=1", key);
      auto t2 = Clock::now();
      plainRead(plain_path, back);
      auto t3 = Clock::now();
      auto reader = mlcp::verify::CheckpointReader::open(commit.dir);
      std::vector<mlcp::verify::CheckpointReader::ReadRequest> requests;
      for (size_t i = 0; i < views.size(); ++i) {
        requests.push_back({views[i].name, back[i].data(), back[i].size() * sizeof(float)});
      }
      reader.readAllInto(requests);
      auto t4 = Clock::now();
      for (const auto& v : views) (void)mlcp::verify::hashTensor(v);
      auto t5 = Clock::now();
      (void)mlcp::verify::hashTensors(views);
      auto t6 = Clock::now();
      t_phash.push_back(seconds(t5, t6));
      t_plain_w.push_back(seconds(t0, t1));
      t_ckpt_w.push_back(seconds(t1, t2));
      t_plain_r.push_back(seconds(t2, t3));
      t_ckpt_r.push_back(seconds(t3, t4));
      t_hash.push_back(seconds(t4, t5));
      fs::remove_all(commit.dir);
      if (std::memcmp(back[0].data(), data[0].data(), per * sizeof(float)) != 0) {
        std::fprintf(stderr, "bench_checkpoint: read-back differs\n");
        return 1;
      }
    }
    fs::remove_all(work);

    double pw = median(t_plain_w), cw = median(t_ckpt_w), pr = median(t_plain_r),
           cr = median(t_ckpt_r), h = median(t_hash);
    fmt::print("bench_checkpoint: {:.0f} MB in {} float32 tensors, {} reps (median), dir {}\n", mb,
               tensors_n, reps, base);
    fmt::print("  BLAKE2b-256 alone (1 thread)        {:8.0f} MB/s\n", mb / h);
    fmt::print("  BLAKE2b-256 over tensors, {} threads {:8.0f} MB/s\n",
               std::thread::hardware_concurrency(), mb / median(t_phash));
    fmt::print("  plain fwrite+fsync                  {:8.0f} MB/s\n", mb / pw);
    fmt::print(
        "  checkpoint write+hash+fsync+commit  {:8.0f} MB/s   ratio {:.2f}x (target >= 0.80x)\n",
        mb / cw, pw / cw);
    fmt::print(
        "    of which writeShard {:.3f} s, the rest (begin, manifest, rename, fsyncs) {:.3f} s\n",
        median(t_shard), cw - median(t_shard));
    fmt::print("  plain fread (warm)                  {:8.0f} MB/s\n", mb / pr);
    fmt::print("  checkpoint open+read+verify (warm)  {:8.0f} MB/s   ratio {:.2f}x\n", mb / cr,
               pr / cr);
    return 0;
  });
}
