#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <optional>

#include "app/commands.h"
#include "app/job_binding.h"
#include "app/work_estimate.h"
#include "base/error.h"
#include "bridge/chain_client.h"
#include "bridge/checkers_client.h"
#include "bridge/commitment_publisher.h"
#include "bridge/contract_artifacts.h"
#include "bridge/jobs_client.h"
#include "bridge/keccak.h"
#include "bridge/market_client.h"
#include "bridge/outbox.h"
#include "bridge/task_solver.h"
#include "collectives/mpi/mpi_runtime.h"
#include "jobs/job_spec.h"

namespace mlcp::app {
using namespace bridge;
namespace {

using abi::Value;

// Options every chain command shares.
struct Common {
  std::string rpc, outbox, key, contract;
  uint64_t chain_id = 0;
  uint64_t gas_limit = 0;  // offline only; 0 = the command's default
  double timeout_s = 60;
  int stop_after = 0;  // flush test hook (hidden)
};

void addRpc(CLI::App* c, Common& o) {
  c->add_option("--rpc", o.rpc, "Chain node JSON-RPC URL (send now)")->envname("MLCP_RPC_URL");
  c->add_option("--timeout", o.timeout_s, "Seconds to wait for a receipt")->capture_default_str();
}

void addSend(CLI::App* c, Common& o, bool contract) {
  addRpc(c, o);
  c->add_option("--outbox", o.outbox, "Queue the signed transaction in this outbox file (offline)");
  c->add_option("--key", o.key, "Chain key file of the sender (mlcp bridge key new)")
      ->envname("MLCP_CHAIN_KEY")
      ->required();
  c->add_option("--chain-id", o.chain_id,
                "Chain id (required offline: signatures are bound to it)");
  c->add_option("--gas-limit", o.gas_limit,
                "Gas limit when queuing offline (nothing can be estimated)");
  if (contract)
    c->add_option("--contract", o.contract, "MlcpJobs contract address")
        ->envname("MLCP_CONTRACT")
        ->required();
}

Address contractOf(const Common& o) { return parseAddress(o.contract, "--contract"); }

void printReceipt(const Receipt& r) {
  fmt::print("transaction: {}\nblock:       {}\ngas used:    {}\nfee:         {} wei\n",
             toHex(r.tx_hash), r.block_number, r.gas_used, r.fee().toDecimal());
  // Each log by the first of the protocol's ABIs that knows its topic (MlcpJobs' events are
  // the market's too).
  for (const Log& l : r.logs) {
    for (const ContractAbi* abi : {&mlcpJobsAbi(), &mlcpMarketAbi(), &mlcpCheckersAbi()}) {
      if (auto e = abi->decodeLog(l)) {
        fmt::print("event:       {}\n", e->toString());
        break;
      }
    }
  }
}

std::unique_ptr<ChainClient> connect(const Common& o) {
  if (o.rpc.empty()) throw UsageError("this command needs --rpc URL (or $MLCP_RPC_URL)");
  auto c = std::make_unique<ChainClient>(o.rpc);
  c->addErrorAbi(mlcpJobsAbi(), "MlcpJobs");
  c->addErrorAbi(mlcpCheckersAbi(), "MlcpCheckers");
  c->addErrorAbi(mlcpMarketAbi(), "MlcpMarket");
  if (o.chain_id != 0 && c->chainId() != o.chain_id) {
    throw UsageError(fmt::format("the node at {} is chain {}, not --chain-id {}", o.rpc,
                                 c->chainId(), o.chain_id));
  }
  return c;
}

// Sends now (--rpc), queues (--outbox), or both: queue then flush.
struct Outcome {
  std::optional<Receipt> receipt;     // mined (sent now, or queued and flushed at once)
  std::optional<OutboxEntry> queued;  // queued in the outbox
};

Outcome sendOrQueue(const Common& o, std::optional<Address> to, const U256& value,
                    const Bytes& data, const std::string& label, uint64_t offline_gas) {
  if (o.rpc.empty() && o.outbox.empty()) {
    throw UsageError(
        "give --rpc URL to send now, or --outbox FILE (with --chain-id) to queue offline");
  }
  EthKey key = EthKey::load(o.key);
  CallRequest req;
  req.to = to;
  req.value = value;
  req.data = data;
  if (o.outbox.empty()) {
    auto chain = connect(o);
    TxOptions opts;
    opts.receipt_timeout_s = o.timeout_s;
    Receipt r = chain->transact(key, req, opts);
    printReceipt(r);
    return {r, std::nullopt};
  }
  Outbox ob(o.outbox);
  OutboxTxParams p;
  p.to = to;
  p.value = value;
  p.data = data;
  p.gas_limit = o.gas_limit != 0 ? o.gas_limit : offline_gas;
  std::unique_ptr<ChainClient> chain;
  if (!o.rpc.empty()) {
    chain = connect(o);
    p.chain_id = chain->chainId();
    uint64_t count = chain->transactionCount(key.address(), "pending");
    if (ob.nextNonce(key.address(), p.chain_id) < count)
      ob.setNextNonce(key.address(), p.chain_id, count);
  } else {
    if (o.chain_id == 0)
      throw UsageError("queuing offline needs --chain-id (signatures are bound to the chain)");
    p.chain_id = o.chain_id;
  }
  OutboxEntry e = ob.queue(key, p, label);
  fmt::print("queued:      {} (outbox {} record {}, nonce {}, gas limit {})\n", toHex(e.tx.hash),
             o.outbox, e.seq, e.tx.tx.nonce, p.gas_limit);
  if (!chain) return {std::nullopt, e};
  FlushOptions fo;
  fo.receipt_timeout_s = o.timeout_s;
  ob.flush(*chain, fo);
  Receipt r = chain->waitForReceipt(e.tx.hash, o.timeout_s, true);
  printReceipt(r);
  return {r, e};
}

std::vector<Value> view(ChainClient& c, const Address& contract, const std::string& fn,
                        const std::vector<Value>& args) {
  CallRequest req;
  req.to = contract;
  req.data = mlcpJobsAbi().encodeCall(fn, args);
  return mlcpJobsAbi().decodeReturn(fn, c.call(req));
}

Hash32 parseHash(const std::string& text, const char* what) {
  try {
    return fixedFromHex<32>(text, what);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
}

U256 parseUint(const std::string& text, const char* what) {
  try {
    return U256::parseAmount(text, what);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
}

// A job's value from the chain (--rpc) or from the command line (offline).
U256 jobAmount(const Common& o, const std::string& given, const U256& job, const char* field,
               const char* flag) {
  if (!given.empty()) return parseUint(given, flag);
  if (o.rpc.empty())
    throw UsageError(fmt::format("offline, give the job's {} with {}", field, flag));
  auto chain = connect(o);
  auto fields = view(*chain, contractOf(o), "jobs", {Value::uint(job)});
  const auto& outs = mlcpJobsAbi().function("jobs").outputs;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i].name == field) return fields[i].word;
  }
  throw ChainError(fmt::format("MlcpJobs.jobs has no field {}", field));
}

void addChainKeyCommands(CLI::App* bridge) {
  CLI::App* key = bridge->add_subcommand("key", "Create and show secp256k1 chain keys");
  key->require_subcommand(1);
  auto nk = std::make_shared<std::pair<std::string, bool>>();
  CLI::App* k_new =
      key->add_subcommand("new", "Create a chain key file (mode 0600) and print its address");
  k_new->add_option("--key", nk->first, "Where to write the key file")->required();
  k_new->add_flag("--force", nk->second, "Replace an existing key file");
  k_new->callback([nk] {
    EthKey k = EthKey::generate();
    k.save(nk->first, nk->second);
    fmt::print("address:  {}\nkey file: {}\n", k.addressHex(), nk->first);
  });
  auto sk = std::make_shared<std::string>();
  CLI::App* k_show = key->add_subcommand("show", "Print a chain key file's address");
  k_show->add_option("--key", *sk, "Key file")->envname("MLCP_CHAIN_KEY")->required();
  k_show->callback(
      [sk] { fmt::print("address:  {}\nkey file: {}\n", EthKey::load(*sk).addressHex(), *sk); });
}

struct CreateOpts : Common {
  std::string job_file;  // JOB.toml: fill in what the job file determines
  std::string spec_hash, initial_root, escrow, stake, bond, referee, price;
  std::string verifier_fee, deposit, jackpot;
  uint32_t checkpoints = 0, steps = 0, commit_timeout = 3600, window = 3600, move_timeout = 600;
  uint32_t tasks = 1, committee = 0, verdict_window = 0, phase_window = 0;
  int forced_rate = -1, verifiers = 0, samples = 0;  // -1 / 0: the contract's defaults
};

// Whether `contract` is an MlcpMarket (it has checkers()); MlcpJobs reverts the call.
bool isMarket(ChainClient& chain, const Address& contract) {
  try {
    MarketClient(chain, contract).checkersAddress();
    return true;
  } catch (const ChainError&) {
    return false;
  }
}

// `bridge job create JOB.toml --price P`: the spec hash, initial root, checkpoints and steps from
// the job itself, the escrow from its work estimate (app/work_estimate.h) at the price — on a
// market, split into --tasks tasks with the contract's default economics plus overrides.
void createFromJobFile(const CreateOpts& co) {
  if (co.rpc.empty()) {
    throw UsageError(
        "creating a job from a job file needs --rpc (the contract's defaults and the job's "
        "price are read from the chain)");
  }
  if (co.price.empty()) {
    throw UsageError("give --price: wei per unit of work (one GFLOP), e.g. --price 2gwei");
  }
  const U256 price = parseUint(co.price, "--price");
  const jobs::JobSpec spec = jobs::loadJobSpec(co.job_file);
  const int64_t every = spec.checkpoint.every;
  if (every <= 0) {
    throw UsageError(fmt::format(
        "{}: checkpoint.every must be > 0: the chain holds one root per checkpoint interval",
        co.job_file));
  }
  collectives::MpiRuntime mpi;
  JobIdentity id = jobIdentity(spec, co.initial_root.empty());
  if (!co.initial_root.empty()) id.initial_root = parseHash(co.initial_root, "--initial-root");
  if (id.steps % every != 0) {
    throw UsageError(
        fmt::format("{}: its {} steps are not a whole number of checkpoint intervals "
                    "of {} steps (checkpoint.every)",
                    co.job_file, id.steps, every));
  }
  const uint32_t total = static_cast<uint32_t>(id.steps / every);
  const StepWork work = estimateStepWork(spec);
  const uint64_t units = unitsPerCheckpoint(work, every);
  fmt::print("job:         {} (spec hash {}, initial root {})\n", co.job_file, toHex(id.spec_hash),
             toHex(id.initial_root));
  fmt::print(
      "work:        {} per step (forward {}, backward {}, optimizer {}); {} steps in {} "
      "checkpoint intervals of {}: {} GFLOP units per interval\n",
      formatFlops(work.totalFlops()), formatFlops(work.forward_flops),
      formatFlops(work.backward_flops), formatFlops(work.optimizer_flops), id.steps, total, every,
      units);
  auto chain = connect(co);
  const Address contract = contractOf(co);
  const EthKey key = EthKey::load(co.key);
  if (isMarket(*chain, contract)) {
    if (co.tasks == 0 || total % co.tasks != 0) {
      throw UsageError(fmt::format("--tasks {} does not divide the job's {} checkpoint intervals",
                                   co.tasks, total));
    }
    if ((co.committee == 0) == co.referee.empty()) {
      throw UsageError("give the verdict's signers: --referee ADDRESS or --committee ID");
    }
    MarketJobSpec ms;
    ms.spec_hash = id.spec_hash;
    ms.initial_root = id.initial_root;
    ms.num_tasks = co.tasks;
    ms.checkpoints_per_task = total / co.tasks;
    ms.steps_per_checkpoint = static_cast<uint32_t>(every);
    ms.units_per_checkpoint = units;
    ms.price_per_unit = price;
    ms.commit_timeout_s = co.commit_timeout;
    ms.challenge_window_s = co.window;
    ms.move_timeout_s = co.move_timeout;
    ms.verdict_window_s = co.verdict_window != 0 ? co.verdict_window : co.window / 4;
    ms.phase_window_s = co.phase_window != 0 ? co.phase_window : co.window / 8;
    ms.committee = co.committee;
    if (!co.referee.empty()) ms.referee = parseAddress(co.referee, "--referee");
    MarketClient market(*chain, contract);
    Economics e = market.defaultEconomics(ms);
    if (!co.stake.empty()) e.stake = parseUint(co.stake, "--stake");
    if (!co.bond.empty()) e.bond = parseUint(co.bond, "--bond");
    if (!co.verifier_fee.empty()) e.verifier_fee = parseUint(co.verifier_fee, "--verifier-fee");
    if (!co.deposit.empty()) e.verifier_deposit = parseUint(co.deposit, "--verifier-deposit");
    if (!co.jackpot.empty()) e.jackpot = parseUint(co.jackpot, "--jackpot");
    if (co.forced_rate >= 0) e.forced_rate_bps = static_cast<uint16_t>(co.forced_rate);
    if (co.verifiers > 0) e.max_verifiers = static_cast<uint8_t>(co.verifiers);
    if (co.samples > 0) e.samples_per_verifier = static_cast<uint8_t>(co.samples);
    const U256 escrow = marketEscrow(ms, e);
    if (!co.escrow.empty() && parseUint(co.escrow, "--escrow") != escrow) {
      throw UsageError(fmt::format("--escrow {} is not what the job costs: {} wei", co.escrow,
                                   escrow.toDecimal()));
    }
    fmt::print("price:       {} wei per unit: interval {} wei, task payment P = {} x {} = {} wei\n",
               price.toDecimal(), ms.intervalPrice().toDecimal(), ms.checkpoints_per_task,
               ms.intervalPrice().toDecimal(), ms.taskPayment().toDecimal());
    fmt::print(
        "economics:   stake {}, bond {}, verifier fee {}, deposit {}, jackpot {} (wei); "
        "forced errors {} bps; {} verifiers x {} samples\n",
        e.stake.toDecimal(), e.bond.toDecimal(), e.verifier_fee.toDecimal(),
        e.verifier_deposit.toDecimal(), e.jackpot.toDecimal(), e.forced_rate_bps, e.max_verifiers,
        e.samples_per_verifier);
    fmt::print(
        "escrow:      {} tasks x (P + verification budget {}) = {} wei; what verification "
        "does not use is refunded when each task ends\n",
        ms.num_tasks, e.budget().toDecimal(), escrow.toDecimal());
    Receipt r;
    const U256 first = market.createMarketJob(key, ms, e, &r);
    printReceipt(r);
    fmt::print("tasks:       {}..{}\n", first.toDecimal(),
               (first + U256(ms.num_tasks - 1)).toDecimal());
    return;
  }
  // MlcpJobs: one solver for the whole job; the escrow is the work at the price.
  if (co.referee.empty()) throw UsageError("give --referee ADDRESS");
  JobParams p;
  p.spec_hash = id.spec_hash;
  p.initial_root = id.initial_root;
  p.num_checkpoints = total;
  p.steps_per_checkpoint = static_cast<uint32_t>(every);
  const U256 pay = U256(units) * price * U256(total);
  p.escrow = co.escrow.empty() ? pay : parseUint(co.escrow, "--escrow");
  p.stake = co.stake.empty() ? pay : parseUint(co.stake, "--stake");
  p.bond = co.bond.empty() ? std::max(pay.divSmall(10), U256(1)) : parseUint(co.bond, "--bond");
  p.commit_timeout_s = co.commit_timeout;
  p.challenge_window_s = co.window;
  p.move_timeout_s = co.move_timeout;
  p.referee = parseAddress(co.referee, "--referee");
  fmt::print("escrow:      {} units x {} wei x {} checkpoints = {} wei\n", units, price.toDecimal(),
             total, pay.toDecimal());
  JobsClient jobs(*chain, contract);
  Receipt r;
  jobs.createJob(key, p, &r);
  printReceipt(r);
}
struct JobOpts : Common {
  std::string job, amount, root;
  uint64_t index = 0;
};
struct ResolveOpts : JobOpts {
  std::string verdict;
};
struct StatusOpts : Common {
  std::string job, address;
};

// `bridge deploy [--market]`
struct DeployOpts : Common {
  bool market = false;
};
void addDeployCommand(CLI::App* bridge) {
  auto dep = std::make_shared<DeployOpts>();
  CLI::App* deploy = bridge->add_subcommand(
      "deploy",
      "Deploy the MlcpJobs contract, or with --market MlcpMarket and its MlcpCheckers "
      "(the builds embedded in mlcp)");
  deploy->footer(fmt::format("Compiled by {}.", mlcpJobsCompiler()));
  addSend(deploy, *dep, false);
  deploy->add_flag("--market", dep->market,
                   "Deploy MlcpMarket (jobs split into tasks, verifiers, forced errors, referee "
                   "committees; about 5.4M gas) instead of MlcpJobs");
  deploy->callback([dep] {
    // Offline gas limits: MlcpJobs measured 2.22M, MlcpMarket (creating MlcpCheckers) 5.36M.
    Outcome r = dep->market ? sendOrQueue(*dep, std::nullopt, U256(0), mlcpMarketBytecode(),
                                          "deploy MlcpMarket", 6700000)
                            : sendOrQueue(*dep, std::nullopt, U256(0), mlcpJobsBytecode(),
                                          "deploy MlcpJobs", 3000000);
    // Known before it is sent: the sender and the nonce fix a contract's address; the market's
    // constructor creates MlcpCheckers as its first contract (nonce 1).
    const Address a = r.receipt ? *r.receipt->contract_address
                                : contractAddress(r.queued->tx.from, r.queued->tx.tx.nonce);
    const char* later = r.receipt ? "" : " (once flushed)";
    fmt::print("contract:    {}{}\n", checksumAddress(a), later);
    if (dep->market)
      fmt::print("checkers:    {}{}\n", checksumAddress(contractAddress(a, 1)), later);
  });
}

// `bridge job create | accept`
void addJobCommands(CLI::App* bridge) {
  CLI::App* job = bridge->add_subcommand("job", "Create, accept or cancel a job");
  job->require_subcommand(1);
  auto co = std::make_shared<CreateOpts>();
  CLI::App* create = job->add_subcommand("create", "Escrow a payment for a job (the submitter)");
  addSend(create, *co, true);
  create->add_option("job_file", co->job_file,
                     "JOB.toml: fill in the spec hash, initial root, checkpoints and steps from "
                     "the job, and the escrow from its work estimate at --price");
  create->add_option("--price", co->price, "With a job file: wei per unit of work (one GFLOP)");
  create->add_option("--tasks", co->tasks, "On a market: split the job into this many tasks")
      ->capture_default_str();
  create->add_option("--spec-hash", co->spec_hash, "bytes32: hash of the job spec");
  create->add_option("--initial-root", co->initial_root,
                     "bytes32: Merkle root of the initial checkpoint");
  create->add_option("--checkpoints", co->checkpoints, "Number of checkpoints to commit");
  create->add_option("--steps-per-checkpoint", co->steps, "Training steps between checkpoints");
  create->add_option("--escrow", co->escrow,
                     "Payment escrowed (e.g. 2ether, 1500000000gwei, wei); with a job file: "
                     "computed (a given value must match)");
  create->add_option("--stake", co->stake, "Stake the solver must post (job file: P)");
  create->add_option("--bond", co->bond, "Bond a challenger must post (job file: P/10)");
  create->add_option("--referee", co->referee, "Referee address");
  create->add_option("--committee", co->committee,
                     "On a market: the referee committee id (mlcp bridge committee create)");
  create->add_option("--verifier-fee", co->verifier_fee, "On a market: fee per verifier");
  create->add_option("--verifier-deposit", co->deposit, "On a market: a verifier's deposit");
  create->add_option("--jackpot", co->jackpot, "On a market: the forced-error jackpot");
  create->add_option("--forced-rate", co->forced_rate,
                     "On a market: basis points of tasks that carry a forced error (default 2500)");
  create->add_option("--verifiers", co->verifiers, "On a market: verifier slots per task");
  create->add_option("--samples", co->samples,
                     "On a market: checkpoints each verifier replays (1..8)");
  create->add_option("--verdict-window", co->verdict_window,
                     "On a market: seconds from the final root to the verdict commitments' "
                     "deadline (default challenge window / 4)");
  create->add_option("--phase-window", co->phase_window,
                     "On a market: seconds of the verdict reveal and of the seed reveal (default "
                     "challenge window / 8)");
  create->add_option("--commit-timeout", co->commit_timeout, "Seconds the solver has to commit all")
      ->capture_default_str();
  create->add_option("--challenge-window", co->window, "Seconds of the challenge window")
      ->capture_default_str();
  create->add_option("--move-timeout", co->move_timeout, "Seconds per dispute move")
      ->capture_default_str();
  create->callback([co] {
    if (!co->job_file.empty()) return createFromJobFile(*co);
    for (const auto& [given, flag] :
         {std::pair{!co->spec_hash.empty(), "--spec-hash"},
          std::pair{!co->initial_root.empty(), "--initial-root"},
          std::pair{co->checkpoints != 0, "--checkpoints"},
          std::pair{co->steps != 0, "--steps-per-checkpoint"},
          std::pair{!co->escrow.empty(), "--escrow"}, std::pair{!co->stake.empty(), "--stake"},
          std::pair{!co->bond.empty(), "--bond"}, std::pair{!co->referee.empty(), "--referee"}}) {
      if (!given) {
        throw UsageError(fmt::format(
            "{} is required (or give the job file, JOB.toml --price P, to fill it in)", flag));
      }
    }
    Bytes data = mlcpJobsAbi().encodeCall(
        "createJob",
        {Value::fixedBytes(parseHash(co->spec_hash, "--spec-hash")),
         Value::fixedBytes(parseHash(co->initial_root, "--initial-root")),
         Value::uint(co->checkpoints), Value::uint(co->steps),
         Value::uint(parseUint(co->stake, "--stake")), Value::uint(parseUint(co->bond, "--bond")),
         Value::uint(co->commit_timeout), Value::uint(co->window), Value::uint(co->move_timeout),
         Value::address(parseAddress(co->referee, "--referee"))});
    sendOrQueue(*co, contractOf(*co), parseUint(co->escrow, "--escrow"), data, "create job",
                400000);
  });

  auto ao = std::make_shared<JobOpts>();
  CLI::App* accept = job->add_subcommand("accept", "Accept a job, posting its stake (the solver)");
  addSend(accept, *ao, true);
  accept->add_option("--job", ao->job, "Job id")->required();
  accept->add_option("--stake", ao->amount,
                     "The job's stake (read from the chain when --rpc is given)");
  accept->callback([ao] {
    U256 id = parseUint(ao->job, "--job");
    U256 stake = jobAmount(*ao, ao->amount, id, "stake", "--stake");
    sendOrQueue(*ao, contractOf(*ao), stake,
                mlcpJobsAbi().encodeCall("acceptJob", {Value::uint(id)}),
                "accept job " + id.toDecimal(), 150000);
  });

  auto cj = std::make_shared<JobOpts>();
  CLI::App* cancel = job->add_subcommand(
      "cancel", "Take back an unaccepted job; the escrow is credited (the submitter)");
  addSend(cancel, *cj, true);
  cancel->add_option("--job", cj->job, "Job id")->required();
  cancel->callback([cj] {
    U256 id = parseUint(cj->job, "--job");
    sendOrQueue(*cj, contractOf(*cj), U256(0),
                mlcpJobsAbi().encodeCall("cancelJob", {Value::uint(id)}),
                "cancel job " + id.toDecimal(), 100000);
  });
}

// `bridge commit (what the runtime does on rank 0 per checkpoint)`
void addCommitCommand(CLI::App* bridge) {
  auto cm = std::make_shared<JobOpts>();
  CLI::App* commit =
      bridge->add_subcommand("commit", "Sign and publish one checkpoint commitment (the solver)");
  addSend(commit, *cm, true);
  commit->add_option("--job", cm->job, "Job id")->required();
  commit->add_option("--index", cm->index, "Checkpoint index (1..N)")->required();
  commit->add_option("--root", cm->root, "bytes32: the checkpoint's Merkle root")->required();
  commit->callback([cm] {
    PublisherConfig cfg;
    cfg.rpc_url = cm->rpc;
    cfg.outbox_path = cm->outbox;
    cfg.contract = contractOf(*cm);
    cfg.chain_id = cm->chain_id;
    if (cm->gas_limit) cfg.commit_gas_limit = cm->gas_limit;
    cfg.receipt_timeout_s = cm->timeout_s;
    CommitmentPublisher pub(cfg, EthKey::load(cm->key));
    PublishResult r =
        pub.publish(parseUint(cm->job, "--job"), cm->index, parseHash(cm->root, "--root"));
    fmt::print("commitment:  {}\n", r.commitment.toJson().dump());
    if (r.receipt) {
      printReceipt(*r.receipt);
    } else {
      fmt::print("queued:      {} in {}{}\n", toHex(r.tx_hash), cm->outbox,
                 r.note.empty() ? "" : " (" + r.note + ")");
    }
  });
}

// `bridge challenge`
void addDisputeCommands(CLI::App* bridge) {
  auto ch = std::make_shared<JobOpts>();
  CLI::App* chal = bridge->add_subcommand(
      "challenge", "Challenge checkpoint k of a job, posting the bond (a verifier)");
  addSend(chal, *ch, true);
  chal->add_option("--job", ch->job, "Job id")->required();
  chal->add_option("--checkpoint", ch->index, "Checkpoint k the challenger disagrees with")
      ->required();
  chal->add_option("--root", ch->root, "bytes32: the challenger's root for checkpoint k")
      ->required();
  chal->add_option("--bond", ch->amount,
                   "The job's bond (read from the chain when --rpc is given)");
  chal->callback([ch] {
    U256 id = parseUint(ch->job, "--job");
    U256 bond = jobAmount(*ch, ch->amount, id, "bond", "--bond");
    sendOrQueue(
        *ch, contractOf(*ch), bond,
        mlcpJobsAbi().encodeCall("challenge", {Value::uint(id), Value::uint(ch->index),
                                               Value::fixedBytes(parseHash(ch->root, "--root"))}),
        "challenge job " + id.toDecimal(), 250000);
  });
}

// `bridge settle | withdraw`
void addPayoutCommands(CLI::App* bridge) {
  auto se = std::make_shared<JobOpts>();
  CLI::App* settle =
      bridge->add_subcommand("settle", "Settle a job after its challenge window (anyone)");
  addSend(settle, *se, true);
  settle->add_option("--job", se->job, "Job id")->required();
  settle->callback([se] {
    U256 id = parseUint(se->job, "--job");
    sendOrQueue(*se, contractOf(*se), U256(0),
                mlcpJobsAbi().encodeCall("settle", {Value::uint(id)}),
                "settle job " + id.toDecimal(), 150000);
  });
  auto to = std::make_shared<JobOpts>();
  CLI::App* tmo = bridge->add_subcommand(
      "timeout",
      "End what is overdue: a silent party's dispute move, a missed commit deadline (anyone)");
  addSend(tmo, *to, true);
  tmo->add_option("--job", to->job, "Job id")->required();
  tmo->callback([to] {
    U256 id = parseUint(to->job, "--job");
    sendOrQueue(*to, contractOf(*to), U256(0),
                mlcpJobsAbi().encodeCall("timeout", {Value::uint(id)}),
                "timeout job " + id.toDecimal(), 150000);
  });
  auto rs = std::make_shared<ResolveOpts>();
  CLI::App* res =
      bridge->add_subcommand("resolve", "Post the verdict on the disputed operator (the referee)");
  addSend(res, *rs, true);
  res->add_option("--job", rs->job, "Job id")->required();
  res->add_option("--solver-correct", rs->verdict,
                  "true: the solver computed the operator correctly")
      ->required()
      ->check(CLI::IsMember({"true", "false"}));
  res->callback([rs] {
    U256 id = parseUint(rs->job, "--job");
    sendOrQueue(*rs, contractOf(*rs), U256(0),
                mlcpJobsAbi().encodeCall("resolve",
                                         {Value::uint(id), Value::boolean(rs->verdict == "true")}),
                "resolve job " + id.toDecimal(), 150000);
  });

  auto wd = std::make_shared<Common>();
  CLI::App* withdraw =
      bridge->add_subcommand("withdraw", "Withdraw what the contract owes the key's address");
  addSend(withdraw, *wd, true);
  withdraw->callback([wd] {
    sendOrQueue(*wd, contractOf(*wd), U256(0), mlcpJobsAbi().encodeCall("withdraw", {}), "withdraw",
                100000);
  });
}

// `bridge status`
void addStatusCommand(CLI::App* bridge) {
  auto st = std::make_shared<StatusOpts>();
  CLI::App* status =
      bridge->add_subcommand("status", "Show the node, an account, a job, or an outbox");
  addRpc(status, *st);
  status->add_option("--contract", st->contract, "MlcpJobs contract address")
      ->envname("MLCP_CONTRACT");
  status->add_option("--key", st->key, "Show this key's account")->envname("MLCP_CHAIN_KEY");
  status->add_option("--address", st->address, "Show this account");
  status->add_option("--job", st->job, "Show this job (needs --contract)");
  status->add_option("--outbox", st->outbox, "Show this outbox's records");
  status->callback([st] {
    if (st->rpc.empty() && st->outbox.empty())
      throw UsageError("give --rpc URL and/or --outbox FILE");
    if (!st->outbox.empty()) {
      Outbox ob(st->outbox, false, /*repair=*/false);  // status changes nothing
      fmt::print("outbox:      {} ({} transactions, {} pending)\n", st->outbox, ob.entries().size(),
                 ob.pendingCount());
      for (const auto& note : ob.notes()) fmt::print("  note: {}\n", note);
      for (const OutboxEntry& e : ob.entries()) {
        fmt::print("  #{:<4} {} nonce {:<4} {} {}\n", e.seq, checksumAddress(e.tx.from),
                   e.tx.tx.nonce, e.sent ? (*e.success ? "sent    " : "REVERTED") : "pending ",
                   e.label);
      }
    }
    if (st->rpc.empty()) return;
    auto chain = connect(*st);
    fmt::print("node:        {}\nchain id:    {}\nblock:       {}\n", st->rpc, chain->chainId(),
               chain->blockNumber());
    std::optional<Address> account;
    if (!st->address.empty()) account = parseAddress(st->address, "--address");
    if (!st->key.empty()) account = EthKey::load(st->key).address();
    if (account) {
      fmt::print("account:     {}\nbalance:     {} wei\nnonce:       {}\n",
                 checksumAddress(*account), chain->balance(*account).toDecimal(),
                 chain->transactionCount(*account, "latest"));
    }
    if (st->contract.empty()) return;
    Address c = contractOf(*st);
    fmt::print("contract:    {}\njobs:        {}\n", checksumAddress(c),
               view(*chain, c, "jobCount", {})[0].word.toDecimal());
    if (account)
      fmt::print("owed:        {} wei\n",
                 view(*chain, c, "owed", {Value::address(*account)})[0].word.toDecimal());
    if (st->job.empty()) return;
    U256 id = parseUint(st->job, "--job");
    auto fields = view(*chain, c, "jobs", {Value::uint(id)});
    const auto& outs = mlcpJobsAbi().function("jobs").outputs;
    fmt::print("job {}:\n", id.toDecimal());
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string v = abi::format(outs[i].type, fields[i]);
      if (outs[i].name == "state")
        v += std::string(" (") + toString(static_cast<JobState>(fields[i].word.toU64())) + ")";
      fmt::print("  {:<20} {}\n", outs[i].name, v);
    }
    if (isMarket(*chain, c)) {
      MarketClient market(*chain, c);
      const TaskInfo t = market.task(id);
      const GroupInfo g = market.group(t.group);
      const TaskPhases ph = market.phases(id);
      fmt::print(
          "task {} of market job {} ({} tasks): price {} wei x {} units per checkpoint; "
          "seed {}{}\n",
          t.index, t.group.toDecimal(), g.num_tasks, g.price_per_unit.toDecimal(),
          g.units_per_checkpoint,
          !t.seedRequired()  ? "none"
          : t.seedRevealed() ? "revealed"
          : t.seedAnchored() ? "anchored"
                             : "committed",
          t.seedRevealed() ? fmt::format(", forced checkpoint {}", t.forced_checkpoint)
                           : std::string());
      if (ph.committed()) {
        fmt::print("phases:      verdicts until {}, revealed in ({}, {}], seed in ({}, {}]\n",
                   ph.t1, ph.t1, ph.t2, ph.t2, ph.t3);
      }
      CheckersClient checkers(*chain, market.checkersAddress());
      const TaskChecks tc = checkers.taskChecks(id);
      for (uint32_t slot = 0; slot < tc.verifiers; ++slot) {
        const VerifierSlot v = checkers.verifier(id, slot);
        fmt::print("verifier {}:  {} {}{}\n", slot, checksumAddress(v.account), toString(v.status),
                   v.status == VerifierStatus::kRevealed ? fmt::format(" flags {:#x}", v.flags)
                                                         : std::string());
      }
    }
    JobsClient jobs(*chain, c);
    DisputeInfo d = jobs.dispute(id);
    if (d.phase != DisputePhase::kNone) {
      fmt::print(
          "dispute:\n  {:<20} {}\n  {:<20} {}\n  {:<20} {}\n  {:<20} {}\n  {:<20} [{}, {}]\n",
          "challenger", checksumAddress(d.challenger), "phase", toString(d.phase), "to move",
          d.phase == DisputePhase::kVerdict
              ? "referee"
              : (d.solver_turn || d.phase == DisputePhase::kOperatorCount ? "solver"
                                                                          : "challenger"),
          "checkpoint", d.checkpoint, "interval", d.lo, d.hi);
      if (d.phase == DisputePhase::kOperators || d.phase == DisputePhase::kVerdict) {
        fmt::print("  {:<20} {}\n  {:<20} {}\n", "step", d.step, "operators", d.num_ops);
      }
      fmt::print("  {:<20} {}\n", "deadline", d.deadline);
    }
  });
}

// `bridge flush`
void addFlushCommand(CLI::App* bridge) {
  auto fl = std::make_shared<Common>();
  CLI::App* flush = bridge->add_subcommand(
      "flush", "Send an outbox's queued transactions in order, exactly once");
  addRpc(flush, *fl);
  flush->add_option("--outbox", fl->outbox, "Outbox file")->required();
  // Test hook: die by SIGKILL right after handing the Nth transaction to the node.
  flush->add_option("--kill-after", fl->stop_after, "")->group("");
  flush->callback([fl] {
    auto chain = connect(*fl);
    Outbox ob(fl->outbox, false);
    for (const auto& note : ob.notes()) fmt::print("note: {}\n", note);
    FlushOptions fo;
    fo.receipt_timeout_s = fl->timeout_s;
    fo.stop_after_sends = static_cast<size_t>(fl->stop_after);
    fo.on_entry = [](const OutboxEntry& e, const Receipt& r, bool found) {
      fmt::print("  #{:<4} {} {} block {} gas {}{}\n", e.seq, r.success ? "ok      " : "REVERTED",
                 e.label, r.block_number, r.gas_used, found ? " (already on chain)" : "");
    };
    FlushReport rep = ob.flush(*chain, fo);
    if (rep.stopped_early) ::raise(SIGKILL);  // as a crash at the worst moment
    fmt::print(
        "flushed {}: {} sent now, {} already on chain, {} marked before, {} reverted, {} gas\n",
        fl->outbox, rep.sent_now, rep.already_on_chain, rep.previously_marked, rep.reverted,
        rep.gas_used);
    if (rep.reverted != 0)
      throw ChainError(
          fmt::format("{} queued transactions reverted (marked; see above)", rep.reverted));
  });
}

struct TaskOpts : Common {
  std::string task, members;
  uint32_t threshold = 0;
  double anchor_timeout_s = 600;
};

// `bridge committee create | task accept | task reveal | task void | spec-hash` (MlcpMarket).
void addMarketCommands(CLI::App* bridge) {
  auto cc = std::make_shared<TaskOpts>();
  CLI::App* committee = bridge->add_subcommand("committee", "Referee committees of a market");
  committee->require_subcommand(1);
  CLI::App* cc_create =
      committee->add_subcommand("create", "Create a committee of n referees, k of which decide");
  addSend(cc_create, *cc, true);
  cc_create->add_option("--members", cc->members, "Comma-separated referee addresses")->required();
  cc_create->add_option("--threshold", cc->threshold, "k: signatures a verdict needs")->required();
  cc_create->callback([cc] {
    std::vector<Address> members;
    std::string rest = cc->members;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      members.push_back(parseAddress(rest.substr(0, comma), "--members"));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    auto chain = connect(*cc);
    MarketClient market(*chain, contractOf(*cc));
    Receipt r;
    const uint32_t id = market.createCommittee(EthKey::load(cc->key), members, cc->threshold, &r);
    printReceipt(r);
    fmt::print("committee:   {} ({} of {})\n", id, cc->threshold, members.size());
  });

  CLI::App* task = bridge->add_subcommand("task", "The solver's calls on a market task");
  task->require_subcommand(1);
  auto ta = std::make_shared<TaskOpts>();
  CLI::App* accept = task->add_subcommand(
      "accept",
      "Accept a task, posting its stake and a commitment to a secret seed, and anchor "
      "the seed (the solver)");
  addSend(accept, *ta, true);
  accept->add_option("--task", ta->task, "Task id")->required();
  accept
      ->add_option("--anchor-timeout", ta->anchor_timeout_s,
                   "Seconds to wait for the block that anchors the seed")
      ->capture_default_str();
  accept->callback([ta] {
    auto chain = connect(*ta);
    const Address contract = contractOf(*ta);
    MarketClient market(*chain, contract);
    const U256 id = parseUint(ta->task, "--task");
    const std::string state = solverStatePath(ta->key, contract, id);
    SolverTask solver(market, EthKey::load(ta->key), id, state);
    printReceipt(solver.accept());
    solver.anchor(ta->anchor_timeout_s);
    fmt::print("seed:        {}\n",
               market.task(id).seedRequired()
                   ? "committed and anchored; the seed (and so which checkpoint, if any, carries "
                     "a forced error) is kept in " +
                         state
                   : std::string("none (the job has no forced errors)"));
  });
  auto tr = std::make_shared<TaskOpts>();
  CLI::App* reveal = task->add_subcommand(
      "reveal", "Reveal the task's seed (and a forced checkpoint's true root) in (T2, T3]");
  addSend(reveal, *tr, true);
  reveal->add_option("--task", tr->task, "Task id")->required();
  reveal->callback([tr] {
    auto chain = connect(*tr);
    const Address contract = contractOf(*tr);
    MarketClient market(*chain, contract);
    const U256 id = parseUint(tr->task, "--task");
    SolverTask solver(market, EthKey::load(tr->key), id, solverStatePath(tr->key, contract, id));
    const auto r = solver.revealIfDue();
    if (!r) {
      const TaskPhases p = market.phases(id);
      throw UsageError(
          p.committed()
              ? fmt::format("task {}'s seed is revealed in ({}, {}] (block timestamps); now is {}",
                            id.toDecimal(), p.t2, p.t3, chain->latestTimestamp())
              : fmt::format("task {} has no seed to reveal now ({})", id.toDecimal(),
                            toString(p.state)));
    }
    printReceipt(*r);
  });
  auto tv = std::make_shared<TaskOpts>();
  CLI::App* voidc =
      task->add_subcommand("void", "End a task whose predecessor failed, with refunds (anyone)");
  addSend(voidc, *tv, true);
  voidc->add_option("--task", tv->task, "Task id")->required();
  voidc->callback([tv] {
    auto chain = connect(*tv);
    MarketClient market(*chain, contractOf(*tv));
    printReceipt(market.voidTask(EthKey::load(tv->key), parseUint(tv->task, "--task")));
  });

  auto sh = std::make_shared<std::pair<std::string, bool>>();
  CLI::App* spec_hash = bridge->add_subcommand(
      "spec-hash",
      "Print the text a job's spec hash is the keccak256 of, the hash, and the "
      "initial root");
  spec_hash->add_option("job_file", sh->first, "JOB.toml")->required();
  spec_hash->add_flag("--no-root", sh->second, "Skip the initial root (builds the seed's state)");
  spec_hash->callback([sh] {
    const jobs::JobSpec spec = jobs::loadJobSpec(sh->first);
    collectives::MpiRuntime mpi;
    const JobIdentity id = jobIdentity(spec, !sh->second);
    fmt::print("{}spec hash:    {}\n", specText(spec, id.data_hash), toHex(id.spec_hash));
    if (!sh->second) fmt::print("initial root: {}\n", toHex(id.initial_root));
  });
}

}  // namespace

void addBridgeCommands(CLI::App& app) {
  CLI::App* bridge = app.add_subcommand(
      "bridge", "The protocol chain: contract, jobs, commitments, payouts, outbox");
  bridge->require_subcommand(1);
  addChainKeyCommands(bridge);

  addDeployCommand(bridge);
  addJobCommands(bridge);
  addCommitCommand(bridge);
  addDisputeCommands(bridge);
  addPayoutCommands(bridge);
  addMarketCommands(bridge);
  addStatusCommand(bridge);
  addFlushCommand(bridge);
}

}  // namespace mlcp::app
