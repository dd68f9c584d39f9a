// The honest job end to end (issue #5, test a): a submitter escrows a real training job on a
// real chain (anvil), a solver accepts it and trains it under mpirun with a [bridge] section —
// rank 0 signs and commits each checkpoint's root as it is written —, the roots on chain equal
// the roots recomputed independently from the HDF5 files (tests/verify/recompute_root.py, h5py
// + hashlib), and after the challenge window the solver is paid, checked to the wei.
#include <gtest/gtest.h>

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
         "[checkpoint]\nevery = 4\n" + extra;
}

// The root recorded for checkpoint `step` in a run's metrics.
std::string metricsRoot(const std::string& run, int step) {
  const std::string text = test::readFile(run + "/metrics/rank-00000.jsonl");
  std::smatch m;
  const std::regex re("\"root\":\"([0-9a-f]{64})\",\"step\":" + std::to_string(step) + "[,}]");
  if (!std::regex_search(text, m, re)) return "";
  return m[1].str();
}

// "root HEX" printed by the independent recomputation.
std::string recomputedRoot(const std::string& checkpoint_dir) {
  const auto r = test::runCommand("/usr/bin/python3 " + test::sourceDir() + "/tests/verify/recompute_root.py " +
                                  checkpoint_dir + " 2>&1");
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
    return test::runCommand(test::mlcpBinary() + " bridge " + args + " --rpc " + anvil->url() + " 2>&1");
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
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("contract: +(0x[0-9a-fA-F]{40})"))) << r.output;
  const std::string contract = m[1].str();
  test::writeFile(dir.file("plain.toml"), mlpJob(""));
  r = test::runCommand(test::mlcpBinary() + " run " + dir.file("plain.toml") + " --no-progress --max-steps 0 --output " +
                       dir.file("seed"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string initial = metricsRoot(dir.file("seed"), 0);
  ASSERT_EQ(initial.size(), 64u) << r.output;
  const std::string spec_hash = toHex(keccak256(test::readFile(dir.file("plain.toml"))));
  r = cli("job create --key " + sub + " --contract " + contract + " --spec-hash " + spec_hash +
          " --initial-root 0x" + initial + " --checkpoints 2 --steps-per-checkpoint 4 --escrow 2ether"
          " --stake 0.5ether --bond 0.1ether --referee 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
          " --challenge-window 60");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NE(r.output.find("JobCreated(jobId=1"), std::string::npos) << r.output;

  // 2. The solver accepts (posting its stake) and trains on 2 ranks; rank 0 commits the roots.
  const U256 before = chain.balance(solver);
  r = cli("job accept --key " + sol + " --contract " + contract + " --job 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  solver_fees = solver_fees + feeOf(r);
  test::writeFile(dir.file("job.toml"), mlpJob("[bridge]\nenabled = true\nrpc_url = \"" + anvil->url() +
                                                "\"\ncontract = \"" + contract + "\"\nkey_file = \"" + sol +
                                                "\"\njob_id = 1\n"));
  r = test::runCommand(test::mpiexec(2) + " " + test::mlcpBinary() + " run " + dir.file("job.toml") +
                       " --no-progress --output " + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 1 (step 4) on chain"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 2 (step 8) on chain"), std::string::npos) << r.output;
  solver_fees = solver_fees + feeOf(r);
  EXPECT_EQ(metricsRoot(dir.file("run"), 0), initial) << "the seed's state is placement-free";

  // 3. On chain: exactly the roots an independent program computes from the HDF5 files.
  JobsClient jobs(chain, parseAddress(contract));
  for (int k : {1, 2}) {
    const std::string recomputed = recomputedRoot(dir.file("run") + "/checkpoints/step-0000000" + std::to_string(4 * k));
    ASSERT_EQ(recomputed.size(), 64u);
    EXPECT_EQ(toHex(jobs.root(U256(1), static_cast<uint64_t>(k))), "0x" + recomputed) << "checkpoint " << k;
  }

  // 4. After the window the solver settles and withdraws: +2 ether escrow, stake back, minus gas.
  r = cli("settle --key " + sol + " --contract " + contract + " --job 1");
  EXPECT_NE(r.exit_code, 0) << "the window is still open:\n" << r.output;
  EXPECT_NE(r.output.find("ChallengeWindowOpen()"), std::string::npos) << r.output;
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({120}));
  chain.rpc().call("evm_mine");
  for (const std::string cmd : {"settle --key " + sol + " --contract " + contract + " --job 1",
                                "withdraw --key " + sol + " --contract " + contract}) {
    r = cli(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    solver_fees = solver_fees + feeOf(r);
  }
  EXPECT_EQ(chain.balance(solver), before + U256::parseAmount("2ether") - solver_fees);
  EXPECT_EQ(chain.balance(parseAddress(contract)), U256(0));
}

}  // namespace
}  // namespace mlcp::bridge
