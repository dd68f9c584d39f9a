// JobsClient and DisputePlayer against a real anvil: whole jobs with disputes played move by
// move from each party's own hashes, down to one operator, the referee's verdict, and every
// payout checked to the wei (payout minus gas used times effective gas price).
//   (1) a cheating solver over a 1024-step interval: the challenger wins bond + stake, the
//       submitter gets the escrow back; the dispute's total gas is measured;
//   (2) a cheating challenger: the solver keeps the job, gains the bond, and is paid escrow +
//       stake after the window.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "bridge/contract_artifacts.h"
#include "bridge/dispute_player.h"
#include "bridge/keccak.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::kAnvilKeys;

Hash32 h(const std::string& tag, uint64_t a, uint64_t b = 0) {
  return keccak256(fmt::format("{}/{}/{}", tag, a, b));
}

// A party whose per-step state hashes are honest before global step `bad_step` and wrong from
// it on, and whose operator hashes in that step are wrong from operator `bad_op` on (position
// bad_op+1 onwards). bad_step = 0: fully honest.
PartyHashes party(uint64_t steps_per_checkpoint, uint64_t bad_step, uint32_t bad_op,
                  uint32_t num_ops) {
  auto state = [=](uint64_t step) {  // the state hash after global step `step`
    return (bad_step != 0 && step >= bad_step) ? h("bad-state", step) : h("state", step);
  };
  PartyHashes p;
  p.step_hash = [=](uint64_t k, uint64_t pos) {
    return state((k - 1) * steps_per_checkpoint + pos);
  };
  p.num_ops = [=](uint64_t) { return num_ops; };
  p.operator_hash = [=](uint64_t step, uint64_t q, uint32_t n) {
    if (q == uint64_t(n) + 1) return state(step);  // the output of the step
    bool wrong = step == bad_step && q >= uint64_t(bad_op) + 1;
    return wrong ? h("bad-op", step, q) : h("op", step, q);
  };
  return p;
}

struct Parties {
  EthKey submitter = EthKey::fromHex(kAnvilKeys[0]);
  EthKey solver = EthKey::fromHex(kAnvilKeys[1]);
  EthKey challenger = EthKey::fromHex(kAnvilKeys[2]);
  EthKey referee = EthKey::fromHex(kAnvilKeys[3]);
};

// Every fee each account paid, to check balances to the wei.
struct Ledger {
  std::map<Address, U256> fees;
  Receipt operator()(const Receipt& r) {
    fees[r.from] = fees[r.from] + r.fee();
    return r;
  }
};

// Plays both sides until the dispute reaches Verdict (or ends); returns the number of moves.
int play(JobsClient& jobs, DisputePlayer& solver, DisputePlayer& challenger, const U256& id) {
  int moves = 0;
  for (int guard = 0; guard < 200; ++guard) {
    DisputeInfo d = jobs.dispute(id);
    if (jobs.job(id).state != JobState::kDisputed || d.phase == DisputePhase::kVerdict)
      return moves;
    std::string m = solver.move();
    if (m.empty()) m = challenger.move();
    if (m.empty()) ADD_FAILURE() << "nobody could move in phase " << toString(d.phase);
    std::printf("  %s\n", m.c_str());
    ++moves;
  }
  ADD_FAILURE() << "the dispute did not end in 200 moves";
  return moves;
}

TEST(Dispute, CheatingSolverOver1024StepsLosesStakeToTheChallenger) {
  MLCP_START_ANVIL(anvil);
  ChainClient chain(anvil->url());
  Parties p;
  Ledger ledger;
  const uint64_t S = 1024;
  const uint64_t bad_step = 613;
  const uint32_t num_ops = 40, bad_op = 17;
  PartyHashes solver_hashes = party(S, bad_step, bad_op, num_ops);
  PartyHashes honest = party(S, 0, 0, num_ops);

  std::map<Address, U256> before;
  for (const EthKey* k : {&p.submitter, &p.solver, &p.challenger})
    before[k->address()] = chain.balance(k->address());
  Receipt dep;
  JobsClient jobs = JobsClient::deploy(chain, p.submitter, &dep);
  ledger(dep);
  JobParams jp;
  jp.spec_hash = h("spec", 1);
  jp.initial_root = h("state", 0);
  jp.num_checkpoints = 2;
  jp.steps_per_checkpoint = static_cast<uint32_t>(S);
  jp.escrow = U256::parseAmount("5ether");
  jp.stake = U256::parseAmount("2ether");
  jp.bond = U256::parseAmount("0.5ether");
  jp.referee = p.referee.address();
  Receipt cr;
  U256 id = jobs.createJob(p.submitter, jp, &cr);
  ledger(cr);
  EXPECT_EQ(id, U256(1));
  ledger(jobs.acceptJob(p.solver, id));
  for (uint64_t k = 1; k <= 2; ++k) {
    SignedCommitment c = signCommitment(
        {chain.chainId(), jobs.address(), id, k, solver_hashes.step_hash(k, S)}, p.solver);
    ledger(jobs.commitCheckpoint(p.solver, c));
  }
  EXPECT_EQ(jobs.job(id).state, JobState::kCommitted);

  // The challenger agrees with root 0 and disputes root 1.
  Receipt ch = ledger(jobs.challenge(p.challenger, id, 1, honest.step_hash(1, S)));
  DisputePlayer solver(jobs, p.solver, id, DisputeRole::kSolver, solver_hashes);
  DisputePlayer challenger(jobs, p.challenger, id, DisputeRole::kChallenger, honest);
  int moves = play(jobs, solver, challenger, id);
  DisputeInfo d = jobs.dispute(id);
  ASSERT_EQ(d.phase, DisputePhase::kVerdict);
  EXPECT_EQ(d.step, bad_step);  // the first step whose output is disputed
  EXPECT_EQ(d.lo, bad_op);      // the operator whose outputs differ
  EXPECT_EQ(d.hash_lo,
            h("op", bad_step, bad_op));  // its agreed inputs (prefix after ops 0..bad_op-1)
  Receipt verdict = ledger(jobs.resolve(p.referee, id, false));
  EXPECT_EQ(jobs.job(id).state, JobState::kSolverFailed);
  uint64_t dispute_gas = ch.gas_used + solver.gasUsed() + challenger.gasUsed() + verdict.gas_used;
  std::printf(
      "dispute over %llu steps and %u operators: %d moves, %llu gas in total (challenge %llu, "
      "resolve %llu)\n",
      static_cast<unsigned long long>(S), num_ops, moves,
      static_cast<unsigned long long>(dispute_gas), static_cast<unsigned long long>(ch.gas_used),
      static_cast<unsigned long long>(verdict.gas_used));
  EXPECT_LE(dispute_gas, 1300000u);  // the target for a dispute over 1024 steps

  // Payouts: challenger bond + stake, submitter escrow, solver nothing.
  EXPECT_EQ(jobs.owed(p.challenger.address()), jp.bond + jp.stake);
  EXPECT_EQ(jobs.owed(p.submitter.address()), jp.escrow);
  EXPECT_EQ(jobs.owed(p.solver.address()), U256(0));
  ledger(jobs.withdraw(p.challenger));
  ledger(jobs.withdraw(p.submitter));
  try {
    jobs.withdraw(p.solver);
    FAIL() << "the losing solver withdrew";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.reason(), "NothingToWithdraw()");
  }
  EXPECT_THROW(jobs.withdraw(p.challenger), RevertError);  // no double withdraw
  // Every balance to the wei: payouts minus every fee each account paid.
  U256 solver_fees = ledger.fees[p.solver.address()] + solver.feesPaid();
  U256 challenger_fees = ledger.fees[p.challenger.address()] + challenger.feesPaid();
  EXPECT_EQ(chain.balance(p.submitter.address()),
            before[p.submitter.address()] - ledger.fees[p.submitter.address()]);
  EXPECT_EQ(chain.balance(p.solver.address()), before[p.solver.address()] - jp.stake - solver_fees);
  EXPECT_EQ(chain.balance(p.challenger.address()),
            before[p.challenger.address()] + jp.stake - challenger_fees);
  EXPECT_EQ(chain.balance(jobs.address()), U256(0));
}

TEST(Dispute, CheatingChallengerLosesTheBondAndTheSolverIsPaid) {
  MLCP_START_ANVIL(anvil);
  ChainClient chain(anvil->url());
  Parties p;
  Ledger ledger;
  const uint64_t S = 10;
  PartyHashes honest = party(S, 0, 0, 12);
  PartyHashes liar = party(S, 17, 4, 12);  // wrong from global step 17 (checkpoint 2), operator 4
  std::map<Address, U256> before;
  for (const EthKey* k : {&p.submitter, &p.solver, &p.challenger})
    before[k->address()] = chain.balance(k->address());
  Receipt dep;
  JobsClient jobs = JobsClient::deploy(chain, p.submitter, &dep);
  ledger(dep);
  JobParams jp;
  jp.initial_root = h("state", 0);
  jp.num_checkpoints = 3;
  jp.steps_per_checkpoint = static_cast<uint32_t>(S);
  jp.escrow = U256::parseAmount("1ether");
  jp.stake = U256::parseAmount("0.3ether");
  jp.bond = U256::parseAmount("0.2ether");
  jp.challenge_window_s = 1000;
  jp.referee = p.referee.address();
  Receipt cr;
  U256 id = jobs.createJob(p.submitter, jp, &cr);
  ledger(cr);
  ledger(jobs.acceptJob(p.solver, id));
  // All three roots in one batched transaction, sent by a relayer (the referee's account here).
  std::vector<SignedCommitment> batch;
  for (uint64_t k = 1; k <= 3; ++k)
    batch.push_back(
        signCommitment({31337, jobs.address(), id, k, honest.step_hash(k, S)}, p.solver));
  Receipt br = jobs.commitCheckpoints(p.referee, batch);
  EXPECT_EQ(mlcpJobsAbi().decodeLogs(br.logs, &jobs.address()).size(),
            4u);  // 3 x CheckpointCommitted + window
  for (uint64_t k = 1; k <= 3; ++k) EXPECT_EQ(jobs.root(id, k), honest.step_hash(k, S));
  std::printf("commitCheckpoints batch of 3: %llu gas\n",
              static_cast<unsigned long long>(br.gas_used));
  // Early settle is refused while the window is open.
  try {
    jobs.settle(p.submitter, id);
    FAIL() << "settled inside the challenge window";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.errorName(), "ChallengeWindowOpen");
  }
  // A wrong party moving is refused by name.
  ledger(jobs.challenge(p.challenger, id, 2, liar.step_hash(2, S)));
  try {
    jobs.postClaims(p.challenger, id, std::vector<Hash32>(7, Hash32{}));
    FAIL() << "the challenger moved for the solver";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.errorName(), "NotSolver");
  }
  DisputePlayer solver(jobs, p.solver, id, DisputeRole::kSolver, honest);
  DisputePlayer challenger(jobs, p.challenger, id, DisputeRole::kChallenger, liar);
  play(jobs, solver, challenger, id);
  DisputeInfo d = jobs.dispute(id);
  ASSERT_EQ(d.phase, DisputePhase::kVerdict);
  EXPECT_EQ(d.step, 17u);
  EXPECT_EQ(d.lo, 4u);
  // Only the referee may resolve.
  EXPECT_THROW(jobs.resolve(p.solver, id, true), RevertError);
  ledger(jobs.resolve(p.referee, id, true));
  JobInfo j = jobs.job(id);
  EXPECT_EQ(j.state, JobState::kCommitted);  // the window reopens with the time that was left
  EXPECT_EQ(jobs.owed(p.solver.address()), jp.bond);
  // After the window: settle pays escrow + stake.
  chain.rpc().call("evm_increaseTime", nlohmann::json::array({2000}));
  chain.rpc().call("evm_mine");
  ledger(jobs.settle(p.submitter, id));
  EXPECT_EQ(jobs.job(id).state, JobState::kSettled);
  EXPECT_EQ(jobs.owed(p.solver.address()), jp.bond + jp.escrow + jp.stake);
  ledger(jobs.withdraw(p.solver));
  EXPECT_EQ(jobs.owed(p.solver.address()), U256(0));
  U256 solver_fees = ledger.fees[p.solver.address()] + solver.feesPaid();
  U256 challenger_fees = ledger.fees[p.challenger.address()] + challenger.feesPaid();
  EXPECT_EQ(chain.balance(p.solver.address()),
            before[p.solver.address()] + jp.escrow + jp.bond - solver_fees);
  EXPECT_EQ(chain.balance(p.challenger.address()),
            before[p.challenger.address()] - jp.bond - challenger_fees);
  EXPECT_EQ(chain.balance(p.submitter.address()),
            before[p.submitter.address()] - jp.escrow - ledger.fees[p.submitter.address()]);
  EXPECT_EQ(chain.balance(jobs.address()), U256(0));
}

}  // namespace
}  // namespace mlcp::bridge
