// MlcpMarket and MlcpCheckers from C++ against a real anvil (issue #17): the commit–reveal
// randomness computed here equals the contracts' own views; every custom error has an
// explanation; the catch probability; and whole tasks driven by the library's solver and
// verifier sides (bridge/task_solver.h, bridge/task_verifier.h) — a forced error flagged by an
// honest verifier, who wins the jackpot and the lazy verifier's deposit; a cheating solver
// challenged by the verifier, the bisection played to a 2-of-3 committee's signed verdict and
// relayed; and a verifier whose node goes away mid-send that never sends an action twice.
// Replays are the test's own table of true roots here (the end-to-end tests with real training
// are test_bridge_market_e2e); balances are checked to the wei.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "bridge/checkers_client.h"
#include "bridge/contract_artifacts.h"
#include "bridge/contract_errors.h"
#include "bridge/journaled_sender.h"
#include "bridge/keccak.h"
#include "bridge/market_client.h"
#include "bridge/market_randomness.h"
#include "bridge/state_exchange.h"
#include "bridge/task_solver.h"
#include "bridge/task_verifier.h"
#include "tests/bridge/anvil_fixture.h"
#include "tests/bridge/tcp_proxy.h"

namespace mlcp::bridge {
namespace {

using test::kAnvilKeys;

EthKey key(int i) { return EthKey::fromHex(kAnvilKeys[i]); }

Hash32 trueRoot(uint64_t k) { return keccak256(fmt::format("true root {}", k)); }

void mine(ChainClient& c) { c.rpc().call("evm_mine"); }
void travel(ChainClient& c, uint64_t seconds) {
  c.rpc().call("evm_increaseTime", nlohmann::json::array({seconds}));
  c.rpc().call("evm_mine");
}

// Wei each account paid for gas, from every block (anvil starts empty per test).
U256 gasPaidBy(ChainClient& chain, const Address& account) {
  U256 total;
  for (uint64_t b = 0; b <= chain.blockNumber(); ++b) {
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

MarketJobSpec smallSpec(uint32_t tasks, uint32_t n, uint32_t s) {
  MarketJobSpec spec;
  spec.spec_hash = keccak256("spec");
  spec.initial_root = trueRoot(0);
  spec.num_tasks = tasks;
  spec.checkpoints_per_task = n;
  spec.steps_per_checkpoint = s;
  spec.units_per_checkpoint = 10;
  spec.price_per_unit = U256::parseAmount("1gwei");
  spec.commit_timeout_s = 3600;
  spec.challenge_window_s = 7200;
  spec.move_timeout_s = 600;
  spec.verdict_window_s = 1800;
  spec.phase_window_s = 600;
  spec.referee = key(9).address();
  return spec;
}

TEST(BridgeMarket, RandomnessMatchesTheContractsViews) {
  MLCP_START_ANVIL(anvil);
  ChainClient chain(anvil->url());
  MarketClient market = MarketClient::deploy(chain, key(0));
  CheckersClient checkers(chain, market.checkersAddress());
  EXPECT_EQ(checkers.address(), contractAddress(market.address(), 1));
  for (uint64_t i = 0; i < 12; ++i) {
    const Hash32 seed = keccak256(fmt::format("seed {}", i));
    const Hash32 anchor = keccak256(fmt::format("anchor {}", i));
    for (uint64_t rate : {0u, 2500u, 10000u}) {
      for (uint64_t n : {1u, 3u, 8u}) {
        EXPECT_EQ(forcedCheckpointOf(seed, anchor, rate, n),
                  market.forcedCheckpointOf(seed, anchor, rate, n))
            << i << " " << rate << " " << n;
      }
    }
    EXPECT_EQ(forcedRoot(chain.chainId(), market.address(), U256(i + 1), 3, trueRoot(i), seed),
              market.forcedRoot(U256(i + 1), 3, trueRoot(i), seed));
    for (uint64_t n : {1u, 4u, 16u}) {
      for (uint64_t m : {1u, 4u}) {
        if (m > n) continue;
        EXPECT_EQ(sampleOf(seed, n, m), checkers.sampleOf(seed, n, m)) << i << " " << n << " " << m;
      }
    }
  }
  // The defaults follow the documented fractions of P.
  const MarketJobSpec spec = smallSpec(2, 4, 3);
  const Economics e = market.defaultEconomics(spec);
  const U256 p = spec.taskPayment();
  EXPECT_EQ(e.stake, p);
  EXPECT_EQ(e.bond, p.divSmall(10));
  EXPECT_EQ(e.verifier_fee, (spec.intervalPrice() * U256(5)).divSmall(4));
  EXPECT_EQ(e.verifier_deposit, p * U256(8));
  EXPECT_EQ(e.jackpot, p.divSmall(10));
  EXPECT_EQ(e.forced_rate_bps, 2500);
  EXPECT_EQ(e.max_verifiers, 2);
  EXPECT_EQ(e.samples_per_verifier, 1);
}

TEST(BridgeMarket, EveryCustomErrorIsExplained) {
  for (const ContractAbi* abi : {&mlcpJobsAbi(), &mlcpMarketAbi(), &mlcpCheckersAbi()}) {
    for (const AbiError& e : abi->errors()) {
      EXPECT_FALSE(explainContractError(e.name).empty()) << e.name;
    }
  }
}

TEST(BridgeMarket, CatchProbability) {
  EXPECT_DOUBLE_EQ(catchProbability(8, 0, 1, 2), 0.0);
  EXPECT_DOUBLE_EQ(catchProbability(8, 1, 1, 1), 1.0 / 8);
  EXPECT_DOUBLE_EQ(catchProbability(8, 1, 1, 2), 1.0 - (7.0 / 8) * (7.0 / 8));
  EXPECT_DOUBLE_EQ(catchProbability(8, 2, 2, 1), 1.0 - (6.0 / 8) * (5.0 / 7));
  EXPECT_DOUBLE_EQ(catchProbability(4, 1, 4, 1), 1.0);
  EXPECT_DOUBLE_EQ(catchProbability(4, 3, 2, 1), 1.0);
}

// A market job on anvil with its parties; the test mines blocks and moves time (the chain's
// clock), the library's sides do the rest.
struct Scenario {
  test::TempDir dir{"mlcp-bridge-market"};
  ChainClient chain;
  MarketClient market;
  std::unique_ptr<CheckersClient> checkers;
  MarketJobSpec spec;
  Economics econ;
  U256 task;
  std::map<Address, U256> before;

  Scenario(const std::string& url, MarketJobSpec s, const std::function<void(Economics&)>& tune,
           uint32_t committee_threshold = 0)
      : chain(url), market(MarketClient::deploy(chain, key(0))), spec(std::move(s)) {
    checkers = std::make_unique<CheckersClient>(chain, market.checkersAddress());
    // Balance plus the gas paid so far (the deployment): gained() and lost() count from here.
    for (int i = 0; i < 10; ++i) {
      const Address a = key(i).address();
      before[a] = chain.balance(a) + gasPaidBy(chain, a);
    }
    if (committee_threshold != 0) {
      spec.committee = market.createCommittee(
          key(0), {key(7).address(), key(8).address(), key(9).address()}, committee_threshold);
    }
    econ = market.defaultEconomics(spec);
    tune(econ);
    task = market.createMarketJob(key(0), spec, econ);
  }
  // Balance change of account i, gas included.
  U256 gained(int i) {
    const Address a = key(i).address();
    return chain.balance(a) + gasPaidBy(chain, a) - before[a];
  }
  U256 lost(int i) {
    const Address a = key(i).address();
    return before[a] - chain.balance(a) - gasPaidBy(chain, a);
  }
  void commit(const EthKey& solver, uint64_t k, const Hash32& root) {
    market.jobs().commitCheckpoint(
        solver, signCommitment({chain.chainId(), market.address(), task, k, root}, solver));
  }
  VerifierHooks hooks(std::vector<std::string>* log) {
    VerifierHooks h;
    h.replay = [](const U256&, uint64_t k, const SampleProof&) {
      return std::optional<Hash32>(trueRoot(k));
    };
    h.log = [log](const std::string& line) { log->push_back(line); };
    return h;
  }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(BridgeMarket, ForcedErrorPaysTheFlaggerTheJackpotAndTheLazyCheckersDeposit) {
  MLCP_START_ANVIL(anvil);
  Scenario sc(anvil->url(), smallSpec(1, 4, 2), [](Economics& e) {
    e.forced_rate_bps = 10000;   // every task carries a forced error
    e.samples_per_verifier = 4;  // each verifier replays all four intervals
  });
  // 1-2. The solver accepts with a seed commitment and anchors it once block b+1 exists.
  SolverTask solver(sc.market, key(1), sc.task, sc.dir.file("solver/task.json"));
  solver.accept();
  mine(sc.chain);
  const uint64_t j = solver.anchor(10);
  ASSERT_GE(j, 1u);
  ASSERT_LE(j, 4u);
  EXPECT_EQ(j, sc.market.forcedCheckpointOf(solver.state().seed, solver.state().anchor, 10000, 4));
  // Two verifiers: A replays, B approves without replaying.
  std::vector<std::string> log_a, log_b;
  JournaledSender ja(sc.chain, sc.dir.file("a/journal.jsonl"));
  JournaledSender jb(sc.chain, sc.dir.file("b/journal.jsonl"));
  MarketClient ma(sc.chain, sc.market.address()), mb(sc.chain, sc.market.address());
  CheckersClient ca(sc.chain, sc.checkers->address()), cb(sc.chain, sc.checkers->address());
  ma.setSender(ja.sender());
  ca.setSender(ja.sender());
  mb.setSender(jb.sender());
  cb.setSender(jb.sender());
  VerifierTask a(ma, ca, key(2), sc.task, sc.dir.file("a/task.json"), sc.hooks(&log_a));
  VerifierOptions lazy;
  lazy.replay = false;
  VerifierTask b(mb, cb, key(3), sc.task, sc.dir.file("b/task.json"), sc.hooks(&log_b), lazy);
  auto until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 40 && !done(); ++i) {
      a.advance();
      b.advance();
      mine(sc.chain);
    }
    ASSERT_TRUE(done()) << joined(log_a) << joined(log_b);
  };
  until([&] { return sc.checkers->verifier(sc.task, 1).status == VerifierStatus::kAnchored; });
  // 3-4. The solver commits, with the forced root at j.
  for (uint64_t k = 1; k <= 4; ++k) {
    const Hash32 r = solver.rootToCommit(k, trueRoot(k));
    EXPECT_EQ(r != trueRoot(k), k == j);
    sc.commit(key(1), k, r);
  }
  until([&] {
    return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kCommitted &&
           sc.checkers->verifier(sc.task, 1).status == VerifierStatus::kCommitted;
  });
  EXPECT_EQ(a.state().flags, 1u << (std::find(a.state().sample.begin(), a.state().sample.end(), j) -
                                    a.state().sample.begin()));
  EXPECT_EQ(b.state().flags, 0u);
  // 5. After T1 both reveal; 6. after T2 the solver reveals the seed; nobody challenges a forced
  // error.
  EXPECT_FALSE(solver.revealIfDue()) << "not in (T2, T3] yet";
  travel(sc.chain, 1801);
  until([&] { return sc.checkers->verifier(sc.task, 1).status == VerifierStatus::kRevealed; });
  EXPECT_EQ(sc.checkers->flagCount(sc.task, j), 1u);
  travel(sc.chain, 601);
  ASSERT_TRUE(solver.revealIfDue());
  EXPECT_EQ(sc.market.task(sc.task).forced_checkpoint, j);
  EXPECT_EQ(sc.market.jobs().root(sc.task, j), trueRoot(j)) << "the true root replaced it";
  a.advance();
  EXPECT_EQ(sc.market.jobs().job(sc.task).state, JobState::kCommitted) << joined(log_a);
  // 7. After the window the task settles; the verifiers withdraw on their own.
  travel(sc.chain, 7200);
  sc.market.jobs().settle(key(1), sc.task);
  until([&] {
    return a.advance() == VerifierTask::Progress::kDone &&
           b.advance() == VerifierTask::Progress::kDone;
  });
  sc.market.jobs().withdraw(key(1));
  sc.market.jobs().withdraw(key(0));
  const U256 d = sc.econ.verifier_deposit, fee = sc.econ.verifier_fee;
  EXPECT_EQ(sc.gained(2), fee + sc.econ.jackpot + d) << "its fee, the jackpot, B's deposit";
  EXPECT_EQ(sc.lost(3), d) << "the lazy checker loses its deposit";
  EXPECT_EQ(sc.gained(1), sc.spec.taskPayment());
  EXPECT_EQ(sc.lost(0), sc.spec.taskPayment() + fee + sc.econ.jackpot)
      << "the submitter paid P, A's fee and the jackpot (B's fee came back)";
  EXPECT_EQ(sc.chain.balance(sc.market.address()), U256(0));
  EXPECT_EQ(sc.chain.balance(sc.checkers->address()), U256(0));
  EXPECT_EQ(ja.signedCount(), 5u) << "register, anchor, commit, reveal, withdraw";
}

// The challenger's and the solver's hashes over an interval of S steps; the solver's are wrong
// from global step `bad` on (0: honest).
PartyHashes party(uint64_t s, uint64_t bad) {
  auto state = [=](uint64_t step) {
    return keccak256(fmt::format("{} {}", bad != 0 && step >= bad ? "bad" : "state", step));
  };
  PartyHashes p;
  p.step_hash = [=](uint64_t k, uint64_t pos) {
    if (pos == 0 && k == 1) return trueRoot(0);
    if (pos == 0) return bad != 0 && (k - 1) * s >= bad ? state((k - 1) * s) : trueRoot(k - 1);
    if (pos == s) return bad != 0 && k * s >= bad ? state(k * s) : trueRoot(k);
    return state((k - 1) * s + pos);
  };
  p.num_ops = [](uint64_t) { return 5u; };
  p.operator_hash = [=](uint64_t step, uint64_t q, uint32_t n) {
    if (q == n + 1u) return state(step);
    return keccak256(fmt::format("{} {} {}", bad == step && q >= 3 ? "bad-op" : "op", step, q));
  };
  return p;
}

TEST(BridgeMarket, VerifierChallengesAWrongRootAndRelaysTheCommitteesVerdict) {
  MLCP_START_ANVIL(anvil);
  const uint64_t s = 4;
  Scenario sc(
      anvil->url(), smallSpec(1, 2, s),
      [](Economics& e) {
        e.forced_rate_bps = 0;
        e.samples_per_verifier = 2;
      },
      /*committee_threshold=*/2);
  SolverTask solver(sc.market, key(1), sc.task, sc.dir.file("solver/task.json"));
  solver.accept();
  StateExchange exchange(sc.dir.file("exchange"));
  std::vector<std::string> log;
  VerifierHooks hooks = sc.hooks(&log);
  hooks.dispute_hashes = [&](const U256&, uint64_t) { return party(s, 0); };
  hooks.verdicts = [&](const U256& t, const U256& d) { return exchange.verdicts(t, d); };
  JournaledSender jv(sc.chain, sc.dir.file("v/journal.jsonl"));
  MarketClient mv(sc.chain, sc.market.address());
  CheckersClient cv(sc.chain, sc.checkers->address());
  mv.setSender(jv.sender());
  cv.setSender(jv.sender());
  VerifierTask v(mv, cv, key(2), sc.task, sc.dir.file("v/task.json"), hooks);
  auto until = [&](const std::function<bool()>& done, const std::function<void()>& also = {}) {
    for (int i = 0; i < 60 && !done(); ++i) {
      v.advance();
      if (also) also();
      mine(sc.chain);
    }
    ASSERT_TRUE(done()) << joined(log);
  };
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kAnchored; });
  // The solver cheats from step 6 (interval 2).
  sc.commit(key(1), 1, trueRoot(1));
  sc.commit(key(1), 2, keccak256("bad 8"));
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kCommitted; });
  EXPECT_EQ(v.state().flags & 3u, v.state().sample[0] == 2 ? 1u : 2u) << joined(log);
  travel(sc.chain, 1801);
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kRevealed; });
  travel(sc.chain, 601);  // past T2: challenges open
  DisputePlayer cheat(sc.market.jobs(), key(1), sc.task, DisputeRole::kSolver, party(s, 6));
  until([&] { return sc.market.jobs().dispute(sc.task).phase == DisputePhase::kVerdict; },
        [&] { cheat.move(); });
  EXPECT_NE(joined(log).find("challenged checkpoint 2"), std::string::npos) << joined(log);
  // Two of the three referees sign (gasless); the verifier relays.
  Verdict verdict{sc.chain.chainId(), sc.market.address(), sc.task,
                  sc.market.jobs().disputeId(sc.task), false};
  EXPECT_EQ(verdictDigest(verdict), sc.market.jobs().verdictDigest(sc.task, false));
  exchange.postVerdict(signVerdict(verdict, key(7)));
  v.advance();
  EXPECT_EQ(sc.market.jobs().job(sc.task).state, JobState::kDisputed) << "1 of 2 is not enough";
  exchange.postVerdict(signVerdict(verdict, key(9)));
  until([&] { return sc.market.jobs().job(sc.task).state == JobState::kSolverFailed; });
  EXPECT_EQ(sc.market.task(sc.task).failed_checkpoint, 2u);
  until([&] { return v.advance() == VerifierTask::Progress::kDone; });
  sc.market.jobs().withdraw(key(0));
  // The challenger: its bond back and the solver's stake, its deposit and fee (it flagged the
  // disproved root); the submitter: P and the unused budget back; the solver lost its stake.
  EXPECT_EQ(sc.gained(2), sc.econ.stake + sc.econ.verifier_fee);
  EXPECT_EQ(sc.lost(1), sc.econ.stake);
  EXPECT_EQ(sc.lost(0), sc.econ.verifier_fee);
  EXPECT_EQ(sc.chain.balance(sc.market.address()), U256(0));
  EXPECT_EQ(sc.chain.balance(sc.checkers->address()), U256(0));
}

TEST(BridgeMarket, AVerifierWhoseNodeGoesAwayRetriesAndNeverSendsTwice) {
  MLCP_START_ANVIL(anvil);
  Scenario sc(anvil->url(), smallSpec(1, 2, 2), [](Economics& e) {
    e.forced_rate_bps = 0;
    e.samples_per_verifier = 2;
  });
  SolverTask solver(sc.market, key(1), sc.task, sc.dir.file("solver/task.json"));
  solver.accept();
  // The verifier talks to the node through a proxy that the test cuts.
  test::TcpProxy proxy(anvil->url());
  RpcOptions quick;
  quick.max_attempts = 2;
  quick.backoff_initial_s = 0.01;
  ChainClient via(proxy.url(), quick);
  JournaledSender journal(via, sc.dir.file("v/journal.jsonl"), 5.0);
  MarketClient mv(via, sc.market.address());
  CheckersClient cv(via, sc.checkers->address());
  mv.setSender(journal.sender());
  cv.setSender(journal.sender());
  std::vector<std::string> log;
  int failures = 0;
  auto make = [&] {  // a fresh process each time: all it knows is in its files
    return std::make_unique<VerifierTask>(mv, cv, key(2), sc.task, sc.dir.file("v/task.json"),
                                          sc.hooks(&log));
  };
  auto until = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 80 && !done(); ++i) {
      try {
        make()->advance();
      } catch (const ChainError& e) {
        ++failures;
        log.push_back(std::string("failed: ") + e.what());
      } catch (const TimeoutError& e) {
        ++failures;
        log.push_back(std::string("failed: ") + e.what());
      }
      mine(sc.chain);
    }
    ASSERT_TRUE(done()) << joined(log);
  };
  // The registration reaches the node (and is mined), but neither answer to it comes back: the
  // process fails after sending, and the retries must find it on chain, not register again.
  proxy.dropResponses(2, "eth_sendRawTransaction");
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kAnchored; });
  EXPECT_GT(proxy.dropped(), 0);
  sc.commit(key(1), 1, trueRoot(1));
  sc.commit(key(1), 2, trueRoot(2));
  // The node goes away entirely while the verdicts are due.
  proxy.setDown(true);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(make()->advance(), ChainError);
    ++failures;
  }
  proxy.setDown(false);
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kCommitted; });
  travel(sc.chain, 1801);
  proxy.dropResponses(3, "eth_sendRawTransaction");
  until([&] { return sc.checkers->verifier(sc.task, 0).status == VerifierStatus::kRevealed; });
  travel(sc.chain, 601 + 7200);
  sc.market.jobs().settle(key(1), sc.task);
  until([&] { return sc.checkers->owed(key(2).address()).isZero(); });
  EXPECT_GT(proxy.refused(), 0);
  EXPECT_GT(failures, 0) << joined(log);
  // Exactly one of each action: register, anchor, commit, reveal, withdraw.
  EXPECT_EQ(sc.chain.transactionCount(key(2).address(), "latest"), 5u) << joined(log);
  const AbiEvent& ev = mlcpCheckersAbi().event("VerifierRegistered");
  EXPECT_EQ(sc.chain.logs(sc.checkers->address(), {ev.topic0}).size(), 1u);
  EXPECT_EQ(sc.gained(2), sc.econ.verifier_fee);
  Outbox o(journal.journalPath(), false);
  std::set<std::string> labels;
  for (const OutboxEntry& e : o.entries()) {
    EXPECT_TRUE(e.sent) << e.label;
    EXPECT_TRUE(labels.insert(e.label).second) << "journaled twice: " << e.label;
  }
}

}  // namespace
}  // namespace mlcp::bridge
