// Writes the generated part of the seed corpora (tests/fuzz/corpus/<harness>/gen-*): real
// encodings made by mlcp's own writers — a signed manifest, a final_state.bin, an outbox with
// signed transactions, RLP and ABI encodings, node responses. Deterministic (fixed keys), so
// re-running it reproduces the committed files (all but the outbox header's creation time).
//
//   fuzz_make_corpus <tests/fuzz/corpus>      (built by the fuzz configuration only)
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bridge/abi.h"
#include "bridge/contract_artifacts.h"
#include "bridge/keccak.h"
#include "bridge/outbox.h"
#include "bridge/rlp.h"
#include "bridge/transaction.h"
#include "tests/fuzz/abi_type_lists.h"
#include "verify/final_state.h"
#include "verify/manifest.h"
#include "volunteer/handshake.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

namespace fs = std::filesystem;
namespace bridge = mlcp::bridge;
namespace abi = mlcp::bridge::abi;
namespace fuzz = mlcp::fuzz;
namespace rlp = mlcp::bridge::rlp;
namespace verify = mlcp::verify;
namespace volunteer = mlcp::volunteer;

namespace {

fs::path g_root;

void put(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_root / harness);
  std::ofstream(g_root / harness / ("gen-" + name), std::ios::binary) << bytes;
}
void put(const std::string& harness, const std::string& name, const bridge::Bytes& bytes) {
  put(harness, name, std::string(bytes.begin(), bytes.end()));
}
std::string str(const bridge::Bytes& b) { return std::string(b.begin(), b.end()); }

const bridge::EthKey& ethKey() {
  static const bridge::EthKey k = bridge::EthKey::fromPrivateKey(
      bridge::Hash32{0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6,
                     0xb4, 0xd2, 0x38, 0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed,
                     0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80});
  return k;
}

bridge::SignedTx sampleTx(uint64_t nonce, bool deploy) {
  bridge::Eip1559Tx tx;
  tx.chain_id = 31337;
  tx.nonce = nonce;
  tx.max_priority_fee_per_gas = bridge::U256(1000000000);
  tx.max_fee_per_gas = bridge::U256(50000000000ULL);
  tx.gas_limit = 120000;
  if (!deploy) {
    tx.to = bridge::Address{0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
                            0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3};
    tx.data = bridge::mlcpJobsAbi().encodeCall("acceptJob", {abi::Value::uint(7)});
  } else {
    tx.data = bridge::Bytes(80, 0x60);
  }
  tx.value = bridge::U256(deploy ? 0 : 1000);
  return bridge::signTransaction(tx, ethKey());
}

// A value of `t` with a little of everything (negative ints, two-item arrays, non-empty bytes).
abi::Value sample(const abi::Type& t, unsigned salt) {
  using K = abi::Type::Kind;
  switch (t.kind) {
    case K::kUint:
      return abi::Value::uint(bridge::U256(t.size >= 16 ? 1000 + salt : salt % 2));
    case K::kInt:
      return abi::Value::int64(-static_cast<int64_t>(salt % 100) - 1);
    case K::kBool:
      return abi::Value::boolean(salt % 2 == 1);
    case K::kAddress:
      return abi::Value::address(ethKey().address());
    case K::kFixedBytes:
      return abi::Value::bytesValue(bridge::Bytes(t.size, static_cast<uint8_t>(0xa0 + salt)));
    case K::kBytes:
      return abi::Value::bytesValue(bridge::Bytes(33 + salt % 3, 0x5a));
    case K::kString:
      return abi::Value::string("mlcp fuzz seed " + std::to_string(salt));
    case K::kArray:
      return abi::Value::list(
          {sample(t.components[0], salt + 1), sample(t.components[0], salt + 2)});
    case K::kFixedArray: {
      std::vector<abi::Value> items;
      for (unsigned i = 0; i < t.size; ++i) items.push_back(sample(t.components[0], salt + i));
      return abi::Value::list(items);
    }
    case K::kTuple: {
      std::vector<abi::Value> items;
      for (size_t i = 0; i < t.components.size(); ++i) {
        items.push_back(sample(t.components[i], salt + static_cast<unsigned>(i)));
      }
      return abi::Value::list(items);
    }
  }
  return {};
}

bridge::Bytes sampleEncoding(const std::vector<abi::Type>& types) {
  std::vector<abi::Value> values;
  for (size_t i = 0; i < types.size(); ++i) values.push_back(sample(types[i], 3 + 5 * i));
  return abi::encode(types, values);
}

// ---- verify ---------------------------------------------------------------------------------

void manifests() {
  std::array<uint8_t, 32> seed{};
  seed[0] = 7;
  const verify::KeyPair key = verify::KeyPair::fromSeed(seed);
  verify::CheckpointManifest m;
  m.step = 20;
  m.job_spec_text = "[model]\nkind = \"mlp\"\n";
  m.job_path = "jobs/quick_mlp.toml";
  m.plan_text = "dp=2 pp=1 tp=1";
  m.data_hash = std::string(64, 'c');
  for (int i = 0; i < 3; ++i) {
    verify::TensorEntry e;
    e.name = "layers." + std::to_string(i) + ".weight";
    e.dtype = i == 2 ? verify::DType::kInt64 : verify::DType::kFloat32;
    e.shape = {4, i + 1};
    const uint64_t values[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 96 bytes: enough
    e.hash = verify::hashTensor(e.dtype, e.shape, values, 4 * (i + 1) * verify::dtypeSize(e.dtype));
    e.file = "shard-0000" + std::to_string(i % 2) + ".h5";
    e.dataset = "/params/" + e.name;
    m.tensors.push_back(e);
  }
  m.root = m.computeRoot();
  m.sign(key);
  put("manifest", "signed-v2.json", m.toJson());
  put("manifest", "signed-v2-compact.json", m.toJson(-1));
  put("manifest", "entries.json", verify::encodeEntries(m.tensors));
  verify::CheckpointManifest v1 = m;
  v1.format_version = 1;
  v1.plan_text += "; source jobs/quick_mlp.toml";
  v1.tensors.resize(1);
  v1.root = v1.computeRoot();
  v1.sign(key);
  put("manifest", "signed-v1.json", v1.toJson());

  const float a[6] = {0.5f, -1.25f, 3.0f, 1e-30f, -0.0f, 42.0f};
  const float b[1] = {7.0f};
  put("final_state", "two.bin",
      verify::encodeFinalState({{"layers.0.weight", {2, 3}, a}, {"scalar", {}, b}}));
  put("final_state", "empty.bin", verify::encodeFinalState({}));
  put("final_state", "zero-dim.bin", verify::encodeFinalState({{"none", {0, 5}, a}}));
}

// ---- bridge ---------------------------------------------------------------------------------

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Appends a record as Outbox::appendLine would (seq and prev chained by hand).
void appendRecord(const fs::path& p, nlohmann::json rec) {
  std::string text = readFile(p);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  rec["seq"] = lines.size();
  rec["prev"] = bridge::toHex(bridge::keccak256(lines.back()));
  std::ofstream(p, std::ios::app | std::ios::binary) << rec.dump() << "\n";
}

void outboxes() {
  const fs::path dir = fs::temp_directory_path() / ("mlcp-make-corpus-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const fs::path p = dir / "outbox.jsonl";
  {
    bridge::Outbox box(p.string());
    put("outbox", "header-only.jsonl", readFile(p));
    box.setNextNonce(ethKey().address(), 31337, 4);
    bridge::SignedTx t1 = sampleTx(4, false);
    box.append(t1, "commit job 1 checkpoint 1", {{"job", 1}, {"index", 1}});
    box.append(sampleTx(5, true), "deploy");
    put("outbox", "two-tx.jsonl", readFile(p));
    put("outbox", "rechain-two-tx.jsonl", "!" + readFile(p));
    appendRecord(p, {{"kind", "sent"},
                     {"tx", bridge::toHex(t1.hash)},
                     {"block", 12},
                     {"status", 1},
                     {"gas_used", 64000}});
    put("outbox", "sent.jsonl", readFile(p));
    put("outbox", "torn.jsonl", readFile(p) + "{\"seq\":5,\"prev\":\"0x");
    // The same files for the re-chaining mode of fuzz_outbox ('!' first).
    put("outbox", "rechain-sent.jsonl", "!" + readFile(p));
  }
  fs::remove_all(dir);
}

void rlps() {
  const bridge::SignedTx tx = sampleTx(9, false);
  put("rlp", "tx.rlp", bridge::Bytes(tx.raw.begin() + 1, tx.raw.end()));
  put("rlp", "nested.rlp",
      rlp::encodeList({rlp::encodeString(std::string_view("cat")),
                       rlp::encodeList({rlp::encodeUint(bridge::U256(0)),
                                        rlp::encodeUint(bridge::U256(1024)), rlp::encodeList({})}),
                       rlp::encodeString(std::string(60, 'x'))}));
  std::vector<bridge::Bytes> many;
  for (int i = 0; i < 40; ++i) many.push_back(rlp::encodeUint(bridge::U256(1000u * i)));
  put("rlp", "long-list.rlp", rlp::encodeList(many));
  put("rlp", "long-string.rlp", rlp::encodeString(std::string(300, 'y')));
  put("rlp", "byte.rlp", rlp::encodeString(std::string_view("\x7f")));

  put("transaction", "call.raw", "\x00" + str(tx.raw));
  put("transaction", "deploy.raw", "\x00" + str(sampleTx(0, true).raw));
  put("transaction", "struct.bin",
      std::string("\x01", 1) + std::string("\x00\x00\x00\x00\x00\x00\x7a\x69", 8) +
          std::string(40, '\x11') + "\x01" + std::string(20, '\x22') + std::string(30, '\x33'));
}

void abis() {
  // A seed per list of fuzz_abi's table, byte 0 its index.
  for (size_t i = 0; i < fuzz::kLists; ++i) {
    const bridge::Bytes enc = sampleEncoding(abi::parameterTypes(fuzz::kAbiTypeLists[i]));
    char name[32];
    std::snprintf(name, sizeof name, "list-%02zu.bin", i);
    put("abi", name, std::string(1, static_cast<char>(i)) + str(enc));
  }
  const std::string custom = "(uint8,bytes)[2],int32,string[]";
  put("abi", "typed.bin",
      std::string(1, '\xff') + custom + "\n" +
          str(sampleEncoding(abi::parameterTypes("f(" + custom + ")"))));
}

void contracts() {
  const bridge::ContractAbi& jobs = bridge::mlcpJobsAbi();
  auto withSelector = [](const std::string& sig, const bridge::Bytes& args) {
    const auto sel = abi::selector(sig);
    bridge::Bytes out(sel.begin(), sel.end());
    out.insert(out.end(), args.begin(), args.end());
    return out;
  };
  put("contract", "error-wrong-index.bin",
      std::string("\x00\x00", 2) +
          str(withSelector("WrongIndex(uint256)",
                           abi::encode({abi::Type::parse("uint256")}, {abi::Value::uint(2)}))));
  put("contract", "error-string.bin",
      std::string("\x00\x00", 2) +
          str(withSelector("Error(string)", abi::encode({abi::Type::parse("string")},
                                                        {abi::Value::string("not yours")}))));
  put("contract", "error-panic.bin",
      std::string("\x00\x00", 2) +
          str(withSelector("Panic(uint256)",
                           abi::encode({abi::Type::parse("uint256")}, {abi::Value::uint(0x11)}))));
  // One log seed per event: mode 1, the event's index, topic count, topics, data.
  const std::vector<std::string> events = {
      "ChallengeWindowOpened", "Challenged",   "CheckpointCommitted", "ClaimsPosted",
      "CommitDeadlineMissed",  "Credited",     "DisputeResolved",     "JobAccepted",
      "JobCancelled",          "JobCreated",   "JobSettled",          "OperatorsPosted",
      "SegmentChosen",         "SolverFailed", "VerdictRequested",    "Withdrawn"};
  for (size_t i = 0; i < events.size(); ++i) {
    const bridge::AbiEvent& ev = jobs.event(events[i]);
    std::vector<abi::Type> data_types;
    std::string topics;
    unsigned n_topics = 0;
    for (const bridge::AbiParam& p : ev.inputs) {
      if (!p.indexed) {
        data_types.push_back(p.type);
        continue;
      }
      ++n_topics;
      const bridge::Bytes w =
          p.type.isDynamic() ? bridge::Bytes(32, 0x77) : sampleEncoding({p.type});
      topics += str(w);
    }
    put("contract", "log-" + events[i] + ".bin",
        std::string(1, '\x01') + std::string(1, static_cast<char>(i)) +
            std::string(1, static_cast<char>(n_topics)) + topics + str(sampleEncoding(data_types)));
  }
  const auto& fs = jobs.functions();
  for (size_t i = 0; i < fs.size(); ++i) {
    if (fs[i].outputs.empty()) continue;
    put("contract", "return-" + fs[i].name + ".bin",
        std::string(1, '\x02') + std::string(1, static_cast<char>(i)) +
            str(sampleEncoding(fs[i].outputTypes())));
  }
  const std::string small_abi =
      R"([{"type":"function","name":"get","inputs":[{"name":"id","type":"uint256"}],)"
      R"("outputs":[{"name":"","type":"tuple[]","components":[{"name":"a","type":"uint64"},)"
      R"({"name":"b","type":"bytes"}]}],"stateMutability":"view"},)"
      R"({"type":"error","name":"Bad","inputs":[{"name":"why","type":"string"}]},)"
      R"({"type":"event","name":"Done","inputs":[{"name":"id","type":"uint256","indexed":true}],)"
      R"("anonymous":false}])";
  put("contract", "abi-json.bin",
      std::string("\x03\x00", 2) + small_abi + std::string(1, '\0') +
          str(sampleEncoding(abi::parameterTypes("f((uint64,bytes)[])"))));
}

void rpcResponses() {
  const bridge::ContractAbi& jobs = bridge::mlcpJobsAbi();
  const bridge::SignedTx tx = sampleTx(3, false);
  auto ok = [](const nlohmann::json& result) {
    return nlohmann::json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", result}}.dump();
  };
  auto op = [](int n) { return std::string(1, static_cast<char>(n)); };
  const std::string nul(1, '\0');
  // A revert whose selector no ABI knows.
  const std::string revert =
      nlohmann::json{{"jsonrpc", "2.0"},
                     {"id", 1},
                     {"error",
                      {{"code", 3},
                       {"message", "execution reverted"},
                       {"data", bridge::toHex(bridge::Bytes{0x6e, 0x75, 0x1e, 0x71})}}}}
          .dump();
  const auto wrong_index = abi::selector("WrongIndex(uint256)");
  bridge::Bytes wi(wrong_index.begin(), wrong_index.end());
  const bridge::Bytes arg = abi::encode({abi::Type::parse("uint256")}, {abi::Value::uint(2)});
  wi.insert(wi.end(), arg.begin(), arg.end());
  const std::string revert_custom =
      nlohmann::json{
          {"jsonrpc", "2.0"},
          {"id", 1},
          {"error", {{"code", 3}, {"message", "execution reverted"}, {"data", bridge::toHex(wi)}}}}
          .dump();
  const bridge::AbiEvent& accepted = jobs.event("JobAccepted");
  nlohmann::json log = {
      {"address", "0x5fbdb2315678afecb367f032d93f642f64180aa3"},
      {"topics",
       {bridge::toHex(accepted.topic0),
        bridge::toHex(abi::encode({abi::Type::parse("uint256")}, {abi::Value::uint(7)}))}},
      {"data",
       bridge::toHex(sampleEncoding({abi::Type::parse("address"), abi::Type::parse("uint256")}))},
      {"logIndex", "0x0"}};
  nlohmann::json receipt = {{"transactionHash", bridge::toHex(tx.hash)},
                            {"status", "0x1"},
                            {"blockNumber", "0xc"},
                            {"gasUsed", "0xfa00"},
                            {"effectiveGasPrice", "0x3b9aca07"},
                            {"from", bridge::toHex(ethKey().address())},
                            {"contractAddress", nullptr},
                            {"logs", {log}}};
  nlohmann::json reverted = receipt;
  reverted["status"] = "0x0";
  nlohmann::json tx_json = {{"to", "0x5fbdb2315678afecb367f032d93f642f64180aa3"},
                            {"value", "0x0"},
                            {"input", bridge::toHex(tx.tx.data)}};
  const std::string block = ok({{"baseFeePerGas", "0x3b9aca00"}, {"number", "0x10"}});

  put("json_rpc", "chain-id", op(0) + ok("0x7a69"));
  put("json_rpc", "block-number", op(1) + ok("0x10"));
  put("json_rpc", "balance", op(2) + ok("0xde0b6b3a7640000"));
  put("json_rpc", "tx-count", op(3) + ok("0x5"));
  put("json_rpc", "fees", op(4) + block + nul + ok("0x3b9aca00"));
  put("json_rpc", "call", op(5) + ok(bridge::toHex(arg)));
  put("json_rpc", "call-revert", op(5) + revert_custom);
  put("json_rpc", "estimate-revert", op(6) + revert);
  put("json_rpc", "receipt", op(7) + ok(receipt));
  put("json_rpc", "logs", op(8) + ok(nlohmann::json::array({log, log})));
  put("json_rpc", "knows", op(9) + ok(tx_json));
  put("json_rpc", "wait-reverted", op(10) + ok(reverted) + nul + ok(tx_json) + nul + revert_custom);
  put("json_rpc", "send-raw", op(11) + ok("0x7a69") + nul + ok(bridge::toHex(tx.hash)));
  put("json_rpc", "prepare",
      op(12) + ok("0x7a69") + nul + ok("0x3") + nul + ok("0x1d4c0") + nul + block + nul +
          ok("0x3b9aca00"));
  put("json_rpc", "transact",
      op(13) + ok("0x7a69") + nul + ok("0x3") + nul + ok("0x1d4c0") + nul + block + nul +
          ok("0x3b9aca00") + nul + ok(bridge::toHex(tx.hash)) + nul + ok(receipt));
  put("json_rpc", "node-error",
      op(14) + R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nonce too low"}})");
  put("json_rpc", "not-json-rpc", op(14) + "<html><body>502 Bad Gateway</body></html>");
  put("json_rpc", "text-quantity", op(15) + "0x1a2b");
  put("json_rpc", "text-amount", op(15) + "1.5ether");
  put("json_rpc", "text-decimal",
      op(15) + "115792089237316195423570985008687907853269984665640564039457");
}

// The volunteer channel (volunteer/): one frame and one body per message type for
// fuzz_volunteer_wire, sealed frames under its fixed session, and real handshake frames for
// fuzz_volunteer_handshake, each behind the mode byte that harness reads. The handshake's
// ephemeral keys are fresh on every run, so those seeds differ from run to run.
void seed(const std::string& harness, const std::string& name, const volunteer::Buffer& bytes,
          int prefix = -1) {
  std::string s = prefix >= 0 ? std::string(1, static_cast<char>(prefix)) : std::string();
  s.append(bytes.begin(), bytes.end());
  put(harness, name, s);
}

void volunteerFrames() {
  using namespace volunteer;
  TensorPiece piece{"fc1.weight", 0, {2, 3}, 1, {1.f, 2.f, 3.f}};
  State state;
  state.step = 5;
  state.tensors = {piece, TensorPiece{"b", 1, {}, 0, {4.f}}};
  Contribution contribution;
  contribution.step = 5;
  contribution.micro_batch = 2;
  contribution.tensors = {piece};
  const std::vector<Message> messages = {
      ClientHello{3, {}, "fuzz-job"},
      ServerHello{},
      ClientAuth{},
      Welcome{1, {}, "fuzz-job", "[job]\n"},
      state,
      Assign{5, 2, 1000},
      contribution,
      Ack{MessageType::kState, 5, 0},
      Reject{RejectReason::kLate, MessageType::kContribution, 5, 2, "late"},
      Heartbeat{1, 2},
      Bye{ByeReason::kDone, "bye"}};
  int n = 0;
  for (const Message& m : messages) {
    seed("volunteer_wire", "frame_" + std::to_string(n), encode(m));
    Buffer body;
    encodeBody(m, body);
    const int type_index = n < 3 ? n : n + 1;  // fuzz_volunteer_wire's kTypes order
    seed("volunteer_wire", "body_" + std::to_string(n), body, type_index);
    ++n;
  }
  // Sealed frames under fuzz_volunteer_wire's fixed session, as its volunteer side seals them.
  for (CipherSuite cipher : {CipherSuite::kChaCha20Poly1305, CipherSuite::kAes256Gcm}) {
    if ((availableCipherSuites() & static_cast<uint32_t>(cipher)) == 0) continue;
    SessionKeys k;
    k.job_id = "fuzz-job";
    k.cipher = cipher;
    k.job_side = false;
    k.session_id.bytes.fill(0x11);
    k.send_key.fill(0x33);
    k.receive_key.fill(0x22);
    for (size_t i = 3; i < messages.size(); ++i) {
      SecureChannel volunteer_side(k);
      seed("volunteer_wire",
           "sealed_" + std::to_string(static_cast<int>(cipher)) + "_" + std::to_string(i),
           volunteer_side.seal(messages[i]));
    }
  }
  const auto job = verify::KeyPair::fromSeed(std::array<uint8_t, 32>{1});
  const auto volunteer_key = verify::KeyPair::fromSeed(std::array<uint8_t, 32>{2});
  HandshakeInitiator init(volunteer_key, "fuzz-job");
  HandshakeResponder resp(job, "fuzz-job", [](const verify::PublicKey&) { return true; });
  const Buffer hello = init.start();
  const HandshakeReply answer = resp.onClientHello(hello.data(), hello.size());
  const Buffer auth = init.onServerHello(answer.frame.data(), answer.frame.size());
  const HandshakeReply verdict = resp.onClientAuth(auth.data(), auth.size());
  Buffer mode0{static_cast<uint8_t>(hello.size() & 0xff), static_cast<uint8_t>(hello.size() >> 8)};
  mode0.insert(mode0.end(), hello.begin(), hello.end());
  mode0.insert(mode0.end(), auth.begin(), auth.end());
  seed("volunteer_handshake", "responder_hello_auth", mode0, 0);
  seed("volunteer_handshake", "responder_auth", auth, 1);
  seed("volunteer_handshake", "initiator_server_hello", answer.frame, 2);
  seed("volunteer_handshake", "initiator_reject",
       encode(Reject{RejectReason::kWrongJob, MessageType::kClientHello, 0, 0, ""}), 2);
  seed("volunteer_handshake", "initiator_verdict", verdict.frame, 3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus <tests/fuzz/corpus>\n";
    return 2;
  }
  g_root = argv[1];
  manifests();
  outboxes();
  rlps();
  abis();
  contracts();
  rpcResponses();
  volunteerFrames();
  return 0;
}
