// Shared by the libFuzzer harnesses (tests/fuzz/README.md): the outcome contract of one input.
//
//  - An exception derived from mlcp::Error is the parser's documented answer to bad input: the
//    harness catches it and the input counts as handled.
//  - Anything else is a finding: another exception type (reported here with its message, then
//    abort), a crash, a sanitizer report, a hang (libFuzzer's -timeout), or a broken round trip
//    (fuzzCheck).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "base/error.h"

namespace mlcp::fuzz {

// Aborts with `what` when `cond` is false: a round trip or an invariant did not hold.
inline void fuzzCheck(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "mlcp fuzz: invariant violated: %s\n", what);
  std::abort();
}

// Runs `body`; mlcp::Error is the expected rejection, any other exception aborts (a finding).
template <typename F>
void expectOnlyMlcpErrors(F&& body) {
  try {
    body();
  } catch (const mlcp::Error& e) {
    // Bad input, rejected as documented. MLCP_FUZZ_VERBOSE=1 prints why (to check seeds).
    static const bool verbose = std::getenv("MLCP_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "mlcp fuzz: rejected: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlcp fuzz: unexpected exception %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "mlcp fuzz: unexpected non-std exception\n");
    std::abort();
  }
}

}  // namespace mlcp::fuzz
