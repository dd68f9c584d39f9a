// The outbox and the commitment publisher: a hash-chained append-only file (torn tails cut,
// broken chains refused naming the record, nonces assigned under a lock), commitments made with
// no chain reachable and sent later exactly once, a flush interrupted after k sends and rerun
// sending nothing twice, and the publisher's online routes with the contract's named errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "bridge/commitment_publisher.h"
#include "bridge/contract_artifacts.h"
#include "bridge/keccak.h"
#include "bridge/outbox.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::kAnvilKeys;

std::string readFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void writeFile(const std::string& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
}
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

OutboxTxParams transfer(uint64_t wei) {
  OutboxTxParams p;
  p.chain_id = 31337;
  p.to = parseAddress("0x000000000000000000000000000000000000cafe");
  p.value = U256(wei);
  p.gas_limit = 21000;
  return p;
}

Hash32 rootOf(int i) { return keccak256("checkpoint root " + std::to_string(i)); }

TEST(Outbox, AppendsChainAndAssignsNonces) {
  test::TempDir dir("mlcp-outbox");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  Outbox ob(dir.file("outbox.jsonl"));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(ob.queue(k, transfer(1 + i), "t" + std::to_string(i)).tx.tx.nonce, uint64_t(i));
  Outbox again(dir.file("outbox.jsonl"), false);
  ASSERT_EQ(again.entries().size(), 3u);
  EXPECT_EQ(again.pendingCount(), 3u);
  EXPECT_EQ(again.entries()[2].label, "t2");
  EXPECT_EQ(again.nextNonce(k.address(), 31337), 3u);
  EXPECT_EQ(again.nextNonce(k.address(), 1), 0u);  // per chain
  again.setNextNonce(k.address(), 31337, 10);
  EXPECT_EQ(ob.queue(k, transfer(9), "after floor").tx.tx.nonce,
            10u);  // `ob` re-reads under the lock
  EXPECT_THROW(ob.setNextNonce(k.address(), 31337, 4), UsageError);
  EXPECT_THROW(Outbox(dir.file("missing.jsonl"), false), UsageError);
  EXPECT_EQ(Outbox(dir.file("new/folder/o.jsonl")).entries().size(), 0u);  // folders created
}

TEST(Outbox, TornLastLineIsIgnoredThenCut) {
  test::TempDir dir("mlcp-outbox");
  std::string path = dir.file("o.jsonl");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  {
    Outbox ob(path);
    ob.queue(k, transfer(1), "a");
    ob.queue(k, transfer(2), "b");
  }
  std::string good = readFile(path);
  // A crash mid-append: a prefix of the next record without its newline.
  writeFile(path, good + "{\"seq\":3,\"prev\":\"0x12");
  {
    Outbox reader(path, false, /*repair=*/false);  // `bridge status`: notes it, changes nothing
    ASSERT_EQ(reader.notes().size(), 1u);
    EXPECT_NE(reader.notes()[0].find("have no newline"), std::string::npos) << reader.notes()[0];
    EXPECT_EQ(readFile(path), good + "{\"seq\":3,\"prev\":\"0x12");
  }
  Outbox ob(path);  // a writer: cuts the tail, and says so
  EXPECT_EQ(ob.entries().size(), 2u);
  EXPECT_EQ(readFile(path), good);
  ASSERT_EQ(ob.notes().size(), 1u);
  EXPECT_NE(ob.notes()[0].find("they were dropped"), std::string::npos) << ob.notes()[0];
  EXPECT_EQ(ob.queue(k, transfer(3), "c").tx.tx.nonce, 2u);
}

// A complete, newline-terminated last record is never dropped: an append always writes its
// newline, so a line that ends in one was written whole and then damaged. It may hold a signed
// commitment; the outbox refuses to go on and leaves the file as it is.
TEST(Outbox, ADamagedCompleteLastRecordIsRefusedAndKept) {
  test::TempDir dir("mlcp-outbox");
  std::string path = dir.file("o.jsonl");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  {
    Outbox ob(path);
    ob.queue(k, transfer(1), "a");
    ob.queue(k, transfer(2), "b");
  }
  const std::string good = readFile(path);
  auto refused = [&](const std::string& text, const std::string& needle) {
    writeFile(path, text);
    try {
      Outbox ob(path);
      FAIL() << "accepted a damaged last record; expected: " << needle;
    } catch (const VerificationError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(readFile(path), text) << "the file was changed";
  };
  refused(good + "\x01\x02garbage\n", "record 3 (line 4) is not a JSON record");
  // The last transaction record with one byte of its signed bytes flipped.
  std::string flipped = good;
  const auto raw = flipped.rfind("\"raw\":\"0x") + 9;
  flipped[raw + 10] = flipped[raw + 10] == 'a' ? 'b' : 'a';
  refused(flipped, "record 2 (line 3)");
}

TEST(Outbox, ACrashAtEveryByteOfTheLastAppendLeavesAValidOutbox) {
  // Sweep every length the file can have when a crash cuts the last append short.
  test::TempDir dir("mlcp-outbox");
  std::string path = dir.file("o.jsonl");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  std::string before;
  {
    Outbox ob(path);
    ob.queue(k, transfer(1), "a");
    before = readFile(path);
    ob.queue(k, transfer(2), "b");
  }
  const std::string full = readFile(path);
  for (size_t len = before.size(); len < full.size(); ++len) {
    writeFile(path, full.substr(0, len));
    Outbox ob(path);
    ASSERT_EQ(ob.entries().size(), 1u) << "cut at byte " << len;
    ASSERT_EQ(readFile(path), before) << "cut at byte " << len;
    ASSERT_EQ(ob.nextNonce(k.address(), 31337), 1u);
  }
  writeFile(path, full);
  EXPECT_EQ(Outbox(path).entries().size(), 2u);
}

TEST(Outbox, BrokenChainInTheMiddleIsRefusedNamingTheRecord) {
  test::TempDir dir("mlcp-outbox");
  std::string path = dir.file("o.jsonl");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  {
    Outbox ob(path);
    for (int i = 0; i < 4; ++i) ob.queue(k, transfer(1 + i), "label" + std::to_string(i));
  }
  const std::string good = readFile(path);
  auto expectRefused = [&](const std::string& text, const std::string& needle) {
    writeFile(path, text);
    try {
      Outbox ob(path, false);
      FAIL() << "accepted a damaged outbox; expected: " << needle;
    } catch (const VerificationError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  // An edited label in record 2: the chain breaks at record 3.
  std::string edited = good;
  edited.replace(edited.find("label1"), 6, "labelX");
  expectRefused(edited, "record 3 (line 4) breaks the hash chain");
  // A dropped record 2: record 3 arrives with the wrong seq.
  auto ls = lines(good);
  std::string dropped;
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i != 2) dropped += ls[i] + "\n";
  }
  expectRefused(dropped, "record 2 (line 3) has seq 3");
  // Garbage in the middle.
  std::string garbage;
  for (size_t i = 0; i < ls.size(); ++i)
    garbage += (i == 1 ? std::string("not json") : ls[i]) + "\n";
  expectRefused(garbage, "record 1 (line 2) is not a JSON record");
  writeFile(path, good);
  EXPECT_EQ(Outbox(path, false).entries().size(), 4u);
}

TEST(Outbox, ConcurrentWritersNeverShareANonce) {
  test::TempDir dir("mlcp-outbox");
  std::string path = dir.file("o.jsonl");
  Outbox(path).entries();
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  auto writer = [&](int base) {
    Outbox ob(path, false);  // its own file descriptions: the flock serialises them
    for (int i = 0; i < 15; ++i) ob.queue(k, transfer(static_cast<uint64_t>(base + i)), "w");
  };
  std::thread a(writer, 100), b(writer, 200);
  a.join();
  b.join();
  Outbox ob(path, false);
  ASSERT_EQ(ob.entries().size(), 30u);
  std::vector<bool> seen(30, false);
  for (const OutboxEntry& e : ob.entries()) {
    ASSERT_LT(e.tx.tx.nonce, 30u);
    EXPECT_FALSE(seen[e.tx.tx.nonce]) << "nonce " << e.tx.tx.nonce << " used twice";
    seen[e.tx.tx.nonce] = true;
  }
}

// ---- against anvil ----------------------------------------------------------------------------

struct Job {
  EthKey submitter = EthKey::fromHex(kAnvilKeys[0]);
  EthKey solver = EthKey::fromHex(kAnvilKeys[1]);
  Address contract = contractAddress(submitter.address(), 0);  // the first deployment of account 0
  U256 escrow = U256::parseAmount("3ether");
  U256 stake = U256::parseAmount("1ether");
  uint32_t checkpoints = 4;

  Bytes createCall() const {
    using abi::Value;
    return mlcpJobsAbi().encodeCall(
        "createJob", {Value::fixedBytes(keccak256("spec")), Value::fixedBytes(keccak256("init")),
                      Value::uint(checkpoints), Value::uint(10), Value::uint(stake),
                      Value::uint(U256::parseAmount("0.1ether")), Value::uint(3600),
                      Value::uint(3600), Value::uint(600), Value::address(submitter.address())});
  }
  Bytes acceptCall() const { return mlcpJobsAbi().encodeCall("acceptJob", {abi::Value::uint(1)}); }
};

// Queues, with no chain anywhere: the deployment and the job (submitter), the acceptance and
// `n` signed commitments (solver).
void queueWholeJobOffline(Outbox& ob, const Job& job, int n) {
  OutboxTxParams p;
  p.chain_id = 31337;
  p.data = mlcpJobsBytecode();
  p.gas_limit = 3000000;
  ob.queue(job.submitter, p, "deploy MlcpJobs");
  p.to = job.contract;
  p.data = job.createCall();
  p.value = job.escrow;
  p.gas_limit = 400000;
  ob.queue(job.submitter, p, "create job 1");
  p.data = job.acceptCall();
  p.value = job.stake;
  p.gas_limit = 150000;
  ob.queue(job.solver, p, "accept job 1");
  for (int i = 1; i <= n; ++i) {
    SignedCommitment sc = signCommitment(
        {31337, job.contract, U256(1), static_cast<uint64_t>(i), rootOf(i)}, job.solver);
    p.value = U256(0);
    p.data = commitCheckpointCalldata(sc);
    p.gas_limit = 120000;
    ob.queue(job.solver, p, "commit " + std::to_string(i), sc.toJson());
  }
}

Hash32 rootOnChain(ChainClient& c, const Job& job, int i) {
  CallRequest req;
  req.to = job.contract;
  req.data = mlcpJobsAbi().encodeCall(
      "roots", {abi::Value::uint(1), abi::Value::uint(static_cast<uint64_t>(i))});
  return mlcpJobsAbi().decodeReturn("roots", c.call(req))[0].asBytes32();
}

TEST(OutboxChain, CommitmentsMadeOfflineAreSentLaterExactlyOnce) {
  test::TempDir dir("mlcp-outbox");
  Job job;
  Outbox ob(dir.file("o.jsonl"));
  queueWholeJobOffline(ob, job, 3);  // 6 transactions, no node running
  ASSERT_EQ(ob.pendingCount(), 6u);

  MLCP_START_ANVIL(anvil);  // the gateway's chain, later
  ChainClient c(anvil->url());
  c.addErrorAbi(mlcpJobsAbi(), "MlcpJobs");
  FlushReport r = ob.flush(c);
  EXPECT_EQ(r.total, 6u);
  EXPECT_EQ(r.sent_now, 6u);
  EXPECT_EQ(r.already_on_chain, 0u);
  EXPECT_EQ(r.reverted, 0u);
  EXPECT_EQ(ob.pendingCount(), 0u);
  EXPECT_EQ(c.transactionCount(job.submitter.address(), "latest"), 2u);
  EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), 4u);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(rootOnChain(c, job, i), rootOf(i)) << "checkpoint " << i;
  EXPECT_EQ(c.balance(job.contract), job.escrow + job.stake);

  // A second flush sends nothing.
  FlushReport again = Outbox(ob.path(), false).flush(c);
  EXPECT_EQ(again.sent_now + again.already_on_chain, 0u);
  EXPECT_EQ(again.previously_marked, 6u);
  EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), 4u);
  std::printf("offline job: 6 transactions flushed, %llu gas\n",
              static_cast<unsigned long long>(r.gas_used));
}

TEST(OutboxChain, FlushInterruptedAfterKSendsResumesWithoutResending) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  for (size_t k : {1u, 4u}) {
    test::TempDir dir("mlcp-outbox");
    Job job;
    if (k == 4) {
      // Second round on the same chain: a fresh deployer key so the predicted address holds.
      job.submitter = EthKey::fromHex(kAnvilKeys[2]);
      job.solver = EthKey::fromHex(kAnvilKeys[3]);
      job.contract = contractAddress(job.submitter.address(), 0);
    }
    Outbox ob(dir.file("o.jsonl"));
    queueWholeJobOffline(ob, job, 4);  // 7 transactions
    FlushOptions crash;
    crash.stop_after_sends = k;  // die right after handing the k-th to the node, before marking it
    FlushReport first = Outbox(ob.path(), false).flush(c, crash);
    EXPECT_TRUE(first.stopped_early);
    EXPECT_EQ(first.sent_now, k);
    // Exactly k transactions reach the chain (the node mines the k-th shortly after the send).
    auto onChain = [&] {
      return c.transactionCount(job.submitter.address(), "latest") +
             c.transactionCount(job.solver.address(), "latest");
    };
    EXPECT_TRUE(test::waitUntil(10, [&] { return onChain() >= k; }));
    EXPECT_EQ(onChain(), k);

    FlushReport second = Outbox(ob.path(), false).flush(c);
    EXPECT_FALSE(second.stopped_early);
    EXPECT_EQ(second.previously_marked, k - 1);
    EXPECT_EQ(second.already_on_chain, 1u);  // the unmarked k-th: found mined, not resent
    EXPECT_EQ(second.sent_now, 7u - k);
    EXPECT_EQ(c.transactionCount(job.submitter.address(), "latest"), 2u);
    EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), 5u);
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(rootOnChain(c, job, i), rootOf(i));
    EXPECT_EQ(Outbox(ob.path(), false).pendingCount(), 0u);
  }
}

TEST(OutboxChain, BytesARelayerSentFirstAreOnlyMarked) {
  // The same signed bytes are valid whichever way they reach the chain: an independent relayer
  // (the pinned `cast publish`) sends the first queued commitment; flush finds it mined and
  // sends only the rest.
  std::string why;
  std::string cast = test::chainTool("MLCP_CAST", &why);
  if (cast.empty()) GTEST_SKIP() << why;
  test::TempDir dir("mlcp-outbox");
  Job job;
  Outbox ob(dir.file("o.jsonl"));
  queueWholeJobOffline(ob, job, 2);  // deploy, create, accept, commit 1, commit 2
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  for (size_t i = 0; i < 4; ++i) {
    test::CommandResult r = test::runCommand(cast + " publish --rpc-url " + anvil->url() + " " +
                                             toHex(ob.entries()[i].tx.raw) + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  ASSERT_TRUE(test::waitUntil(10, [&] { return c.receipt(ob.entries()[3].tx.hash).has_value(); }));
  FlushReport r = ob.flush(c);
  EXPECT_EQ(r.already_on_chain, 4u);
  EXPECT_EQ(r.sent_now, 1u);
  EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), 3u);
  EXPECT_EQ(rootOnChain(c, job, 1), rootOf(1));
  EXPECT_EQ(rootOnChain(c, job, 2), rootOf(2));
}

TEST(OutboxChain, NonceTakenByAnotherTransactionIsRefusedNamingTheRecord) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  test::TempDir dir("mlcp-outbox");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  Outbox ob(dir.file("o.jsonl"));
  ob.queue(k, transfer(5), "queued transfer");
  CallRequest other;
  other.to = parseAddress("0x000000000000000000000000000000000000beef");
  c.transact(k, other);  // the same key sends directly: nonce 0 is gone
  try {
    ob.flush(c);
    FAIL() << "flushed a transaction whose nonce was taken";
  } catch (const ChainError& e) {
    EXPECT_NE(std::string(e.what()).find("record 1 (queued transfer) can never be mined"),
              std::string::npos)
        << e.what();
  }
}

// Deploys MlcpJobs, creates job 1 and has the solver accept it, online.
void setUpJobOnline(ChainClient& c, const Job& job) {
  Receipt d = c.deploy(job.submitter, mlcpJobsBytecode());
  ASSERT_EQ(*d.contract_address, job.contract);
  CallRequest req;
  req.to = job.contract;
  req.data = job.createCall();
  req.value = job.escrow;
  c.transact(job.submitter, req);
  req.data = job.acceptCall();
  req.value = job.stake;
  c.transact(job.solver, req);
}

TEST(Publisher, DigestMatchesTheContract) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  Job job;
  setUpJobOnline(c, job);
  Commitment cm{31337, job.contract, U256(1), 2, rootOf(2)};
  CallRequest req;
  req.to = job.contract;
  req.data = mlcpJobsAbi().encodeCall("checkpointDigest", {abi::Value::uint(1), abi::Value::uint(2),
                                                           abi::Value::fixedBytes(rootOf(2))});
  EXPECT_EQ(mlcpJobsAbi().decodeReturn("checkpointDigest", c.call(req))[0].asBytes32(),
            checkpointDigest(cm));
  SignedCommitment sc = signCommitment(cm, job.solver);
  EXPECT_EQ(SignedCommitment::fromJson(sc.toJson()).signer, job.solver.address());
  nlohmann::json forged = sc.toJson();
  forged["root"] = toHex(rootOf(3));
  EXPECT_THROW(SignedCommitment::fromJson(forged), VerificationError);
}

TEST(Publisher, DirectRouteSendsAndNamesContractErrors) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  Job job;
  setUpJobOnline(c, job);
  PublisherConfig cfg;
  cfg.rpc_url = anvil->url();
  cfg.contract = job.contract;
  CommitmentPublisher pub(cfg, job.solver);
  for (int i = 1; i <= 2; ++i) {
    PublishResult r = pub.publish(U256(1), static_cast<uint64_t>(i), rootOf(i));
    EXPECT_EQ(r.route, PublishResult::Route::kSent);
    ASSERT_TRUE(r.receipt);
    EXPECT_TRUE(r.receipt->success);
    auto ev = mlcpJobsAbi().decodeLogs(r.receipt->logs, &job.contract);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].name(), "CheckpointCommitted");
    EXPECT_EQ(ev[0]["root"].asBytes32(), rootOf(i));
    std::printf("gas: commitCheckpoint #%d %llu\n", i,
                static_cast<unsigned long long>(r.receipt->gas_used));
  }
  try {
    pub.publish(U256(1), 1, rootOf(7));  // another root for a committed index
    FAIL() << "a repeated index was accepted";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.reason(), "WrongIndex(expected=3)") << e.what();
  }
  // A commitment signed by someone else is refused on chain, even if the solver sends it.
  CommitmentPublisher forger(cfg, EthKey::fromHex(kAnvilKeys[2]));
  try {
    forger.publish(U256(1), 3, rootOf(3));
    FAIL() << "a forged commitment was accepted";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.errorName(), "BadSignature") << e.what();
  }
  EXPECT_EQ(rootOnChain(c, job, 2), rootOf(2));
  // Publishing an index again with the same root (a resumed run) sends nothing.
  uint64_t count = c.transactionCount(job.solver.address(), "latest");
  PublishResult again = pub.publish(U256(1), 2, rootOf(2));
  EXPECT_EQ(again.route, PublishResult::Route::kSent);
  EXPECT_EQ(again.note, "already on chain");
  EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), count);
}

TEST(Publisher, NodeLostBetweenCheckpointsQueuesTheNextOne) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  Job job;
  setUpJobOnline(c, job);
  test::TempDir dir("mlcp-outbox");
  PublisherConfig cfg;  // no chain id configured: it is learnt from the node
  cfg.rpc_url = anvil->url();
  cfg.outbox_path = dir.file("c.jsonl");
  cfg.contract = job.contract;
  cfg.rpc.max_attempts = 2;
  cfg.rpc.backoff_initial_s = 0.05;
  CommitmentPublisher pub(cfg, job.solver);
  EXPECT_EQ(pub.publish(U256(1), 1, rootOf(1)).route, PublishResult::Route::kSent);
  anvil->stop();  // the gateway goes away
  PublishResult r = pub.publish(U256(1), 2, rootOf(2));
  EXPECT_EQ(r.route, PublishResult::Route::kQueued);
  EXPECT_NE(r.note.find("cannot reach the chain node at " + cfg.rpc_url), std::string::npos)
      << r.note;
  Outbox ob(cfg.outbox_path, false);
  ASSERT_EQ(ob.entries().size(), 2u);
  EXPECT_EQ(ob.pendingCount(), 1u);
  EXPECT_EQ(ob.entries()[1].tx.tx.chain_id, 31337u);
  EXPECT_EQ(ob.entries()[1].tx.tx.nonce, ob.entries()[0].tx.tx.nonce + 1);
}

TEST(Publisher, RepublishingOfflineQueuesOnceAndRefusesAnotherRoot) {
  test::TempDir dir("mlcp-outbox");
  Job job;
  PublisherConfig cfg;
  cfg.outbox_path = dir.file("c.jsonl");
  cfg.contract = job.contract;
  cfg.chain_id = 31337;
  CommitmentPublisher pub(cfg, job.solver);
  Hash32 first = pub.publish(U256(1), 1, rootOf(1)).tx_hash;
  PublishResult again = pub.publish(U256(1), 1, rootOf(1));
  EXPECT_EQ(again.tx_hash, first);
  EXPECT_EQ(again.note, "already queued");
  EXPECT_EQ(Outbox(cfg.outbox_path, false).entries().size(), 1u);
  try {
    pub.publish(U256(1), 1, rootOf(9));
    FAIL() << "a second root for the same checkpoint was queued";
  } catch (const VerificationError& e) {
    EXPECT_NE(std::string(e.what()).find("already holds root"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pub.publish(U256(1), 2, rootOf(2)).route, PublishResult::Route::kQueued);
  EXPECT_EQ(Outbox(cfg.outbox_path, false).entries().size(), 2u);
}

TEST(Publisher, OutboxRouteQueuesWhileTheNodeIsDownAndSendsOnce) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  Job job;
  setUpJobOnline(c, job);
  test::TempDir dir("mlcp-outbox");
  // 1. offline: the cluster sees no node at all.
  PublisherConfig cfg;
  cfg.outbox_path = dir.file("commitments.jsonl");
  cfg.contract = job.contract;
  cfg.chain_id = 31337;
  {
    CommitmentPublisher pub(cfg, job.solver);
    EXPECT_EQ(pub.publish(U256(1), 1, rootOf(1)).route, PublishResult::Route::kQueued);
  }
  // The solver's key already sent its acceptance on chain (nonce 0): tell the outbox where its
  // nonces start, as a gateway operator would from `mlcp bridge status`.
  {
    Outbox ob(cfg.outbox_path);
    ASSERT_EQ(ob.entries().size(), 1u);
    EXPECT_EQ(ob.entries()[0].tx.tx.nonce, 0u);
  }
  test::TempDir dir2("mlcp-outbox");
  cfg.outbox_path = dir2.file("commitments.jsonl");
  Outbox(cfg.outbox_path)
      .setNextNonce(job.solver.address(), 31337, c.transactionCount(job.solver.address()));
  // 2. an RPC URL that is down, with the outbox as the fallback: queued, the note names the URL.
  cfg.rpc_url = test::deadUrl();
  cfg.rpc.max_attempts = 2;
  cfg.rpc.backoff_initial_s = 0.05;
  {
    CommitmentPublisher pub(cfg, job.solver);
    PublishResult r1 = pub.publish(U256(1), 1, rootOf(1));
    EXPECT_EQ(r1.route, PublishResult::Route::kQueued);
    EXPECT_NE(r1.note.find(cfg.rpc_url), std::string::npos) << r1.note;
    EXPECT_EQ(pub.publish(U256(1), 2, rootOf(2)).route, PublishResult::Route::kQueued);
  }
  // 3. the node is back: the next publish flushes the queue in order, then itself.
  cfg.rpc_url = anvil->url();
  CommitmentPublisher pub(cfg, job.solver);
  PublishResult r3 = pub.publish(U256(1), 3, rootOf(3));
  EXPECT_EQ(r3.route, PublishResult::Route::kSent);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(rootOnChain(c, job, i), rootOf(i));
  EXPECT_EQ(c.transactionCount(job.solver.address(), "latest"), 4u);  // accept + 3 commitments
  EXPECT_EQ(Outbox(cfg.outbox_path, false).pendingCount(), 0u);
}

// Found by tests/fuzz/fuzz_outbox: integer fields were read with nlohmann's get<>, which casts
// a float with undefined behaviour when it is out of range ({"version":1e300}) and wraps a
// negative number; and a "nonce" record was first checked when nextNonce() read it, so a
// mistyped one threw nlohmann's type_error there. All are refused at open, naming the record.
TEST(Outbox, RecordsWithMistypedNumbersAreRefusedAtOpen) {
  test::TempDir dir("mlcp-outbox");
  const std::string path = dir.file("o.jsonl");
  EthKey k = EthKey::fromHex(kAnvilKeys[3]);
  {
    Outbox ob(path);
    ob.setNextNonce(k.address(), 31337, 2);
    ob.queue(k, transfer(1), "t");
  }
  std::vector<nlohmann::json> good;  // header, nonce record, transaction
  for (const std::string& l : lines(readFile(path))) good.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(good.size(), 3u);
  // The records with one field replaced, re-chained as the writer would (seq, prev).
  auto write = [&](size_t record, const std::string& key, const nlohmann::json& value) {
    std::vector<nlohmann::json> rs = good;
    rs[record][key] = value;
    std::string text, prev = toHex(Hash32{});
    for (size_t i = 0; i < rs.size(); ++i) {
      if (key != "seq" || i != record) rs[i]["seq"] = i;
      rs[i]["prev"] = prev;
      const std::string line = rs[i].dump();
      prev = toHex(keccak256(line));
      text += line + "\n";
    }
    writeFile(path, text);
  };
  write(1, "next", 2);
  EXPECT_EQ(Outbox(path, false).nextNonce(k.address(), 31337), 3u);
  const std::vector<std::tuple<size_t, std::string, nlohmann::json, std::string>> cases = {
      {0, "version", 1e300, "is not an mlcp outbox (version 1) header"},
      {0, "seq", 1e300, "'seq' must be an unsigned integer, got 1e+300"},
      {1, "next", "x", "record 1 (line 2): 'next' must be an unsigned integer, got \"x\""},
      {1, "next", -1, "'next' must be an unsigned integer, got -1"},
      {1, "key", 5, "record 1 (line 2) is malformed"},
      {2, "nonce", 1e300, "record 2 (line 3): 'nonce' must be an unsigned integer"},
      {2, "chain_id", 31337.0, "'chain_id' must be an unsigned integer"}};
  for (const auto& [record, key, value, needle] : cases) {
    write(record, key, value);
    try {
      Outbox ob(path, false);
      ob.nextNonce(k.address(), 31337);
      ADD_FAILURE() << "accepted record " << record << " with " << key << " = " << value.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mlcp::bridge
