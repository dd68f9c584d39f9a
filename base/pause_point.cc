#include "base/pause_point.h"

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mlcp {
namespace {

struct Target {
  std::string name;  // empty: no point pauses
  long pass = 1;
};

const Target& target() {
  static const Target t = [] {
    Target out;
    const char* v = std::getenv("MLCP_PAUSE_AT");
    if (v == nullptr || *v == '\0') return out;
    out.name = v;
    const auto at = out.name.find('@');
    if (at != std::string::npos) {
      out.pass = std::atol(out.name.c_str() + at + 1);
      out.name.resize(at);
    }
    return out;
  }();
  return t;
}

}  // namespace

void pausePoint(const char* name) {
  const Target& t = target();
  if (t.name.empty() || t.name != name) return;
  static std::atomic<long> passes{0};
  if (++passes == t.pass) raise(SIGSTOP);
}

}  // namespace mlcp
