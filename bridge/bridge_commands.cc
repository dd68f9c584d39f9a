#include "bridge/bridge_commands.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <optional>

#include "bridge/chain_client.h"
#include "bridge/commitment_publisher.h"
#include "bridge/contract_artifacts.h"
#include "bridge/jobs_client.h"
#include "bridge/keccak.h"
#include "bridge/outbox.h"
#include "runtime/error.h"

namespace mlcp::bridge {
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
  for (const DecodedEvent& e : mlcpJobsAbi().decodeLogs(r.logs))
    fmt::print("event:       {}\n", e.toString());
}

std::unique_ptr<ChainClient> connect(const Common& o) {
  if (o.rpc.empty()) throw UsageError("this command needs --rpc URL (or $MLCP_RPC_URL)");
  auto c = std::make_unique<ChainClient>(o.rpc);
  c->addErrorAbi(mlcpJobsAbi(), "MlcpJobs");
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

void addKeyCommands(CLI::App* bridge) {
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

}  // namespace

void addCommands(CLI::App& app) {
  CLI::App* bridge = app.add_subcommand(
      "bridge", "The protocol chain: contract, jobs, commitments, payouts, outbox");
  bridge->require_subcommand(1);
  addKeyCommands(bridge);

  // ---- deploy
  auto dep = std::make_shared<Common>();
  CLI::App* deploy =
      bridge->add_subcommand("deploy", "Deploy the MlcpJobs contract (the build embedded in mlcp)");
  deploy->footer(fmt::format("Compiled by {}.", mlcpJobsCompiler()));
  addSend(deploy, *dep, false);
  deploy->callback([dep] {
    Outcome r =
        sendOrQueue(*dep, std::nullopt, U256(0), mlcpJobsBytecode(), "deploy MlcpJobs", 3000000);
    if (r.receipt) {
      fmt::print("contract:    {}\n", checksumAddress(*r.receipt->contract_address));
    } else {
      // Known before it is sent: the sender and the nonce fix a contract's address.
      fmt::print("contract:    {} (once flushed)\n",
                 checksumAddress(contractAddress(r.queued->tx.from, r.queued->tx.tx.nonce)));
    }
  });

  // ---- job create | accept
  CLI::App* job = bridge->add_subcommand("job", "Create, accept or cancel a job");
  job->require_subcommand(1);
  struct CreateOpts : Common {
    std::string spec_hash, initial_root, escrow, stake, bond, referee;
    uint32_t checkpoints = 0, steps = 0, commit_timeout = 3600, window = 3600, move_timeout = 600;
  };
  auto co = std::make_shared<CreateOpts>();
  CLI::App* create = job->add_subcommand("create", "Escrow a payment for a job (the submitter)");
  addSend(create, *co, true);
  create->add_option("--spec-hash", co->spec_hash, "bytes32: hash of the job spec")->required();
  create
      ->add_option("--initial-root", co->initial_root,
                   "bytes32: Merkle root of the initial checkpoint")
      ->required();
  create->add_option("--checkpoints", co->checkpoints, "Number of checkpoints to commit")
      ->required();
  create->add_option("--steps-per-checkpoint", co->steps, "Training steps between checkpoints")
      ->required();
  create->add_option("--escrow", co->escrow, "Payment escrowed (e.g. 2ether, 1500000000gwei, wei)")
      ->required();
  create->add_option("--stake", co->stake, "Stake the solver must post")->required();
  create->add_option("--bond", co->bond, "Bond a challenger must post")->required();
  create->add_option("--referee", co->referee, "Referee address")->required();
  create->add_option("--commit-timeout", co->commit_timeout, "Seconds the solver has to commit all")
      ->capture_default_str();
  create->add_option("--challenge-window", co->window, "Seconds of the challenge window")
      ->capture_default_str();
  create->add_option("--move-timeout", co->move_timeout, "Seconds per dispute move")
      ->capture_default_str();
  create->callback([co] {
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

  struct JobOpts : Common {
    std::string job, amount, root;
    uint64_t index = 0;
  };
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

  // ---- commit (what the runtime does on rank 0 per checkpoint)
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

  // ---- challenge
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

  // ---- settle | withdraw
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
  struct ResolveOpts : JobOpts {
    std::string verdict;
  };
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

  // ---- status
  struct StatusOpts : Common {
    std::string job, address;
  };
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
      Outbox ob(st->outbox, false);
      fmt::print("outbox:      {} ({} transactions, {} pending)\n", st->outbox, ob.entries().size(),
                 ob.pendingCount());
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

  // ---- flush
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

}  // namespace mlcp::bridge
