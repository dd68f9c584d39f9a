// The chain client against a real anvil (started by bridge/scripts/anvil-start.sh): chain id
// and balances, a signed EIP-1559 transfer byte-identical to the pinned `cast mktx`, balances to
// the wei, nonce management, gas estimation and padding, the MlcpJobs contract deployed,
// called, its events decoded and its reverts decoded into named custom errors, and transport
// errors that name the URL without hanging.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "base/error.h"
#include "bridge/chain_client.h"
#include "bridge/commitment.h"
#include "bridge/contract_artifacts.h"
#include "bridge/keccak.h"
#include "tests/bridge/anvil_fixture.h"

namespace mlcp::bridge {
namespace {

using test::kAnvilKeys;

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Chain, ChainIdBalancesBlocks) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  EXPECT_EQ(c.chainId(), 31337u);
  EXPECT_EQ(c.balance(EthKey::fromHex(kAnvilKeys[0]).address()), U256::parseAmount("10000ether"));
  EXPECT_EQ(c.blockNumber(), 0u);
  EXPECT_EQ(c.balance(parseAddress("0x000000000000000000000000000000000000dEaD")), U256(0));
}

TEST(Chain, TransferEqualsCastMktxAndMovesBalancesToTheWei) {
  MLCP_START_ANVIL(anvil);
  std::string why;
  std::string cast = test::chainTool("MLCP_CAST", &why);
  if (cast.empty()) GTEST_SKIP() << why;
  ChainClient c(anvil->url());
  EthKey alice = EthKey::fromHex(kAnvilKeys[0]);
  Address bob = parseAddress("0x000000000000000000000000000000000000bEEF");

  Eip1559Tx tx;
  tx.chain_id = c.chainId();
  tx.nonce = c.transactionCount(alice.address());
  tx.max_priority_fee_per_gas = U256(1000000000);
  tx.max_fee_per_gas = U256(5000000000u);
  tx.gas_limit = 21000;
  tx.to = bob;
  tx.value = U256::parse("123456789012345678");
  SignedTx ours = signTransaction(tx, alice);

  // The independent encoder: cast mktx with the same fields, offline.
  test::CommandResult r = test::runCommand(cast + " mktx --private-key " + kAnvilKeys[0] +
                                           " --chain 31337 --nonce " + std::to_string(tx.nonce) +
                                           " --gas-limit 21000 --priority-gas-price 1000000000 "
                                           "--gas-price 5000000000 --value 123456789012345678 " +
                                           checksumAddress(bob) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string theirs = r.output.substr(0, r.output.find_last_not_of("\n") + 1);
  EXPECT_EQ(toHex(ours.raw), theirs);

  U256 alice_before = c.balance(alice.address());
  EXPECT_EQ(c.sendRaw(ours), ours.hash);
  Receipt rc = c.waitForReceipt(ours.hash, 30);
  EXPECT_TRUE(rc.success);
  EXPECT_EQ(rc.gas_used, 21000u);
  EXPECT_EQ(rc.from, alice.address());
  EXPECT_EQ(c.balance(bob), tx.value);
  EXPECT_EQ(c.balance(alice.address()), alice_before - tx.value - rc.fee());
  // Sending the same bytes again is not an error and does not execute twice.
  EXPECT_EQ(c.sendRaw(ours), ours.hash);
  EXPECT_EQ(c.balance(bob), tx.value);
}

TEST(Chain, CallDataTransactionEqualsCastMktx) {
  std::string why;
  std::string cast = test::chainTool("MLCP_CAST", &why);
  if (cast.empty()) GTEST_SKIP() << why;
  EthKey k = EthKey::fromHex(kAnvilKeys[1]);
  Eip1559Tx tx;
  tx.chain_id = 1;
  tx.nonce = 300;
  tx.max_priority_fee_per_gas = U256(2);
  tx.max_fee_per_gas = U256::parse("100000000000");
  tx.gas_limit = 90000;
  tx.to = parseAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3");
  tx.data = abi::encodeCall(
      "transfer(address,uint256)",
      {abi::Value::address(parseAddress("0x000000000000000000000000000000000000bEEF")),
       abi::Value::uint(U256::parse("1000000000000000000000"))});
  test::CommandResult r = test::runCommand(
      cast + " mktx --private-key " + kAnvilKeys[1] +
      " --chain 1 --nonce 300 --gas-limit 90000 --priority-gas-price 2 --gas-price 100000000000 "
      "0x5FbDB2315678afecb367f032d93F642f64180aa3 'transfer(address,uint256)' "
      "0x000000000000000000000000000000000000bEEF 1000000000000000000000 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(toHex(signTransaction(tx, k).raw), r.output.substr(0, r.output.find('\n')));
}

TEST(Chain, CommitmentSignatureEqualsCastWalletSign) {
  // An independent signer over our message: `cast wallet sign` applies the EIP-191 prefix and
  // RFC 6979 nonces, so the 65 bytes must be identical.
  std::string why;
  std::string cast = test::chainTool("MLCP_CAST", &why);
  if (cast.empty()) GTEST_SKIP() << why;
  EthKey solver = EthKey::fromHex(kAnvilKeys[1]);
  Commitment c{31337, parseAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), U256(7), 3,
               keccak256("root 3")};
  test::CommandResult r = test::runCommand(cast + " wallet sign --private-key " + kAnvilKeys[1] +
                                           " " + toHex(checkpointMessage(c)) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(toHex(signCommitment(c, solver).signature.toRsv()),
            r.output.substr(0, r.output.find('\n')));
}

TEST(Chain, NonceManagementOverManySends) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  EthKey k = EthKey::fromHex(kAnvilKeys[2]);
  Address sink = parseAddress("0x000000000000000000000000000000000000cafe");
  uint64_t start = c.transactionCount(k.address(), "latest");
  std::vector<SignedTx> sent;
  for (int i = 0; i < 6; ++i) {
    CallRequest req;
    req.to = sink;
    req.value = U256(static_cast<uint64_t>(i + 1));
    SignedTx tx = c.prepare(k, req);
    EXPECT_EQ(tx.tx.nonce, start + static_cast<uint64_t>(i));
    c.sendRaw(tx);
    sent.push_back(tx);
  }
  for (const SignedTx& tx : sent) EXPECT_TRUE(c.waitForReceipt(tx.hash, 30).success);
  EXPECT_EQ(c.transactionCount(k.address(), "latest"), start + 6);
  EXPECT_EQ(c.balance(sink), U256(21));
  // A second client for the same key starts from the node's count, not from zero.
  ChainClient c2(anvil->url());
  CallRequest req;
  req.to = sink;
  EXPECT_EQ(c2.prepare(k, req).tx.nonce, start + 6);
}

TEST(Chain, GasIsEstimatedAndPadded) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  EthKey k = EthKey::fromHex(kAnvilKeys[0]);
  CallRequest req;
  req.from = k.address();
  req.to = parseAddress("0x000000000000000000000000000000000000cafe");
  req.value = U256(1);
  EXPECT_EQ(c.estimateGas(req), 21000u);
  EXPECT_EQ(c.prepare(k, req).tx.gas_limit, 26250u);  // 21000 x 1.25

  Receipt d = c.deploy(k, mlcpJobsBytecode());
  CallRequest create;
  create.from = k.address();
  create.to = d.contract_address;
  create.value = U256::parseAmount("1ether");
  create.data = mlcpJobsAbi().encodeCall(
      "createJob",
      {abi::Value::fixedBytes(keccak256("spec")), abi::Value::fixedBytes(keccak256("init")),
       abi::Value::uint(4), abi::Value::uint(10), abi::Value::uint(U256::parseAmount("0.5ether")),
       abi::Value::uint(U256::parseAmount("0.1ether")), abi::Value::uint(3600),
       abi::Value::uint(3600), abi::Value::uint(600), abi::Value::address(k.address())});
  uint64_t estimate = c.estimateGas(create);
  SignedTx tx = c.prepare(k, create);
  EXPECT_EQ(tx.tx.gas_limit, static_cast<uint64_t>(std::ceil(estimate * 1.25)));
  c.sendRaw(tx);
  Receipt rc = c.waitForReceipt(tx.hash, 30);
  EXPECT_TRUE(rc.success);
  EXPECT_LE(rc.gas_used, tx.tx.gas_limit);
  std::printf("gas: deploy MlcpJobs %llu, createJob %llu (estimate %llu)\n",
              static_cast<unsigned long long>(d.gas_used),
              static_cast<unsigned long long>(rc.gas_used),
              static_cast<unsigned long long>(estimate));
}

TEST(Chain, ContractDeployCallEventsAndNamedReverts) {
  MLCP_START_ANVIL(anvil);
  ChainClient c(anvil->url());
  const ContractAbi& abi = mlcpJobsAbi();
  c.addErrorAbi(abi, "MlcpJobs");
  EthKey submitter = EthKey::fromHex(kAnvilKeys[0]);
  EthKey solver = EthKey::fromHex(kAnvilKeys[1]);

  Receipt d = c.deploy(submitter, mlcpJobsBytecode());
  ASSERT_TRUE(d.contract_address);
  EXPECT_EQ(*d.contract_address, contractAddress(submitter.address(), 0));
  Address jobs = *d.contract_address;
  auto view = [&](const std::string& fn, std::vector<abi::Value> args) {
    CallRequest req;
    req.to = jobs;
    req.data = abi.encodeCall(fn, args);
    return abi.decodeReturn(fn, c.call(req));
  };
  EXPECT_EQ(view("jobCount", {})[0].word, U256(0));

  U256 escrow = U256::parseAmount("2ether"), stake = U256::parseAmount("0.5ether");
  CallRequest create;
  create.to = jobs;
  create.value = escrow;
  create.data = abi.encodeCall(
      "createJob",
      {abi::Value::fixedBytes(keccak256("spec")), abi::Value::fixedBytes(keccak256("init")),
       abi::Value::uint(2), abi::Value::uint(5), abi::Value::uint(stake),
       abi::Value::uint(U256::parseAmount("0.1ether")), abi::Value::uint(3600),
       abi::Value::uint(3600), abi::Value::uint(600), abi::Value::address(submitter.address())});
  U256 before = c.balance(submitter.address());
  Receipt rc = c.transact(submitter, create);
  EXPECT_EQ(c.balance(submitter.address()), before - escrow - rc.fee());
  EXPECT_EQ(c.balance(jobs), escrow);
  std::vector<DecodedEvent> events = abi.decodeLogs(rc.logs, &jobs);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name(), "JobCreated");
  EXPECT_EQ(events[0]["jobId"].word, U256(1));  // indexed, from a topic
  EXPECT_EQ(events[0]["submitter"].asAddress(), submitter.address());
  EXPECT_EQ(events[0]["escrow"].word, escrow);  // from the data
  EXPECT_EQ(events[0]["specHash"].asBytes32(), keccak256("spec"));
  EXPECT_EQ(view("jobCount", {})[0].word, U256(1));

  // Reverts carry the contract's error names, from estimateGas (before any fee is spent) ...
  CallRequest accept;
  accept.to = jobs;
  accept.value = U256(1);
  accept.data = abi.encodeCall("acceptJob", {abi::Value::uint(1)});
  try {
    c.transact(solver, accept);
    FAIL() << "accepting with the wrong stake succeeded";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.errorName(), "WrongValue");
    EXPECT_EQ(e.reason(), "WrongValue(expected=" + stake.toDecimal() + ")");
    EXPECT_NE(std::string(e.what()).find("WrongValue(expected=500000000000000000)"),
              std::string::npos)
        << e.what();
  }
  accept.data = abi.encodeCall("acceptJob", {abi::Value::uint(99)});
  accept.value = stake;
  accept.from = solver.address();  // eth_call checks the sender can pay `value`
  try {
    c.call(accept);
    FAIL() << "unknown job accepted";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.reason(), "UnknownJob()");
  }
  // ... and from a mined transaction whose gas limit skipped estimation.
  TxOptions forced;
  forced.gas_limit = 100000;
  accept.value = U256(7);
  accept.data = abi.encodeCall("acceptJob", {abi::Value::uint(1)});
  uint64_t nonce_before = c.transactionCount(solver.address(), "latest");
  try {
    c.transact(solver, accept, forced);
    FAIL() << "mined revert not reported";
  } catch (const RevertError& e) {
    EXPECT_EQ(e.errorName(), "WrongValue") << e.what();
  }
  EXPECT_EQ(c.transactionCount(solver.address(), "latest"), nonce_before + 1);  // it was mined
  accept.value = stake;
  EXPECT_TRUE(c.transact(solver, accept).success);
}

TEST(Chain, JsonRpcErrorCarriesTheNodesMessage) {
  MLCP_START_ANVIL(anvil);
  JsonRpcClient rpc(anvil->url());
  try {
    rpc.call("eth_noSuchMethod");
    FAIL();
  } catch (const JsonRpcError& e) {
    EXPECT_EQ(e.code(), -32601) << e.what();
    EXPECT_NE(std::string(e.what()).find(anvil->url()), std::string::npos) << e.what();
    EXPECT_EQ(rpc.attemptsOfLastCall(), 1);  // node errors are not retried
  }
}

TEST(Chain, DeadPortFailsFastNamingTheUrl) {
  std::string url = test::deadUrl();
  RpcOptions o;
  o.max_attempts = 3;
  o.backoff_initial_s = 0.05;
  ChainClient c(url, o);
  auto t0 = std::chrono::steady_clock::now();
  try {
    c.chainId();
    FAIL() << "a dead port answered";
  } catch (const RpcUnreachable& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cannot reach the chain node at " + url), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 attempts"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  double secs = secondsSince(t0);
  EXPECT_GE(secs, 0.15);  // backed off 0.05 + 0.1 s between the attempts
  EXPECT_LT(secs, 3.0);
  std::printf("dead port: 3 attempts in %.2f s\n", secs);
}

TEST(Chain, SilentServerTimesOutInsteadOfHanging) {
  // A socket that listens but never answers: the request must time out, not hang.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(s, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  RpcOptions o;
  o.timeout_s = 0.3;
  o.max_attempts = 2;
  o.backoff_initial_s = 0.05;
  JsonRpcClient rpc(url, o);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(rpc.call("eth_chainId"), RpcUnreachable);
  double secs = secondsSince(t0);
  EXPECT_LT(secs, 2.0);
  ::close(s);
}

TEST(Chain, BadUrlIsAUsageError) { EXPECT_THROW(JsonRpcClient("127.0.0.1:8545"), UsageError); }

}  // namespace
}  // namespace mlcp::bridge
