// Issue #17 end to end on anvil with REAL training: the roles are separate `mlcp` processes —
// `mlcp run` under mpiexec (the solvers' training, committing roots through [bridge]),
// `mlcp solver serve`, `mlcp verifier watch`, `mlcp referee watch` — that meet only on the chain
// and in an exchange folder; the test creates the job with `mlcp bridge job create JOB.toml
// --price`, moves the chain's clock when every party has done what the phase asks (polling the
// chain for it, with deadlines), and checks every balance to the wei.
//   (a) an honest 2-task job, two solvers, one sampling verifier: everyone paid, the unused
//       verification budget refunded;
//   (b) the solver of task 2 cheats (--fault): the watching verifier finds it on its own,
//       challenges, plays the bisection against the solver's process, and relays the verdict
//       that two of a three-referee committee signed;
//   (c, d) forced errors: the verifier that replays flags the forced root and is paid the
//       jackpot; the one that approves without replaying loses its deposit to it;
//   (e) a run pointed at a job whose on-chain spec differs refuses to start; a task 2 run that
//       does not start from task 1's final state refuses too.
// Also: `mlcp plan` prints the work of the job, and the escrow follows from it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>

#include "bridge/chain_client.h"
#include "bridge/checkers_client.h"
#include "bridge/eth_key.h"
#include "bridge/market_client.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::BackgroundProcess;
using test::CommandResult;
using test::kAnvilKeys;

EthKey key(int i) { return EthKey::fromHex(kAnvilKeys[i]); }

// The job: a small MLP on Fashion-MNIST, `tasks` x `n` checkpoint intervals of `s` steps.
std::string mlpJob(int steps, int every, const std::string& extra = "", double lr = 0.003) {
  return fmt::format(
      "[job]\nname = \"market-job\"\nseed = 5\n"
      "[model]\nkind = \"mlp\"\nhidden = [32]\n"
      "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
      "train_limit = 1024\neval_limit = 200\n"
      "[optimizer]\nkind = \"adamw\"\nlr = {}\n"
      "[train]\nglobal_batch = 32\nmicro_batches = 4\nsteps = {}\n"
      "[checkpoint]\nevery = {}\n{}",
      lr, steps, every, extra);
}

std::string match(const std::string& text, const std::string& re) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(re))) return "";
  return m[1].str();
}

U256 gasPaidBy(ChainClient& chain, const Address& account) {
  U256 total;
  const uint64_t latest = chain.blockNumber();
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

// One market on a fresh anvil that makes a block every second (as a real chain does: seeds and
// samples are anchored to blocks that come on their own), and the parties' files.
struct MarketE2e {
  std::unique_ptr<test::Anvil> anvil;
  std::string why;
  test::TempDir dir{"mlcp-market-e2e"};
  std::unique_ptr<ChainClient> chain;
  std::string market, exchange;
  std::map<int, std::string> keys;  // anvil account -> key file
  std::map<int, U256> before;
  std::vector<std::unique_ptr<BackgroundProcess>> procs;

  bool start() {
    anvil = test::Anvil::start(&why, "--block-time 1");
    if (!anvil) return false;
    chain = std::make_unique<ChainClient>(anvil->url());
    for (int i = 0; i < 10; ++i) {
      keys[i] = dir.file(fmt::format("keys/account-{}.key", i));
      key(i).save(keys[i], true);
      before[i] = chain->balance(key(i).address());
    }
    exchange = dir.file("exchange");
    return true;
  }
  // `mlcp ARGS` with this party's node key (the ed25519 key its checkpoints are signed with).
  std::string mlcp(const std::string& node, const std::string& args) const {
    return "env MLCP_KEY_FILE=" + dir.file("node-" + node + ".key") + " " + test::mlcpBinary() +
           " " + args;
  }
  CommandResult run(const std::string& node, const std::string& args) const {
    return test::runCommand(mlcp(node, args) + " 2>&1");
  }
  std::string bridge(int account, const std::string& args) const {
    return "bridge " + args + " --key " + keys.at(account) + " --rpc " + anvil->url() +
           (market.empty() ? "" : " --contract " + market);
  }
  BackgroundProcess& background(const std::string& node, const std::string& args,
                                const std::string& log) {
    procs.push_back(std::make_unique<BackgroundProcess>(mlcp(node, args), dir.file(log)));
    return *procs.back();
  }
  std::string logs() const {
    std::string s;
    for (const auto& p : procs) s += "----\n" + p->log();
    return s;
  }
  void deploy() {
    const auto r = run("submitter", bridge(0, "deploy --market"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    market = match(r.output, "contract: +(0x[0-9a-fA-F]{40})");
    ASSERT_FALSE(market.empty()) << r.output;
  }
  MarketClient client() { return MarketClient(*chain, parseAddress(market)); }
  // Moves the chain's clock; the next block carries the new time.
  void travel(uint64_t seconds) {
    chain->rpc().call("evm_increaseTime", nlohmann::json::array({seconds}));
    chain->rpc().call("evm_mine");
  }
  // Polls the chain until `cond` holds (deadline in seconds of real time).
  void until(const std::string& what, double seconds, const std::function<bool()>& cond) {
    ASSERT_TRUE(test::waitUntil(seconds, cond)) << "waited for " << what << "\n" << logs();
  }
  U256 gained(int i) {
    const Address a = key(i).address();
    return chain->balance(a) + gasPaidBy(*chain, a) - before[i];
  }
  U256 lost(int i) {
    const Address a = key(i).address();
    return before[i] - chain->balance(a) - gasPaidBy(*chain, a);
  }
  std::string nodePublicKey(const std::string& node) {
    const auto r = run(node, "keys show");
    return match(r.output, "public key: ([0-9a-f]{64})");
  }
  // The solver's run of a task: the job with a [bridge] section for `task`.
  CommandResult train(int account, const std::string& node, uint64_t task, int steps, int every,
                      const std::string& run_dir, const std::string& flags) {
    const std::string job = dir.file(fmt::format("job-{}.toml", node));
    test::writeFile(job, mlpJob(steps, every,
                                fmt::format("[bridge]\nenabled = true\nrpc_url = \"{}\"\n"
                                            "contract = \"{}\"\nkey_file = \"{}\"\njob_id = {}\n",
                                            anvil->url(), market, keys.at(account), task)));
    return test::runCommand("MLCP_KEY_FILE=" + dir.file("node-" + node + ".key") + " " +
                            test::mpiexec(2) + " " + test::mlcpBinary() + " run " + job +
                            " --no-progress --output " + run_dir + " " + flags + " 2>&1");
  }
  std::string rootInMetrics(const std::string& run, int step) {
    return match(test::readFile(run + "/metrics/rank-00000.jsonl"),
                 "\"root\":\"([0-9a-f]{64})\",\"step\":" + std::to_string(step) + "[,}]");
  }
};

#define MLCP_START_MARKET(m)             \
  MarketE2e m;                           \
  if (!m.start()) GTEST_SKIP() << m.why; \
  m.deploy();                            \
  if (HasFatalFailure()) return

TEST(BridgeMarketE2e, PlanPrintsTheWorkAndJobCreatePricesIt) {
  test::TempDir dir("mlcp-market-plan");
  test::writeFile(dir.file("job.toml"), mlpJob(8, 2));
  const auto r = test::runCommand(test::mlcpBinary() + " plan " + dir.file("job.toml") +
                                  " --ranks 2 --picture " + dir.file("plan.png") + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Dense 784->32 and 32->10: 2 x (784 x 32 + 32 x 10) = 50,816 FLOPs forward per sample; x 32
  // samples = 1.63 MFLOP; backward twice that; AdamW 13 + 4 (the exact sum of 4 micro-batches)
  // per parameter, 25,450 parameters.
  EXPECT_NE(r.output.find("work per step: forward 1.63 MFLOP, backward 3.25 MFLOP, optimizer "
                          "433 kFLOP (with the exact sum), total 5.31 MFLOP"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("work of the job: 8 steps, 42.5 MFLOP in all"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("sent by each of the 2 data-parallel ranks"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("market units (GFLOP) per checkpoint interval of 2 steps: 1"),
            std::string::npos)
      << r.output;
}

// (a)
TEST(BridgeMarketE2e, HonestTwoTaskJobSettlesAndPaysEveryoneToTheWei) {
  MLCP_START_MARKET(m);
  test::writeFile(m.dir.file("job.toml"), mlpJob(8, 2));
  // The submitter: the job file, a price per GFLOP, two tasks of two checkpoints, no forced
  // errors; the escrow is computed from the work estimate.
  auto r = m.run("submitter", m.bridge(0, "job create " + m.dir.file("job.toml") +
                                              " --price 1000gwei --tasks 2 --forced-rate 0 "
                                              "--challenge-window 3600 --referee " +
                                              key(9).addressHex()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tasks:       1..2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GFLOP units per interval"), std::string::npos) << r.output;
  MarketClient market = m.client();
  const JobInfo t1 = market.jobs().job(U256(1));
  const GroupInfo g = market.group(U256(1));
  EXPECT_EQ(t1.num_checkpoints, 2u);
  EXPECT_EQ(t1.steps_per_checkpoint, 2u);
  EXPECT_EQ(g.units_per_checkpoint, 1u);
  const U256 pay = t1.escrow;  // P = N x units x price
  EXPECT_EQ(pay, U256(2) * U256::parseAmount("1000gwei"));
  CheckersClient checkers(*m.chain, market.checkersAddress());
  const TaskChecks tc = checkers.taskChecks(U256(1));
  // The verifier watches from the start.
  auto& verifier =
      m.background("verifier",
                   "verifier watch --rpc " + m.anvil->url() + " --key " + m.keys[3] + " --market " +
                       m.market + " --job " + m.dir.file("job.toml") + " --exchange " + m.exchange +
                       " --work " + m.dir.file("verifier") + " --until-done --poll 0.2",
                   "verifier.log");
  // Task 1: solver 1 accepts, trains steps 1..4 on 2 ranks (its run stops at the task's end),
  // then serves.
  r = m.run("solver1", m.bridge(1, "task accept --task 1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = m.train(1, "solver1", 1, 8, 2, m.dir.file("run1"), "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("this run stops after step 4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 2 (step 4) on chain"), std::string::npos) << r.output;
  m.background("solver1",
               "solver serve --rpc " + m.anvil->url() + " --key " + m.keys[1] + " --market " +
                   m.market + " --task 1 --run " + m.dir.file("run1") + " --exchange " +
                   m.exchange + " --poll 0.2",
               "solver1.log");
  m.until("the verifier's verdicts on task 1", 180,
          [&] { return checkers.verifier(U256(1), 0).status == VerifierStatus::kCommitted; });
  m.travel(901);  // past T1: reveals
  m.until("the reveal of task 1", 60,
          [&] { return checkers.verifier(U256(1), 0).status == VerifierStatus::kRevealed; });
  // Task 2 starts from task 1's final state, public after T1.
  const std::string final1 = m.exchange + "/public/task-1/checkpoints/step-00000004";
  m.until("task 1's published states", 60, [&] { return std::filesystem::exists(final1); });
  r = m.run("solver2", m.bridge(2, "task accept --task 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(market.jobs().job(U256(2)).initial_root, market.jobs().root(U256(1), 2));
  std::filesystem::create_directories(m.dir.file("run2/checkpoints"));
  std::filesystem::copy(final1, m.dir.file("run2/checkpoints/step-00000004"),
                        std::filesystem::copy_options::recursive);
  r = m.train(2, "solver2", 2, 8, 2, m.dir.file("run2"),
              "--resume --trust-signer " + m.nodePublicKey("solver1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bridge: commitment 2 (step 8) on chain"), std::string::npos) << r.output;
  m.background("solver2",
               "solver serve --rpc " + m.anvil->url() + " --key " + m.keys[2] + " --market " +
                   m.market + " --task 2 --run " + m.dir.file("run2") + " --exchange " +
                   m.exchange + " --poll 0.2",
               "solver2.log");
  // The roots on chain are the runs' own checkpoint roots.
  EXPECT_EQ(toHex(market.jobs().root(U256(1), 2)), "0x" + m.rootInMetrics(m.dir.file("run1"), 4));
  EXPECT_EQ(toHex(market.jobs().root(U256(2), 2)), "0x" + m.rootInMetrics(m.dir.file("run2"), 8));
  m.until("the verifier's verdicts on task 2", 180,
          [&] { return checkers.verifier(U256(2), 0).status == VerifierStatus::kCommitted; });
  m.travel(901);
  m.until("the reveal of task 2", 60,
          [&] { return checkers.verifier(U256(2), 0).status == VerifierStatus::kRevealed; });
  m.travel(3600);  // both windows over: the solvers settle (task 2 after task 1) and withdraw
  ASSERT_EQ(verifier.waitFor(180), 0) << m.logs();
  for (auto& p : m.procs) ASSERT_EQ(p->waitFor(120), 0) << m.logs();
  EXPECT_EQ(market.jobs().job(U256(1)).state, JobState::kSettled);
  EXPECT_EQ(market.jobs().job(U256(2)).state, JobState::kSettled);
  EXPECT_NE(verifier.log().find("probability of catching a solver that corrupts k of 2"),
            std::string::npos)
      << verifier.log();
  r = m.run("submitter", m.bridge(0, "withdraw"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // To the wei: each solver earned P; the verifier its two fees; the submitter paid 2 P and two
  // fees — the empty slots' fees and the jackpots (nothing forced) came back.
  EXPECT_EQ(m.gained(1), pay);
  EXPECT_EQ(m.gained(2), pay);
  EXPECT_EQ(m.gained(3), U256(2) * tc.verifier_fee);
  EXPECT_EQ(m.lost(0), U256(2) * (pay + tc.verifier_fee));
  EXPECT_EQ(m.chain->balance(market.address()), U256(0));
  EXPECT_EQ(m.chain->balance(checkers.address()), U256(0));
}

// (b)
TEST(BridgeMarketE2e, CheatingSolverOfTask2IsFoundByTheWatchingVerifierAndLosesTheDispute) {
  MLCP_START_MARKET(m);
  test::writeFile(m.dir.file("job.toml"), mlpJob(8, 2));
  // A 2-of-3 referee committee; the verifier replays every checkpoint of a task (2 of 2).
  auto r = m.run("submitter", m.bridge(0, "committee create --members " + key(7).addressHex() +
                                              "," + key(8).addressHex() + "," +
                                              key(9).addressHex() + " --threshold 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = m.run("submitter", m.bridge(0, "job create " + m.dir.file("job.toml") +
                                         " --price 1000gwei --tasks 2 --forced-rate 0 --samples 2 "
                                         "--challenge-window 3600 --committee 1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MarketClient market = m.client();
  CheckersClient checkers(*m.chain, market.checkersAddress());
  const U256 pay = market.jobs().job(U256(1)).escrow;
  const Economics e{market.jobs().job(U256(1)).stake,
                    market.jobs().job(U256(1)).bond,
                    checkers.taskChecks(U256(1)).verifier_fee,
                    checkers.taskChecks(U256(1)).verifier_deposit,
                    checkers.taskChecks(U256(1)).jackpot,
                    0,
                    2,
                    2};
  const std::string common = " --rpc " + m.anvil->url() + " --market " + m.market + " --exchange " +
                             m.exchange + " --poll 0.2";
  auto& verifier =
      m.background("verifier",
                   "verifier watch --key " + m.keys[3] + " --job " + m.dir.file("job.toml") +
                       " --work " + m.dir.file("verifier") + " --until-done" + common,
                   "verifier.log");
  for (int referee : {7, 8}) {
    m.background("referee" + std::to_string(referee),
                 "referee watch --key " + m.keys[referee] + " --work " +
                     m.dir.file("referee" + std::to_string(referee)) + " --verdicts 1" + common,
                 fmt::format("referee{}.log", referee));
  }
  ASSERT_EQ(m.run("solver1", m.bridge(1, "task accept --task 1")).exit_code, 0);
  r = m.train(1, "solver1", 1, 8, 2, m.dir.file("run1"), "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.background("solver1",
               "solver serve --key " + m.keys[1] + " --task 1 --run " + m.dir.file("run1") + common,
               "solver1.log");
  m.until("the verdicts on task 1", 180,
          [&] { return checkers.verifier(U256(1), 0).status == VerifierStatus::kCommitted; });
  m.travel(901);
  const std::string final1 = m.exchange + "/public/task-1/checkpoints/step-00000004";
  m.until("task 1's published states", 60, [&] { return std::filesystem::exists(final1); });
  ASSERT_EQ(m.run("solver2", m.bridge(2, "task accept --task 2")).exit_code, 0);
  std::filesystem::create_directories(m.dir.file("run2/checkpoints"));
  std::filesystem::copy(final1, m.dir.file("run2/checkpoints/step-00000004"),
                        std::filesystem::copy_options::recursive);
  // The solver of task 2 corrupts layer 1's forward output at step 6 on rank 1.
  r = m.train(2, "solver2", 2, 8, 2, m.dir.file("run2"),
              "--resume --trust-signer " + m.nodePublicKey("solver1") + " --fault 6:1:1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.background("solver2",
               "solver serve --key " + m.keys[2] + " --task 2 --run " + m.dir.file("run2") + common,
               "solver2.log");
  m.until("the verdicts on task 2", 180,
          [&] { return checkers.verifier(U256(2), 0).status == VerifierStatus::kCommitted; });
  m.travel(901);  // T1 of task 2: reveals; states public
  m.until("the reveals", 60,
          [&] { return checkers.verifier(U256(2), 0).status == VerifierStatus::kRevealed; });
  EXPECT_EQ(checkers.flagCount(U256(2), 1), 1u) << "checkpoint 1 of task 2 (steps 5-6) is wrong";
  EXPECT_EQ(checkers.flagCount(U256(2), 2), 0u)
      << "interval 2 is computed right from its (wrong) committed start: each interval is "
         "checked from its own input";
  m.travel(451);  // past T2: the verifier challenges on its own and plays the game
  m.until("the verdict on task 2", 300,
          [&] { return market.jobs().job(U256(2)).state == JobState::kSolverFailed; });
  EXPECT_EQ(market.task(U256(2)).failed_checkpoint, 1u);
  m.travel(3600);  // task 1's window: it settles
  ASSERT_EQ(verifier.waitFor(180), 0) << m.logs();
  for (auto& p : m.procs) ASSERT_EQ(p->waitFor(120), 0) << m.logs();
  const std::string vlog = verifier.log();
  EXPECT_NE(vlog.find("task 2: challenged checkpoint 1"), std::string::npos) << vlog;
  EXPECT_NE(vlog.find("relayed the committee's verdict (2 of 2 signatures): the challenger is "
                      "right"),
            std::string::npos)
      << vlog;
  EXPECT_NE(m.logs().find("mb2/forward/1"), std::string::npos) << "the planted operator";
  EXPECT_EQ(market.jobs().job(U256(1)).state, JobState::kSettled);
  ASSERT_EQ(m.run("submitter", m.bridge(0, "withdraw")).exit_code, 0);
  // Solver 1 earned P; solver 2 lost its stake to the challenger; the verifier earned both fees
  // and that stake (its bond came back); the submitter paid task 1 and the two fees.
  EXPECT_EQ(m.gained(1), pay);
  EXPECT_EQ(m.lost(2), e.stake);
  EXPECT_EQ(m.gained(3), U256(2) * e.verifier_fee + e.stake);
  EXPECT_EQ(m.lost(0), pay + U256(2) * e.verifier_fee);
  EXPECT_EQ(m.chain->balance(market.address()), U256(0));
  EXPECT_EQ(m.chain->balance(checkers.address()), U256(0));
}

// (c) and (d)
TEST(BridgeMarketE2e, ForcedErrorPaysTheReplayingVerifierTheJackpotAndTheLazyOnesDeposit) {
  MLCP_START_MARKET(m);
  test::writeFile(m.dir.file("job.toml"), mlpJob(4, 2));
  auto r = m.run("submitter", m.bridge(0, "job create " + m.dir.file("job.toml") +
                                              " --price 1000gwei --forced-rate 10000 --samples 2 "
                                              "--challenge-window 3600 --referee " +
                                              key(9).addressHex()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MarketClient market = m.client();
  CheckersClient checkers(*m.chain, market.checkersAddress());
  const TaskChecks tc = checkers.taskChecks(U256(1));
  const U256 pay = market.jobs().job(U256(1)).escrow;
  const std::string common = " --rpc " + m.anvil->url() + " --market " + m.market + " --exchange " +
                             m.exchange + " --poll 0.2";
  auto& honest =
      m.background("honest",
                   "verifier watch --key " + m.keys[3] + " --job " + m.dir.file("job.toml") +
                       " --work " + m.dir.file("honest") + " --until-done" + common,
                   "honest.log");
  ASSERT_EQ(m.run("solver1", m.bridge(1, "task accept --task 1")).exit_code, 0);
  // The lazy checker registers after the honest one (slot 1), and approves without replaying.
  m.until("the honest verifier's slot", 60,
          [&] { return checkers.taskChecks(U256(1)).verifiers == 1; });
  auto& lazy = m.background("lazy",
                            "verifier watch --key " + m.keys[4] + " --job " +
                                m.dir.file("job.toml") + " --work " + m.dir.file("lazy") +
                                " --until-done --approve-without-replay" + common,
                            "lazy.log");
  r = m.train(1, "solver1", 1, 4, 2, m.dir.file("run1"), "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the task's forced error"), std::string::npos) << r.output;
  m.background("solver1",
               "solver serve --key " + m.keys[1] + " --task 1 --run " + m.dir.file("run1") + common,
               "solver1.log");
  m.until("both verifiers' verdicts", 180, [&] {
    return checkers.verifier(U256(1), 0).status == VerifierStatus::kCommitted &&
           checkers.verifier(U256(1), 1).status == VerifierStatus::kCommitted;
  });
  m.travel(901);
  m.until("the reveals", 60, [&] {
    return checkers.verifier(U256(1), 1).status == VerifierStatus::kRevealed &&
           checkers.verifier(U256(1), 0).status == VerifierStatus::kRevealed;
  });
  m.travel(451);  // (T2, T3]: the solver's process reveals its seed
  m.until("the seed reveal", 60, [&] { return market.task(U256(1)).seedRevealed(); });
  const uint64_t j = market.task(U256(1)).forced_checkpoint;
  ASSERT_GE(j, 1u);
  EXPECT_EQ(checkers.flagCount(U256(1), j), 1u) << "the honest verifier flagged it";
  EXPECT_EQ(toHex(market.jobs().root(U256(1), j)),
            "0x" + m.rootInMetrics(m.dir.file("run1"), static_cast<int>(2 * j)))
      << "the true root replaced the forced one";
  m.travel(3600);
  for (auto& p : m.procs) ASSERT_EQ(p->waitFor(180), 0) << m.logs();
  EXPECT_EQ(market.jobs().job(U256(1)).state, JobState::kSettled);
  EXPECT_EQ(honest.log().find("challenged"), std::string::npos) << "a forced error is not disputed";
  EXPECT_NE(lazy.log().find("approved without replaying"), std::string::npos) << lazy.log();
  ASSERT_EQ(m.run("submitter", m.bridge(0, "withdraw")).exit_code, 0);
  // (c) the flagger: its fee, the jackpot and the lazy checker's deposit; (d) the lazy checker
  // lost its deposit; the solver earned P; the submitter paid P, one fee and the jackpot.
  EXPECT_EQ(m.gained(3), tc.verifier_fee + tc.jackpot + tc.verifier_deposit);
  EXPECT_EQ(m.lost(4), tc.verifier_deposit);
  EXPECT_EQ(m.gained(1), pay);
  EXPECT_EQ(m.lost(0), pay + tc.verifier_fee + tc.jackpot);
  EXPECT_EQ(m.chain->balance(market.address()), U256(0));
  EXPECT_EQ(m.chain->balance(checkers.address()), U256(0));
}

// (e)
TEST(BridgeMarketE2e, ARunWhoseJobDiffersFromTheChainsRefusesToStart) {
  MLCP_START_MARKET(m);
  test::writeFile(m.dir.file("job.toml"), mlpJob(8, 2));
  auto r = m.run("submitter", m.bridge(0, "job create " + m.dir.file("job.toml") +
                                              " --price 1000gwei --tasks 2 --forced-rate 0 "
                                              "--referee " +
                                              key(9).addressHex()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(m.run("solver1", m.bridge(1, "task accept --task 1")).exit_code, 0);
  auto bridged = [&](double lr, int every, uint64_t task) {
    const std::string job = m.dir.file(fmt::format("job-{}-{}-{}.toml", lr, every, task));
    test::writeFile(job, mlpJob(8, every,
                                fmt::format("[bridge]\nenabled = true\nrpc_url = \"{}\"\n"
                                            "contract = \"{}\"\nkey_file = \"{}\"\njob_id = {}\n",
                                            m.anvil->url(), m.market, m.keys[1], task),
                                lr));
    return job;
  };
  auto refuse = [&](const std::string& job, const std::string& needle) {
    const auto res = test::runCommand(test::mpiexec(2) + " " + test::mlcpBinary() + " run " + job +
                                      " --no-progress --output " + m.dir.file("refused") + " 2>&1");
    EXPECT_EQ(res.exit_code, 2) << res.output;
    EXPECT_NE(res.output.find(needle), std::string::npos) << res.output;
    EXPECT_EQ(res.output.find("step 1:"), std::string::npos) << "no step was computed";
    // One sentence, once (rank 0's), and no stack trace.
    size_t errors = 0;
    for (size_t p = res.output.find("mlcp: error"); p != std::string::npos;
         p = res.output.find("mlcp: error", p + 1)) {
      ++errors;
    }
    EXPECT_EQ(errors, 1u) << res.output;
    EXPECT_EQ(res.output.find("internal error"), std::string::npos) << res.output;
  };
  // Another learning rate: another program, another spec hash.
  refuse(bridged(0.001, 2, 1), "has spec hash");
  // Checkpoints every 4 steps: not the job's intervals.
  refuse(bridged(0.003, 4, 1), "commits a checkpoint every 2 steps");
  // Task 2 from the seed instead of task 1's final state (and not accepted).
  refuse(bridged(0.003, 2, 2), "starts from step 4");
  MarketClient market = m.client();
  EXPECT_EQ(market.jobs().job(U256(1)).committed, 0u) << "nothing was committed";
}

}  // namespace
}  // namespace mlcp::bridge
