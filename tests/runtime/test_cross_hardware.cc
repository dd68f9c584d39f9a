// Same bits on any CPU (docs/determinism.md): under the reproducible operator set — the default
// `[runtime] ops` — the final parameters and every checkpoint root of an MLP, a CNN and a GPT job
// (dropout, gradient clipping, SGD with momentum, a cosine schedule) are identical across
//   - each instruction-set path the operators have (MLCP_ISA=scalar|avx2|avx512, where this CPU
//     runs it),
//   - other CPUs' OpenBLAS kernels (OPENBLAS_CORETYPE) and ATen's non-vector kernels
//     (ATEN_CPU_CAPABILITY=default),
//   - 1 and 2 intra-op threads,
//   - a 2-rank run whose ranks run different paths, and pipeline layouts (pp 2, dp 2 x pp 2)
//     with mixed paths,
//   - and a replay of a checkpoint interval on another path.
// Under the native set the same changes do change the bits, so the comparisons are not vacuous.
// Every run is the real `mlcp` binary under mpiexec.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "ops/isa.h"
#include "tests/common/test_util.h"
#include "tests/runtime/run_bits.h"

namespace mlcp::test {
namespace {

namespace fs = std::filesystem;

std::string job(const std::string& body, const std::string& extra = "") {
  return "[job]\nname = \"x\"\n" + body + "[checkpoint]\nevery = 2\n" + extra;
}

const std::string kMlp =
    "seed = 7\n[model]\nkind = \"mlp\"\nhidden = [64, 32]\n"
    "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
    "train_limit = 2048\neval_limit = 200\n"
    "[optimizer]\nkind = \"adamw\"\nlr = 0.002\nweight_decay = 0.01\ngrad_clip = 1.0\n"
    "[train]\nglobal_batch = 126\nmicro_batches = 7\nsteps = 6\neval_every = 3\n";

const std::string kCnn =
    "seed = 3\n[model]\nkind = \"cnn\"\nchannels = [4, 8]\n"
    "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
    "train_limit = 1024\neval_limit = 100\n"
    "[optimizer]\nkind = \"sgd\"\nlr = 0.05\nmomentum = 0.9\n"
    "[train]\nglobal_batch = 30\nmicro_batches = 5\nsteps = 4\n";

// The job: dropout, clipping, SGD with momentum, 7 micro-batches, a cosine schedule.
const std::string kGpt =
    "seed = 11\n[model]\nkind = \"gpt\"\nd_model = 32\nlayers = 2\nheads = 2\ncontext = 16\n"
    "dropout = 0.1\n"
    "[data]\nkind = \"text\"\npath = \"/usr/share/games/fortunes\"\n"
    "train_limit = 20000\neval_limit = 200\n"
    "[optimizer]\nkind = \"sgd\"\nlr = 0.05\nmomentum = 0.9\ngrad_clip = 0.5\n"
    "[lr_schedule]\nkind = \"cosine\"\nwarmup_steps = 2\n"
    "[train]\nglobal_batch = 28\nmicro_batches = 7\nsteps = 6\neval_every = 3\n";

// Runs `launch` (an mpiexec line with its `mlcp run` programs, "{job}" and "{out}" standing for
// the job file and the run directory) on `job_text`.
RunBits runWith(const TempDir& dir, const std::string& job_text, const std::string& launch,
                const std::string& tag) {
  const std::string job_path = dir.file(tag + ".toml"), out = dir.file("run-" + tag);
  writeFile(job_path, job_text);
  std::string cmd = launch;
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"{job}", job_path}, {"{out}", out}}) {
    for (size_t at; (at = cmd.find(key)) != std::string::npos;) cmd.replace(at, key.size(), value);
  }
  const auto r = runCommand(cmd);
  EXPECT_EQ(r.exit_code, 0) << tag << ": " << cmd << "\n" << r.output;
  if (r.exit_code != 0) return {};
  return runBits(out);
}

// `mlcp run` on one rank with `env` (VAR=value ...) set.
std::string oneRank(const std::string& env) {
  return "env " + env + " " + mpiexec(1) + " " + mlcpBinary() +
         " run {job} --no-progress --output {out}";
}

// The mpiexec flags every test uses, without a rank count (for MPMD lines).
std::string mpiexecFlags() {
  std::string m = mpiexec(1);
  return m.substr(0, m.rfind(" -n "));
}

// One app context of an MPMD line: `ranks` ranks of `mlcp run` with MLCP_ISA=isa.
std::string context(int ranks, const std::string& isa) {
  return " -n " + std::to_string(ranks) + " -x MLCP_ISA=" + isa + " " + mlcpBinary() +
         " run {job} --no-progress --output {out}";
}

// The paths this CPU runs, best last.
std::vector<std::string> paths() {
  std::vector<std::string> out;
  for (auto isa : {ops::Isa::kScalar, ops::Isa::kAvx2, ops::Isa::kAvx512}) {
    if (ops::cpuSupports(isa)) out.push_back(ops::isaName(isa));
  }
  return out;
}

// Every hardware-like change on one rank, against the best path with default libraries.
void expectHardwareFree(const std::string& body, const std::string& name) {
  TempDir dir;
  const RunBits ref = runWith(dir, job(body), oneRank("MLCP_ISA=" + paths().back()), name);
  std::map<std::string, std::string> variants;
  for (const auto& isa : paths()) variants["MLCP_ISA=" + isa] = oneRank("MLCP_ISA=" + isa);
  variants["OPENBLAS_CORETYPE=Prescott"] = oneRank("OPENBLAS_CORETYPE=Prescott");
  variants["OPENBLAS_CORETYPE=SkylakeX"] = oneRank("OPENBLAS_CORETYPE=SkylakeX");
  variants["ATEN_CPU_CAPABILITY=default"] = oneRank("ATEN_CPU_CAPABILITY=default");
  int i = 0;
  for (const auto& [what, launch] : variants) {
    expectSameBits(ref, runWith(dir, job(body), launch, name + std::to_string(i++)), what);
  }
  // Two intra-op threads: the same program (runtime.intra_op_threads is not part of it).
  expectSameBits(ref,
                 runWith(dir, job(body, "[runtime]\nintra_op_threads = 2\n"),
                         oneRank("MLCP_ISA=" + paths().front()), name + "-threads"),
                 "2 intra-op threads on the " + paths().front() + " path");
}

TEST(CrossHardware, MlpIsIdenticalOnEveryPathLibraryAndThreadCount) {
  expectHardwareFree(kMlp, "mlp");
}

TEST(CrossHardware, CnnIsIdenticalOnEveryPathLibraryAndThreadCount) {
  expectHardwareFree(kCnn, "cnn");
}

TEST(CrossHardware, GptWithDropoutAndClippingIsIdenticalOnEveryPathLibraryAndThreadCount) {
  expectHardwareFree(kGpt, "gpt");
}

// A heterogeneous cluster: the ranks' CPUs pick different paths, and the micro-batches land on
// them by placement; the result is still the one-rank result.
TEST(CrossHardware, RanksOnDifferentPathsAgreeWithOneRank) {
  const auto p = paths();
  if (p.size() < 2) GTEST_SKIP() << "this CPU runs only the scalar path";
  TempDir dir;
  for (const auto& [name, body] :
       {std::pair<std::string, std::string>{"mlp", kMlp}, {"gpt", kGpt}}) {
    const RunBits ref = runWith(dir, job(body), oneRank("MLCP_ISA=" + p.back()), name + "-ref");
    const RunBits mixed = runWith(
        dir, job(body), mpiexecFlags() + context(1, p.front()) + " :" + context(1, p.back()),
        name + "-mixed");
    expectSameBits(ref, mixed, name + ": rank 0 on " + p.front() + ", rank 1 on " + p.back());
  }
}

TEST(CrossHardware, PipelineLayoutsWithMixedPathsAgreeWithOneRank) {
  const auto p = paths();
  TempDir dir;
  const RunBits ref = runWith(dir, job(kGpt), oneRank("MLCP_ISA=" + p.back()), "ref");
  const RunBits pp2 =
      runWith(dir, job(kGpt, "[parallel]\npp = 2\n"),
              mpiexecFlags() + context(1, p.front()) + " :" + context(1, p.back()), "pp2");
  expectSameBits(ref, pp2, "pp 2, stage 0 on " + p.front() + ", stage 1 on " + p.back());
  const RunBits dp2pp2 =
      runWith(dir, job(kGpt, "[parallel]\npp = 2\n"),
              mpiexecFlags() + context(2, p.front()) + " :" + context(2, p.back()), "dp2pp2");
  expectSameBits(ref, dp2pp2, "dp 2 x pp 2 on mixed paths");
}

// A verifier on another CPU replays the solver's checkpoint interval and matches its hashes.
TEST(CrossHardware, ReplayOnAnotherPathMatchesTheRun) {
  const auto p = paths();
  TempDir dir;
  const RunBits run = runWith(dir, job(kGpt), oneRank("MLCP_ISA=" + p.back()), "solver");
  ASSERT_FALSE(run.roots.empty());
  const auto r = runCommand("env MLCP_ISA=" + p.front() + " " + mpiexec(2) + " " + mlcpBinary() +
                            " verify replay " + dir.file("run-solver") + " --from 2 --to 4");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("match: steps 2..4"), std::string::npos) << r.output;
}

// The control: LibTorch's own kernels (ops = "native") do change with the hardware knobs, which
// is why the reproducible set exists; and the two sets are different programs.
TEST(CrossHardware, NativeOperatorsDependOnTheKernelsTheCpuPicks) {
  TempDir dir;
  const std::string native = "[runtime]\nops = \"native\"\n";
  const RunBits ref = runWith(dir, job(kGpt, native), oneRank("MLCP_ISA=" + paths().back()), "n");
  const RunBits aten =
      runWith(dir, job(kGpt, native), oneRank("ATEN_CPU_CAPABILITY=default"), "na");
  EXPECT_FALSE(aten.final_state == ref.final_state)
      << "native operators gave the same bits with ATen's non-vector kernels";
  const RunBits repro = runWith(dir, job(kGpt), oneRank("MLCP_ISA=" + paths().back()), "r");
  EXPECT_FALSE(repro.final_state == ref.final_state);
}

// Ranks that would compute differently refuse to start, on every rank, with one sentence.
TEST(CrossHardware, RanksThatDisagreeRefuseToStart) {
  TempDir dir;
  writeFile(dir.file("a.toml"), job(kMlp));
  writeFile(dir.file("b.toml"), job(kMlp, "[runtime]\nops = \"native\"\n"));
  const std::string run = " " + mlcpBinary() + " run ";
  auto r = runCommand(mpiexecFlags() + " -n 1" + run + dir.file("a.toml") + " --output " +
                      dir.file("ab") + " : -n 1" + run + dir.file("b.toml") + " --output " +
                      dir.file("ab") + " 2>&1");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ranks 0 and 1"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  r = runCommand(mpiexecFlags() + " -n 1" + run + dir.file("a.toml") + " --output " +
                 dir.file("bad") + " : -n 1 -x MLCP_ISA=avx1024" + run + dir.file("a.toml") +
                 " --output " + dir.file("bad") + " 2>&1");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 1 cannot run this job"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MLCP_ISA"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("bad") + "/final_state.bin"));
}

}  // namespace
}  // namespace mlcp::test
