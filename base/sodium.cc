#include "base/sodium.h"

#include <sodium.h>

#include <mutex>

#include "base/error.h"

namespace mlcp {

void ensureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw Error("libsodium failed to initialise (sodium_init)");
  });
}

}  // namespace mlcp
