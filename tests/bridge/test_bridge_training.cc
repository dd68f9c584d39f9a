// Issue #5's end-to-end tests with real training. (a) The honest job: a submitter escrows a
// real training job on a real chain (anvil), a solver accepts it and trains it under mpirun
// with a [bridge] section — rank 0 signs and commits each checkpoint's root as it is written —,
// the roots on chain equal the roots recomputed independently from the HDF5 files
// (tests/verify/recompute_root.py, h5py + hashlib), and after the challenge window the solver
// is paid, checked to the wei. (b) A cheating solver (a fault planted in its run) is challenged
// by an honest verifier; `mlcp verify dispute --rpc` plays the bisection on chain down to the
// planted operator, the referee's verdict goes against the solver, and stake and escrow move
// to the wei. (c) A cheating challenger loses its bond to the honest solver, who is then paid.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "bridge/chain_client.h"
#include "bridge/eth_key.h"
#include "bridge/jobs_client.h"
#include "bridge/keccak.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::CommandResult;
using test::kAnvilKeys;

std::string mlpJob(const std::string& extra) {
  return "[job]\nname = \"chain-job\"\nseed = 5\n"
         "[model]\nkind = \"mlp\"\nhidden = [32]\n"
         "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
         "train_limit = 1024\neval_limit = 200\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.003\n"
         "[train]\nglobal_batch = 32\nmicro_batches = 4\nsteps = 8\n"
         "[checkpoint]\nevery = 4\n" +
         extra;
}

// The root recorded for checkpoint `step` in a run's metrics.
// The spec hash a run of `job_path` binds to (the canonical program, the operator set and the
// data's content hash), as `mlcp bridge spec-hash` prints it.
std::string specHashOf(const std::string& job_path) {
  const auto r = test::runCommand(test::mlcpBinary() + " bridge spec-hash " + job_path + " 2>&1");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.output, m, std::regex("spec hash: +(0x[0-9a-f]{64})")))
      << r.output;
  return m.size() > 1 ? m[1].str() : std::string();
}

std::string metricsRoot(const std::string& run, int step) {
  const std::string text = test::readFile(run + "/metrics/rank-00000.jsonl");
  std::smatch m;
  const std::regex re("\"root\":\"([0-9a-f]{64})\",\"step\":" + std::to_string(step) + "[,}]");
  if (!std::regex_search(text, m, re)) return "";
  return m[1].str();
}

// "root HEX" printed by the independent recomputation.
std::string recomputedRoot(const std::string& checkpoint_dir) {
  const auto r = test::runCommand("/usr/bin/python3 " + test::sourceDir() +
                                  "/tests/verify/recompute_root.py " + checkpoint_dir + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.rfind("root ");
  return pos == std::string::npos ? "" : r.output.substr(pos + 5, 64);
}

TEST(BridgeTraining, HonestJobCommitsTheRootsOfTheHdf5FilesAndIsPaidToTheWei) {
  MLCP_START_ANVIL(anvil);
  test::TempDir dir("mlcp-bridge-training");
  setenv("MLCP_KEY_FILE", dir.file("node.key").c_str(), 1);
  const std::string sub = dir.file("submitter.key"), sol = dir.file("solver.key");
  EthKey::fromHex(kAnvilKeys[0]).save(sub, true);
  EthKey::fromHex(kAnvilKeys[1]).save(sol, true);
  ChainClient chain(anvil->url());
  const Address solver = EthKey::fromHex(kAnvilKeys[1]).address();
  auto cli = [&](const std::string& args) {
    return test::runCommand(test::mlcpBinary() + " bridge " + args + " --rpc " + anvil->url() +
                            " 2>&1");
  };
  U256 solver_fees;
  auto feeOf = [&](const CommandResult& r) {
    std::smatch m;
    static const std::regex re("(?:transaction: |tx )(0x[0-9a-f]{64})");
    std::string rest = r.output;
    U256 total;
    while (std::regex_search(rest, m, re)) {
      total = total + chain.receipt(fixedFromHex<32>(m[1].str(), "tx"))->fee();
      rest = m.suffix();
    }
    return total;
  };

  // 1. The submitter deploys the contract and learns the initial root (checkpoint 0 is the seed's
  //    state, the same on any placement) by running the job for zero steps.
  auto r = cli("deploy --key " + sub);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("contract: +(0x[0-9a-fA-F]{40})")))
      << r.output;
  const std::string contract = m[1].str();
  test::writeFile(dir.file("plain.toml"), mlpJob(""));
  r = test::runCommand(test::mlcpBinary() + " run " + dir.file("plain.toml") +
                       " --no-progress --max-steps 0 --output " + dir.file("seed"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string initial = metricsRoot(dir.file("seed"), 0);
  ASSERT_EQ(initial.size(), 64u) << r.output;
  const std::string spec_hash = specHashOf(dir.file("plain.toml"));
  r = cli("job create --key " + sub + " --contract " + contract + " --spec-hash " + spec_hash +
          " --initial-root 0x" + initial +
          " --checkpoints 2 --steps-per-checkpoint 4 --escrow 2ether"
          " --stake 0.5ether --bond 0.1ether --referee 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
          " --challenge-window 60");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NE(r.output.find("JobCreated(jobId=1"), std::string::npos) << r.output;

  // 2. The solver accepts (posting its stake) and trains on 2 ranks; rank 0 commits the roots.
  const U256 before = chain.balance(solver);
  r = cli("job accept --key " + sol + " --contract " + contract + " --job 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  solver_fees = solver_fees + feeOf(r);
  test::writeFile(dir.file("job.toml"), mlpJob("[bridge]\nenabled = true\nrpc_url = \"" +
                                               anvil->url() + "\"\ncontract = \"" + contract +
                                               "\"\nkey_file = \"" + sol + "\"\njob_id = 1\n"));
  r = test::runCommand(test::mpiexec(2) + " " + test::mlcpBinary() + " run " +
                       dir.file("job.toml") + " --no-progress --output " + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 1 (step 4) on chain"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 2 (step 8) on chain"), std::string::npos) << r.output;
  solver_fees = solver_fees + feeOf(r);
  EXPECT_EQ(metricsRoot(dir.file("run"), 0), initial) << "the seed's state is placement-free";

  // 3. On chain: exactly the roots an independent program computes from the HDF5 files.
  JobsClient jobs(chain, parseAddress(contract));
  for (int k : {1, 2}) {
    const std::string recomputed =
        recomputedRoot(dir.file("run") + "/checkpoints/step-0000000" + std::to_string(4 * k));
    ASSERT_EQ(recomputed.size(), 64u);
    EXPECT_EQ(toHex(jobs.root(U256(1), static_cast<uint64_t>(k))), "0x" + recomputed)
        << "checkpoint " << k;
  }

  // 4. After the window the solver settles and withdraws: +2 ether escrow, stake back, minus gas.
  r = cli("settle --key " + sol + " --contract " + contract + " --job 1");
  EXPECT_NE(r.exit_code, 0) << "the window is still open:\n" << r.output;
  EXPECT_NE(r.output.find("ChallengeWindowOpen()"), std::string::npos) << r.output;
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({120}));
  chain.rpc().call("evm_mine");
  for (const std::string& cmd : {"settle --key " + sol + " --contract " + contract + " --job 1",
                                 "withdraw --key " + sol + " --contract " + contract}) {
    r = cli(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    solver_fees = solver_fees + feeOf(r);
  }
  EXPECT_EQ(chain.balance(solver), before + U256::parseAmount("2ether") - solver_fees);
  EXPECT_EQ(chain.balance(parseAddress(contract)), U256(0));
}

// Wei that `account` paid for gas in every block so far (anvil starts empty per test).
U256 gasPaidBy(ChainClient& chain, const Address& account) {
  const uint64_t latest =
      std::stoull(chain.rpc().call("eth_blockNumber").get<std::string>(), nullptr, 16);
  U256 total;
  for (uint64_t b = 0; b <= latest; ++b) {
    const auto block = chain.rpc().call("eth_getBlockByNumber",
                                        nlohmann::json::array({fmt::format("0x{:x}", b), true}));
    for (const auto& tx : block.at("transactions")) {
      if (parseAddress(tx.at("from").get<std::string>()) != account) continue;
      total =
          total + chain.receipt(fixedFromHex<32>(tx.at("hash").get<std::string>(), "tx"))->fee();
    }
  }
  return total;
}

// A job on chain whose solver trains with [bridge] commits (with or without a planted fault),
// and a challenger's own run of the same job.
struct DisputedJob {
  test::TempDir dir{"mlcp-bridge-dispute"};
  std::string sub, sol, chal, ref, contract, out;
  Address submitter, solver, challenger;
  std::map<std::string, U256> before;

  void setUp(const std::string& url, bool solver_faulty, bool challenger_faulty) {
    setenv("MLCP_KEY_FILE", dir.file("node.key").c_str(), 1);
    sub = dir.file("submitter.key");
    sol = dir.file("solver.key");
    chal = dir.file("challenger.key");
    ref = dir.file("referee.key");
    for (const auto& [path, k] :
         {std::pair{sub, 0}, std::pair{sol, 1}, std::pair{ref, 2}, std::pair{chal, 3}}) {
      EthKey::fromHex(kAnvilKeys[k]).save(path, true);
    }
    submitter = EthKey::fromHex(kAnvilKeys[0]).address();
    solver = EthKey::fromHex(kAnvilKeys[1]).address();
    challenger = EthKey::fromHex(kAnvilKeys[3]).address();
    ChainClient chain(url);
    for (const auto& [name, a] : {std::pair{"submitter", submitter}, std::pair{"solver", solver},
                                  std::pair{"challenger", challenger}}) {
      before[name] = chain.balance(a);
    }
    auto cli = [&](const std::string& args) {
      auto r = test::runCommand(test::mlcpBinary() + " bridge " + args + " --rpc " + url + " 2>&1");
      EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
      return r.output;
    };
    std::smatch m;
    const std::string deployed = cli("deploy --key " + sub);
    ASSERT_TRUE(std::regex_search(deployed, m, std::regex("contract: +(0x[0-9a-fA-F]{40})")))
        << deployed;
    contract = m[1].str();
    test::writeFile(dir.file("plain.toml"), mlpJob(""));
    // Both runs of the job: the challenger's own (no bridge), then the solver's (commits).
    auto r = test::runCommand(test::mpiexec(2) + " " + test::mlcpBinary() + " run " +
                              dir.file("plain.toml") + " --no-progress --output " +
                              dir.file("challenger") + (challenger_faulty ? " --fault 6:1:1" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    cli("job create --key " + sub + " --contract " + contract + " --spec-hash " +
        specHashOf(dir.file("plain.toml")) + " --initial-root 0x" +
        metricsRoot(dir.file("challenger"), 0) +
        " --checkpoints 2 --steps-per-checkpoint 4 --escrow 2ether --stake 0.5ether --bond 0.1ether"
        " --referee " +
        checksumAddress(EthKey::fromHex(kAnvilKeys[2]).address()) + " --challenge-window 600");
    cli("job accept --key " + sol + " --contract " + contract + " --job 1");
    test::writeFile(dir.file("job.toml"),
                    mlpJob("[bridge]\nenabled = true\nrpc_url = \"" + url + "\"\ncontract = \"" +
                           contract + "\"\nkey_file = \"" + sol + "\"\njob_id = 1\n"));
    r = test::runCommand(test::mpiexec(2) + " " + test::mlcpBinary() + " run " +
                         dir.file("job.toml") + " --no-progress --output " + dir.file("solver") +
                         (solver_faulty ? " --fault 6:1:1" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // The dispute, played on chain by `mlcp verify dispute --rpc`.
    r = test::runCommand(test::mlcpBinary() + " verify dispute " + dir.file("solver") + " " +
                         dir.file("challenger") + " --rpc " + url + " --contract " + contract +
                         " --job 1 --solver-key " + sol + " --challenger-key " + chal +
                         " --referee-key " + ref + " 2>&1");
    out = r.output;
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
};

TEST(BridgeTraining, CheatingSolverLosesTheOnChainBisectionAtThePlantedOperator) {
  MLCP_START_ANVIL(anvil);
  DisputedJob job;
  job.setUp(anvil->url(), /*solver_faulty=*/true, /*challenger_faulty=*/false);
  if (HasFatalFailure()) return;
  // Step 6 is in checkpoint interval 2 (steps 5..8); the fault is layer 1 of micro-batch 2
  // (rank 1's first of 4 on 2 ranks).
  EXPECT_NE(job.out.find("challenge: checkpoint 2"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("referee: step 6, operator"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("mb2/forward/1"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("verdict on chain: challenger wins"), std::string::npos) << job.out;
  ChainClient chain(anvil->url());
  JobsClient jobs(chain, parseAddress(job.contract));
  EXPECT_EQ(jobs.job(U256(1)).state, JobState::kSolverFailed);
  // The challenger gets its bond back and the solver's stake; the submitter its escrow.
  jobs.withdraw(EthKey::fromHex(kAnvilKeys[3]));
  jobs.withdraw(EthKey::fromHex(kAnvilKeys[0]));
  EXPECT_EQ(
      chain.balance(job.challenger),
      job.before["challenger"] + U256::parseAmount("0.5ether") - gasPaidBy(chain, job.challenger));
  EXPECT_EQ(chain.balance(job.submitter),
            job.before["submitter"] - gasPaidBy(chain, job.submitter));
  EXPECT_EQ(chain.balance(job.solver),
            job.before["solver"] - U256::parseAmount("0.5ether") - gasPaidBy(chain, job.solver));
  EXPECT_EQ(chain.balance(parseAddress(job.contract)), U256(0));
}

TEST(BridgeTraining, CheatingChallengerLosesItsBondToTheHonestSolver) {
  MLCP_START_ANVIL(anvil);
  DisputedJob job;
  job.setUp(anvil->url(), /*solver_faulty=*/false, /*challenger_faulty=*/true);
  if (HasFatalFailure()) return;
  EXPECT_NE(job.out.find("mb2/forward/1"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("verdict on chain: solver wins"), std::string::npos) << job.out;
  ChainClient chain(anvil->url());
  JobsClient jobs(chain, parseAddress(job.contract));
  EXPECT_EQ(jobs.job(U256(1)).state, JobState::kCommitted);
  // After the window the honest solver settles: escrow + stake, and the challenger's bond.
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({1200}));
  chain.rpc().call("evm_mine");
  jobs.settle(EthKey::fromHex(kAnvilKeys[1]), U256(1));
  jobs.withdraw(EthKey::fromHex(kAnvilKeys[1]));
  EXPECT_EQ(chain.balance(job.solver),
            job.before["solver"] + U256::parseAmount("2.1ether") - gasPaidBy(chain, job.solver));
  EXPECT_EQ(
      chain.balance(job.challenger),
      job.before["challenger"] - U256::parseAmount("0.1ether") - gasPaidBy(chain, job.challenger));
  EXPECT_EQ(chain.balance(job.submitter), job.before["submitter"] - U256::parseAmount("2ether") -
                                              gasPaidBy(chain, job.submitter));
  EXPECT_EQ(chain.balance(parseAddress(job.contract)), U256(0));
}

}  // namespace
}  // namespace mlcp::bridge
