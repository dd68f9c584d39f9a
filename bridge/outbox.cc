#include "bridge/outbox.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>

#include "base/durable_file.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

using json = nlohmann::json;

namespace {

const std::string kZeroHash = toHex(Hash32{});

std::string lineHash(const std::string& line) { return toHex(keccak256(line)); }

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string nonceKey(const Address& from, uint64_t chain_id) {
  return fmt::format("{}@{}", toHex(from), chain_id);
}

// A record's unsigned integer field (nlohmann's get<uint64_t> would cast a float, which is
// undefined out of range, and wrap a negative number).
uint64_t unsignedField(const json& r, const char* key, const std::string& where) {
  const json& v = r.at(key);
  if (!v.is_number_unsigned()) {
    throw VerificationError(
        fmt::format("{}: '{}' must be an unsigned integer, got {}", where, key, v.dump()));
  }
  return v.get<uint64_t>();
}

}  // namespace

// An exclusive flock on the outbox file for the lifetime of the object; the file is created
// (empty) when missing and `create` is set.
class Outbox::Lock {
 public:
  Lock(const std::string& path, bool create) : path_(path) {
    if (create) {
      std::filesystem::path parent = std::filesystem::path(path).parent_path();
      std::error_code ec;
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec)
        throw IoError(fmt::format("cannot create folder {} for outbox {}: {}", parent.string(),
                                  path, ec.message()));
    }
    fd_ = FileDescriptor(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644));
    if (!fd_.valid()) {
      if (errno == ENOENT) throw UsageError(fmt::format("outbox {} does not exist", path));
      throw IoError(fmt::format("cannot open outbox {}: {}", path, std::strerror(errno)));
    }
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR)
        throw IoError(fmt::format("cannot lock outbox {}: {}", path, std::strerror(errno)));
    }
  }
  ~Lock() { ::flock(fd_.get(), LOCK_UN); }
  int fd() const { return fd_.get(); }

 private:
  std::string path_;
  FileDescriptor fd_;
};

Outbox::Outbox(std::string path, bool create, bool repair) : path_(std::move(path)) {
  Lock lock(path_, create);
  struct stat st {};
  if (::fstat(lock.fd(), &st) == 0 && st.st_size == 0) {
    // A new outbox: the header is the first record.
    json header = {
        {"outbox", "mlcp"}, {"version", 1}, {"seq", 0}, {"prev", kZeroHash}, {"created", utcNow()}};
    std::string line = header.dump() + "\n";
    writeAll(lock.fd(), line, path_);
    syncFile(lock.fd(), path_);
    syncParentDir(path_);
  }
  load(repair);
}

void Outbox::reload() {
  Lock lock(path_, false);
  load(false);
}

void Outbox::load(bool repair) {
  std::string text;
  {
    FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
      throw IoError(fmt::format("cannot read outbox {}: {}", path_, std::strerror(errno)));
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw IoError(fmt::format("cannot read outbox {}: {}", path_, std::strerror(errno)));
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  std::vector<std::string> lines;
  size_t start = 0, good_end = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
    good_end = nl + 1;
  }
  bool torn = good_end != text.size();  // bytes after the last newline: a torn append

  entries_.clear();
  nonce_records_.clear();
  std::map<std::string, size_t> by_hash;
  std::string prev = kZeroHash;
  size_t valid_lines = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = fmt::format("outbox {} record {} (line {})", path_, i, i + 1);
    json r = json::parse(lines[i], nullptr, false);
    if (r.is_discarded() || !r.is_object()) {
      // Every append writes the whole line, newline included, in one write before fsync, so a
      // crash can only leave bytes without a final newline (handled above as a torn tail). A
      // complete line that is not a record was damaged: it may hold a signed commitment, so it
      // is never dropped — the outbox refuses to go on until a person looks.
      throw VerificationError(fmt::format(
          "{} is not a JSON record; the outbox is damaged (nothing was sent or changed: restore "
          "the file, or move it aside to start a new outbox)",
          where));
    }
    try {
      if (unsignedField(r, "seq", where) != i) {
        throw VerificationError(
            fmt::format("{} has seq {}, expected {}", where, r.at("seq").dump(), i));
      }
      if (r.at("prev").get<std::string>() != prev) {
        throw VerificationError(fmt::format(
            "{} breaks the hash chain: its prev is {} but the record before hashes to {}", where,
            r.at("prev").get<std::string>(), prev));
      }
      if (i == 0) {
        if (r.value("outbox", "") != "mlcp" || r.value("version", json()) != 1) {
          throw UsageError(fmt::format("{} is not an mlcp outbox (version 1) header", where));
        }
      } else {
        std::string kind = r.at("kind").get<std::string>();
        if (kind == "tx") {
          OutboxEntry e;
          e.seq = i;
          e.tx = SignedTx::decode(fromHex(r.at("raw").get<std::string>(), "raw transaction"));
          if (toHex(e.tx.hash) != r.at("hash").get<std::string>() ||
              toHex(e.tx.from) != r.at("from").get<std::string>() ||
              e.tx.tx.nonce != unsignedField(r, "nonce", where) ||
              e.tx.tx.chain_id != unsignedField(r, "chain_id", where)) {
            throw VerificationError(fmt::format(
                "{}: its hash/from/nonce/chain_id fields do not match its signed bytes", where));
          }
          e.label = r.value("label", "");
          e.payload = r.contains("payload") ? r["payload"] : json();
          by_hash[toHex(e.tx.hash)] = entries_.size();
          entries_.push_back(std::move(e));
        } else if (kind == "sent") {
          auto it = by_hash.find(r.at("tx").get<std::string>());
          if (it == by_hash.end()) {
            throw VerificationError(fmt::format("{} marks an unknown transaction {} as sent", where,
                                                r.at("tx").dump()));
          }
          entries_[it->second].sent = true;
          entries_[it->second].success = unsignedField(r, "status", where) == 1;
        } else if (kind == "nonce") {
          r.at("key").get<std::string>();  // nextNonce() reads both
          unsignedField(r, "next", where);
          nonce_records_.push_back(r);
        } else {
          throw VerificationError(fmt::format("{} has an unknown kind '{}'", where, kind));
        }
      }
    } catch (const json::exception& e) {
      throw VerificationError(fmt::format("{} is malformed: {}", where, e.what()));
    } catch (const InvalidArgument& e) {
      throw VerificationError(fmt::format("{} is malformed: {}", where, e.what()));
    }
    prev = lineHash(lines[i]);
    ++valid_lines;
  }
  if (valid_lines == 0) throw UsageError(fmt::format("outbox {} has no header record", path_));
  notes_.clear();
  if (torn) {
    notes_.push_back(fmt::format(
        "outbox {}: {} bytes after the last complete record have no newline (an append cut by a "
        "crash){}",
        path_, text.size() - good_end, repair ? "; they were dropped" : "; they will be dropped"));
  }
  if (torn && repair) {
    // Cut the torn tail so that the next record follows the last complete one.
    FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(good_end)) != 0) {
      throw IoError(fmt::format("cannot repair the torn last line of outbox {}: {}", path_,
                                std::strerror(errno)));
    }
    syncFile(fd.get(), path_);
  }
  last_line_hash_ = prev;
  next_seq_ = valid_lines;
}

void Outbox::appendLine(json record) {
  record["seq"] = next_seq_;
  record["prev"] = last_line_hash_;
  std::string line = record.dump();
  FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid())
    throw IoError(fmt::format("cannot append to outbox {}: {}", path_, std::strerror(errno)));
  // One write of the whole line then fsync: a crash leaves at most a torn last line.
  writeAll(fd.get(), line + "\n", path_);
  syncFile(fd.get(), path_);
  last_line_hash_ = lineHash(line);
  ++next_seq_;
}

uint64_t Outbox::nextNonce(const Address& from, uint64_t chain_id) const {
  uint64_t next = 0;
  for (const OutboxEntry& e : entries_) {
    if (e.tx.from == from && e.tx.tx.chain_id == chain_id) next = std::max(next, e.tx.tx.nonce + 1);
  }
  std::string key = nonceKey(from, chain_id);
  for (const json& r : nonce_records_) {
    if (r.value("key", "") == key) next = std::max(next, r.at("next").get<uint64_t>());
  }
  return next;
}

void Outbox::setNextNonce(const Address& from, uint64_t chain_id, uint64_t next) {
  Lock lock(path_, false);
  load(true);
  uint64_t have = nextNonce(from, chain_id);
  if (next < have) {
    throw UsageError(
        fmt::format("outbox {} already holds nonces of {} up to {}; the next nonce cannot be {}",
                    path_, checksumAddress(from), have - 1, next));
  }
  appendLine({{"kind", "nonce"},
              {"key", nonceKey(from, chain_id)},
              {"from", toHex(from)},
              {"chain_id", chain_id},
              {"next", next}});
  nonce_records_.push_back({{"key", nonceKey(from, chain_id)}, {"next", next}});
}

OutboxEntry Outbox::queue(const EthKey& key, const OutboxTxParams& p, const std::string& label,
                          const json& payload) {
  require(p.chain_id != 0, "OutboxTxParams::chain_id must be set");
  require(p.gas_limit != 0,
          "OutboxTxParams::gas_limit must be set (nothing can be estimated offline)");
  Lock lock(path_, false);
  load(true);
  Eip1559Tx tx;
  tx.chain_id = p.chain_id;
  tx.nonce = nextNonce(key.address(), p.chain_id);  // under the lock: no two writers share it
  tx.max_priority_fee_per_gas = p.max_priority_fee_per_gas;
  tx.max_fee_per_gas = p.max_fee_per_gas;
  tx.gas_limit = p.gas_limit;
  tx.to = p.to;
  tx.value = p.value;
  tx.data = p.data;
  SignedTx s = signTransaction(tx, key);
  return appendTx(s, label, payload);
}

OutboxEntry Outbox::append(const SignedTx& s, const std::string& label, const json& payload) {
  Lock lock(path_, false);
  load(true);
  uint64_t next = nextNonce(s.from, s.tx.chain_id);
  if (s.tx.nonce < next) {
    throw UsageError(fmt::format("outbox {} already holds nonce {} of {} (next free: {})", path_,
                                 s.tx.nonce, checksumAddress(s.from), next));
  }
  return appendTx(s, label, payload);
}

OutboxEntry Outbox::appendTx(const SignedTx& s, const std::string& label, const json& payload) {
  json rec = {{"kind", "tx"},          {"hash", toHex(s.hash)},
              {"from", toHex(s.from)}, {"chain_id", s.tx.chain_id},
              {"nonce", s.tx.nonce},   {"raw", toHex(s.raw)},
              {"label", label}};
  if (!payload.is_null()) rec["payload"] = payload;
  appendLine(rec);
  OutboxEntry e;
  e.seq = next_seq_ - 1;
  e.tx = s;
  e.label = label;
  e.payload = payload;
  entries_.push_back(e);
  return e;
}

size_t Outbox::pendingCount() const {
  size_t n = 0;
  for (const OutboxEntry& e : entries_) n += e.sent ? 0 : 1;
  return n;
}

// Flush, in numbered steps (all under the file lock):
//  1. re-read and verify the file (cutting a torn tail);
//  2. for each transaction without a "sent" mark, in file order:
//     a. already mined (eth_getTransactionReceipt finds its hash: an earlier flush crashed
//        after sending, or a relayer sent it)? -> only mark it;
//     b. unknown to the node? -> check the chain id, and that its nonce is not already used by
//        another transaction (refuse naming the record), then eth_sendRawTransaction;
//     c. await its receipt; append the fsynced "sent" mark with block, status and gas.
//  A crash between b and c leaves a sent but unmarked transaction, which step a of the next
//  flush finds on chain: the same signed bytes can never execute twice (the nonce is signed).
FlushReport Outbox::flush(ChainClient& chain, const FlushOptions& options) {
  Lock lock(path_, false);
  load(true);  // 1
  FlushReport rep;
  rep.total = entries_.size();
  uint64_t chain_id = 0;
  for (OutboxEntry& e : entries_) {
    if (e.sent) {
      ++rep.previously_marked;
      continue;
    }
    const std::string what = fmt::format("outbox {} record {} ({})", path_, e.seq, e.label);
    bool on_chain = false;
    std::optional<Receipt> r = chain.receipt(e.tx.hash);  // 2a
    if (r) {
      on_chain = true;
      ++rep.already_on_chain;
    } else {
      if (!chain.knowsTransaction(e.tx.hash)) {  // 2b
        if (chain_id == 0) chain_id = chain.chainId();
        if (e.tx.tx.chain_id != chain_id) {
          throw UsageError(fmt::format("{} is signed for chain {}, but the node at {} is chain {}",
                                       what, e.tx.tx.chain_id, chain.url(), chain_id));
        }
        uint64_t used = chain.transactionCount(e.tx.from, "latest");
        if (used > e.tx.tx.nonce) {
          throw ChainError(
              fmt::format("{} can never be mined: nonce {} of {} was already used by another "
                          "transaction (the chain is at nonce {})",
                          what, e.tx.tx.nonce, checksumAddress(e.tx.from), used));
        }
        chain.sendRaw(e.tx);
        ++rep.sent_now;
        if (options.stop_after_sends != 0 && rep.sent_now >= options.stop_after_sends) {
          rep.stopped_early = true;  // test hook: as if the process died right here
          return rep;
        }
      }
      r = chain.waitForReceipt(e.tx.hash, options.receipt_timeout_s, false);  // 2c
    }
    appendLine({{"kind", "sent"},
                {"tx", toHex(e.tx.hash)},
                {"block", r->block_number},
                {"status", r->success ? 1 : 0},
                {"gas_used", r->gas_used}});
    e.sent = true;
    e.success = r->success;
    rep.gas_used += r->gas_used;
    if (!r->success) ++rep.reverted;
    if (options.on_entry) options.on_entry(e, *r, on_chain);
  }
  return rep;
}

}  // namespace mlcp::bridge
