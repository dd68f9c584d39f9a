// `mlcp bridge ...` end to end, running the built binary: --help everywhere, user mistakes as
// one sentence with exit 2, an unreachable node as exit 1 naming the URL, a whole job on anvil
// with the solver's payout checked to the wei, and an offline outbox whose flush is killed
// (SIGKILL) right after a send and rerun without sending anything twice.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "bridge/chain_client.h"
#include "bridge/contract_artifacts.h"
#include "bridge/keccak.h"
#include "bridge/transaction.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::CommandResult;
using test::kAnvilKeys;

struct Cli {
  test::TempDir dir{"mlcp-bridge-cli"};
  std::string sub, sol;
  Cli() {
    sub = keyFile("submitter.key", kAnvilKeys[0]);
    sol = keyFile("solver.key", kAnvilKeys[1]);
  }
  std::string keyFile(const std::string& name, const char* hex) {
    std::string p = dir.file(name);
    EthKey::fromHex(hex).save(p, true);
    return p;
  }
  CommandResult run(const std::string& args) const {
    return test::runCommand(test::mlcpBinary() + " bridge " + args + " 2>&1");
  }
};

std::string hash32(char c) { return "0x" + std::string(64, c); }

// The one "mlcp: error: ..." line, asserting there is exactly one line.
void expectOneSentence(const CommandResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.output;
  EXPECT_NE(r.output.find("mlcp: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

Hash32 txHashIn(const std::string& output) {
  std::smatch m;
  std::regex re("transaction: (0x[0-9a-f]{64})");
  if (!std::regex_search(output, m, re)) throw InvalidArgument("no transaction hash in: " + output);
  return fixedFromHex<32>(m[1].str(), "tx hash");
}

TEST(BridgeCli, HelpEverywhere) {
  Cli cli;
  for (const char* sub :
       {"", "key", "key new", "key show", "deploy", "job", "job create", "job accept", "commit",
        "challenge", "settle", "withdraw", "status", "flush"}) {
    CommandResult r = cli.run(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << ": " << r.output;
    EXPECT_NE(r.output.find("Usage:"), std::string::npos) << sub;
  }
}

TEST(BridgeCli, KeyNewWritesAPrivateFileAndShowReadsIt) {
  Cli cli;
  std::string path = cli.dir.file("keys/new.key");
  CommandResult made = cli.run("key new --key " + path);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string address = EthKey::load(path).addressHex();
  EXPECT_NE(made.output.find("address:  " + address), std::string::npos) << made.output;
  CommandResult shown = cli.run("key show --key " + path);
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.output.find(address), std::string::npos) << shown.output;
  expectOneSentence(cli.run("key new --key " + path), 2, "already exists (use --force");
  EXPECT_EQ(cli.run("key new --force --key " + path).exit_code, 0);
  EXPECT_NE(EthKey::load(path).addressHex(), address);
}

TEST(BridgeCli, UserMistakesAreOneSentenceAndExitTwo) {
  Cli cli;
  const std::string c = " --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3";
  ::chmod(cli.sol.c_str(), 0644);
  expectOneSentence(cli.run("withdraw --rpc http://127.0.0.1:1 --key " + cli.sol + c), 2,
                    "chmod 600");
  ::chmod(cli.sol.c_str(), 0600);
  expectOneSentence(
      cli.run("withdraw --rpc http://127.0.0.1:1 --key " + cli.dir.file("nope.key") + c), 2,
      "cannot read key file " + cli.dir.file("nope.key"));
  expectOneSentence(
      cli.run("withdraw --rpc http://127.0.0.1:1 --key " + cli.sol +
              " --contract 0x5FbDB2315678afecb367f032d93F642f64180aA3"),
      2, "--contract '0x5FbDB2315678afecb367f032d93F642f64180aA3' has a wrong EIP-55 checksum");
  expectOneSentence(
      cli.run("withdraw --rpc http://127.0.0.1:1 --key " + cli.sol + " --contract 0x1234"), 2,
      "--contract must be 0x followed by 40 hex digits");
  expectOneSentence(cli.run("withdraw --key " + cli.sol + c), 2,
                    "give --rpc URL to send now, or --outbox FILE");
  expectOneSentence(
      cli.run("withdraw --outbox " + cli.dir.file("o.jsonl") + " --key " + cli.sol + c), 2,
      "--chain-id");
  expectOneSentence(
      cli.run("commit --outbox " + cli.dir.file("o.jsonl") + " --chain-id 31337 --key " + cli.sol +
              c + " --job 1 --index 1 --root 0x12"),
      2, "--root must be 64 hex digits");
  expectOneSentence(cli.run("withdraw --rpc localhost:8545 --key " + cli.sol + c), 2,
                    "must start with http://");
  CommandResult missing = cli.run("job accept --key " + cli.sol);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;  // CLI11: a required option is missing
}

TEST(BridgeCli, UnreachableNodeExitsOneNamingTheUrl) {
  Cli cli;
  std::string url = test::deadUrl();
  expectOneSentence(cli.run("status --rpc " + url), 1, "cannot reach the chain node at " + url);
  expectOneSentence(cli.run("withdraw --rpc " + url + " --key " + cli.sol +
                            " --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3"),
                    1, "cannot reach the chain node at " + url);
}

TEST(BridgeCli, WholeJobOnAnvilPaysTheSolverToTheWei) {
  MLCP_START_ANVIL(anvil);
  Cli cli;
  ChainClient chain(anvil->url());
  const std::string rpc = " --rpc " + anvil->url();
  const std::string contract =
      checksumAddress(contractAddress(EthKey::fromHex(kAnvilKeys[0]).address(), 0));
  const std::string c = " --contract " + contract;
  Address solver = EthKey::fromHex(kAnvilKeys[1]).address();
  U256 solver_fees;
  auto ok = [&](const std::string& args, bool solver_pays) {
    CommandResult r = cli.run(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    if (r.exit_code == 0 && solver_pays)
      solver_fees = solver_fees + chain.receipt(txHashIn(r.output))->fee();
    return r.output;
  };
  EXPECT_NE(ok("deploy --key " + cli.sub + rpc, false).find("contract:    " + contract),
            std::string::npos);
  U256 solver_before = chain.balance(solver);
  std::string created =
      ok("job create --key " + cli.sub + rpc + c + " --spec-hash " + hash32('1') +
             " --initial-root " + hash32('2') +
             " --checkpoints 2 --steps-per-checkpoint 5 --escrow 2ether --stake 0.5ether"
             " --bond 0.1ether --referee 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC "
             "--challenge-window 60",
         false);
  EXPECT_NE(created.find("event:       JobCreated(jobId=1"), std::string::npos) << created;
  ok("job accept --key " + cli.sol + rpc + c + " --job 1", true);
  CommandResult again = cli.run("job accept --key " + cli.sol + rpc + c + " --job 1");
  expectOneSentence(again, 1, "BadJobState(state=2)");
  ok("commit --key " + cli.sol + rpc + c + " --job 1 --index 1 --root " + hash32('3'), true);
  expectOneSentence(
      cli.run("commit --key " + cli.sol + rpc + c + " --job 1 --index 1 --root " + hash32('9')), 1,
      "WrongIndex(expected=2)");
  ok("commit --key " + cli.sol + rpc + c + " --job 1 --index 2 --root " + hash32('4'), true);
  std::string status = ok("status" + rpc + c + " --job 1 --key " + cli.sol, false);
  EXPECT_NE(status.find("state                3 (Committed)"), std::string::npos) << status;
  expectOneSentence(cli.run("settle --key " + cli.sol + rpc + c + " --job 1"), 1,
                    "ChallengeWindowOpen()");
  // Let the challenge window pass on the chain's clock.
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({120}));
  chain.rpc().call("evm_mine");
  ok("settle --key " + cli.sol + rpc + c + " --job 1", true);
  ok("withdraw --key " + cli.sol + rpc + c, true);
  expectOneSentence(cli.run("withdraw --key " + cli.sol + rpc + c), 1, "NothingToWithdraw()");
  // The solver posted 0.5 ether, got 2 ether escrow + its stake back, and paid gas.
  EXPECT_EQ(chain.balance(solver), solver_before + U256::parseAmount("2ether") - solver_fees);
  EXPECT_EQ(chain.balance(parseAddress(contract)), U256(0));
}

TEST(BridgeCli, ChallengeAndASilentSolverTimedOut) {
  MLCP_START_ANVIL(anvil);
  Cli cli;
  std::string verifier = cli.keyFile("verifier.key", kAnvilKeys[3]);  // not the referee (account 2)
  ChainClient chain(anvil->url());
  const std::string rpc = " --rpc " + anvil->url();
  const std::string contract =
      checksumAddress(contractAddress(EthKey::fromHex(kAnvilKeys[0]).address(), 0));
  const std::string c = " --contract " + contract;
  auto ok = [&](const std::string& args) {
    CommandResult r = cli.run(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return r;
  };
  ok("deploy --key " + cli.sub + rpc);
  // One step per checkpoint: a challenge goes straight to the solver's operator count.
  ok("job create --key " + cli.sub + rpc + c + " --spec-hash " + hash32('1') + " --initial-root " +
     hash32('2') + " --checkpoints 1 --steps-per-checkpoint 1 --escrow 1ether --stake 0.4ether" +
     " --bond 0.1ether --referee 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC --move-timeout 100");
  ok("job accept --key " + cli.sol + rpc + c + " --job 1");
  ok("commit --key " + cli.sol + rpc + c + " --job 1 --index 1 --root " + hash32('3'));
  expectOneSentence(cli.run("challenge --key " + verifier + rpc + c +
                            " --job 1 --checkpoint 1 --root " + hash32('3')),
                    1, "NoDisagreement()");
  CommandResult ch =
      ok("challenge --key " + verifier + rpc + c + " --job 1 --checkpoint 1 --root " + hash32('4'));
  std::string st = ok("status" + rpc + c + " --job 1").output;
  EXPECT_NE(st.find("phase                OperatorCount"), std::string::npos) << st;
  EXPECT_NE(st.find("to move" + std::string(14, ' ') + "solver"), std::string::npos) << st;
  expectOneSentence(cli.run("timeout --key " + verifier + rpc + c + " --job 1"), 1,
                    "DeadlineNotPassed()");
  expectOneSentence(
      cli.run("resolve --key " + verifier + rpc + c + " --job 1 --solver-correct true"), 1,
      "NotReferee()");
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({101}));
  chain.rpc().call("evm_mine");
  Address v = EthKey::fromHex(kAnvilKeys[3]).address();
  U256 before = chain.balance(v);
  CommandResult t = ok("timeout --key " + verifier + rpc + c + " --job 1");
  EXPECT_NE(t.output.find("SolverFailed(jobId=1"), std::string::npos) << t.output;
  CommandResult w = ok("withdraw --key " + verifier + rpc + c);
  U256 fees = chain.receipt(txHashIn(t.output))->fee() + chain.receipt(txHashIn(w.output))->fee();
  // The silent solver's stake and the bond back to the challenger, to the wei.
  EXPECT_EQ(chain.balance(v), before + U256::parseAmount("0.5ether") - fees);
  st = ok("status" + rpc + c + " --job 1").output;
  EXPECT_NE(st.find("6 (SolverFailed)"), std::string::npos) << st;
}

TEST(BridgeCli, OfflineOutboxFlushKilledMidwayThenRerunSendsNothingTwice) {
  Cli cli;
  const std::string ob = " --outbox " + cli.dir.file("gateway.jsonl") + " --chain-id 31337";
  const std::string contract =
      checksumAddress(contractAddress(EthKey::fromHex(kAnvilKeys[0]).address(), 0));
  const std::string c = " --contract " + contract;
  auto ok = [&](const std::string& args) {
    CommandResult r = cli.run(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return r.output;
  };
  // No chain anywhere: everything is signed and queued.
  EXPECT_NE(ok("deploy --key " + cli.sub + ob).find("contract:    " + contract + " (once flushed)"),
            std::string::npos);
  ok("job create --key " + cli.sub + ob + c + " --spec-hash " + hash32('1') + " --initial-root " +
     hash32('2') +
     " --checkpoints 3 --steps-per-checkpoint 5 --escrow 2ether --stake 0.5ether --bond 0.1ether"
     " --referee 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
  ok("job accept --key " + cli.sol + ob + c + " --job 1 --stake 0.5ether");
  for (int i = 1; i <= 3; ++i)
    ok("commit --key " + cli.sol + ob + c + " --job 1 --index " + std::to_string(i) + " --root " +
       hash32('4' + i));
  std::string st = ok("status --outbox " + cli.dir.file("gateway.jsonl"));
  EXPECT_NE(st.find("(6 transactions, 6 pending)"), std::string::npos) << st;

  MLCP_START_ANVIL(anvil);
  ChainClient chain(anvil->url());
  Address sub = EthKey::fromHex(kAnvilKeys[0]).address(),
          sol = EthKey::fromHex(kAnvilKeys[1]).address();
  auto count = [&] {
    return chain.transactionCount(sub, "latest") + chain.transactionCount(sol, "latest");
  };
  const std::string flush =
      "flush --rpc " + anvil->url() + " --outbox " + cli.dir.file("gateway.jsonl");
  CommandResult killed = cli.run(flush + " --kill-after 3");
  EXPECT_EQ(killed.exit_code, 128 + 9) << killed.output;  // SIGKILL right after the 3rd send
  EXPECT_TRUE(test::waitUntil(10, [&] { return count() >= 3; }));
  EXPECT_EQ(count(), 3u);

  CommandResult rerun = cli.run(flush);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("3 sent now, 1 already on chain, 2 marked before, 0 reverted"),
            std::string::npos)
      << rerun.output;
  EXPECT_EQ(chain.transactionCount(sub, "latest"), 2u);
  EXPECT_EQ(chain.transactionCount(sol, "latest"), 4u);
  CommandResult third = cli.run(flush);
  EXPECT_NE(third.output.find("0 sent now, 0 already on chain, 6 marked before"), std::string::npos)
      << third.output;
  EXPECT_EQ(count(), 6u);
  std::string status = ok("status --rpc " + anvil->url() + c + " --job 1");
  EXPECT_NE(status.find("committed            3"), std::string::npos) << status;
}

}  // namespace
}  // namespace mlcp::bridge
