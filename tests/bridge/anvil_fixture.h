// Test helper: a real anvil started through the project's script (bridge/scripts/anvil-start.sh)
// in a temporary folder, stopped by its PID when the Anvil object goes away. Tests that need it
// skip, naming the reason, where the pinned chain tools are not installed
// (bridge/scripts/install-chain-tools.sh installs them; scripts/test.sh runs it).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "tests/common/test_util.h"

namespace mlcp::test {

// anvil's deterministic dev accounts (mnemonic "test test ... junk").
inline const char* kAnvilKeys[] = {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

// Exported paths of the pinned tools (MLCP_ANVIL, MLCP_CAST, MLCP_SOLCJS), or "" with `why`.
inline std::string chainTool(const std::string& var, std::string* why) {
  CommandResult r = runCommand(sourceDir() + "/bridge/scripts/chain-tools.sh");
  if (r.exit_code != 0) {
    *why = "chain tools not installed (run bridge/scripts/install-chain-tools.sh): " + r.output;
    return "";
  }
  std::string key = "export " + var + "=";
  size_t pos = r.output.find(key);
  if (pos == std::string::npos) {
    *why = var + " not printed by chain-tools.sh";
    return "";
  }
  size_t end = r.output.find('\n', pos);
  std::string value = r.output.substr(pos + key.size(), end - pos - key.size());
  if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"'))
    value = value.substr(1, value.size() - 2);
  return value;
}

class Anvil {
 public:
  // Starts a fresh anvil; returns nullptr and sets `why` when it cannot.
  static std::unique_ptr<Anvil> start(std::string* why, const std::string& extra_args = "") {
    auto a = std::unique_ptr<Anvil>(new Anvil());
    CommandResult r = runCommand(sourceDir() + "/bridge/scripts/anvil-start.sh " + a->dir_.path() +
                                 " " + extra_args + " 2>&1");
    size_t u = r.output.find("MLCP_ANVIL_URL=");
    size_t p = r.output.find("MLCP_ANVIL_PID=");
    if (r.exit_code != 0 || u == std::string::npos || p == std::string::npos) {
      *why = "anvil-start.sh failed: " + r.output;
      return nullptr;
    }
    a->url_ = r.output.substr(u + 15, r.output.find(' ', u) - u - 15);
    a->pid_ = std::atoi(r.output.c_str() + p + 15);
    return a;
  }
  ~Anvil() { stop(); }
  // Stops anvil by its PID with SIGKILL: a test chain has nothing to save, and anvil takes
  // about 1.2 s to exit on SIGTERM. Idempotent. (anvil was started by a script that exited, so
  // it is not our child; a zombie counts as gone.)
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitUntil(5, [&] { return !alive(pid_); });
    pid_ = -1;
  }
  static bool alive(int pid) {
    if (::kill(pid, 0) != 0) return false;
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
  }
  const std::string& url() const { return url_; }
  int pid() const { return pid_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  Anvil() : dir_("mlcp-anvil") {}
  TempDir dir_;
  std::string url_;
  int pid_ = -1;
};

// A loopback URL where nothing listens: a port the OS handed out and that was closed again.
std::string deadUrl();

}  // namespace mlcp::test

#define MLCP_START_ANVIL(var)                         \
  std::string anvil_why_;                             \
  auto var = ::mlcp::test::Anvil::start(&anvil_why_); \
  if (!var) GTEST_SKIP() << anvil_why_
