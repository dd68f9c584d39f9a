// Fuzzes the outbox reader (bridge/outbox.h): the input is written as an outbox file and
// opened, which reads and verifies every record (hash chain, sequence numbers, signed
// transactions with sender recovery, "sent" and "nonce" records) and cuts a torn last line.
// VerificationError / UsageError are the expected rejections. What opened is then queried as
// `flush` and `queue` would: pending count and the next nonce of every sender.
//
// An input that starts with '!' is re-chained first: every line that is a JSON object gets the
// seq and prev the format wants, so that mutations inside a record are not all stopped by the
// hash chain; any other input is the file as it is.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "bridge/keccak.h"
#include "bridge/outbox.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;

namespace {

std::string g_path;  // the outbox file, rewritten for every input (on tmpfs where there is one)

void removeScratch() {
  std::error_code ec;
  fs::remove_all(fs::path(g_path).parent_path(), ec);
}

// Sets "seq" and "prev" of every JSON-object line as Outbox::appendLine would.
std::string rechain(std::string_view text) {
  std::string out, prev = mlcp::bridge::toHex(mlcp::bridge::Hash32{});
  uint64_t seq = 0;
  for (size_t start = 0; start < text.size(); ++seq) {
    const size_t nl = text.find('\n', start);
    std::string line(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
    if (!r.is_discarded() && r.is_object()) {
      r["seq"] = seq;
      r["prev"] = prev;
      line = r.dump();
    }
    out += line;
    if (nl == std::string_view::npos) break;
    out += '\n';
    prev = mlcp::bridge::toHex(mlcp::bridge::keccak256(line));
    start = nl + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::error_code ec;
  const fs::path base =
      fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path dir = base / ("mlcp-fuzz-outbox-" + std::to_string(getpid()));
  fs::create_directories(dir);
  g_path = (dir / "outbox.jsonl").string();
  std::atexit(removeScratch);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string rechained;
  if (!text.empty() && text[0] == '!') text = rechained = rechain(text.substr(1));
  {
    const int fd = ::open(g_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    fuzzCheck(fd >= 0, "the scratch outbox file opens");
    fuzzCheck(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()),
              "the input is written");
    ::close(fd);
  }
  expectOnlyMlcpErrors([&] {
    mlcp::bridge::Outbox outbox(g_path, /*create=*/false);
    size_t pending = 0;
    for (const mlcp::bridge::OutboxEntry& e : outbox.entries()) {
      pending += e.sent ? 0 : 1;
      const uint64_t next = outbox.nextNonce(e.tx.from, e.tx.tx.chain_id);
      fuzzCheck(next > e.tx.tx.nonce || e.tx.tx.nonce == UINT64_MAX,
                "the next nonce of a sender is above every nonce it has queued");
    }
    fuzzCheck(outbox.pendingCount() == pending, "pendingCount counts the unsent entries");
  });
  return 0;
}
