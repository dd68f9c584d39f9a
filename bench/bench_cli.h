// The command line of every benchmark program, handled as `mlcp` handles its own (CLI11): --help
// prints the usage and exits 0; a bad flag or value is one line and exit 2; an error the benchmark
// throws is one line ("bench_X: error: ...") with mlcp's exit code for it (2 for a user's
// mistake, 1 otherwise) — never an uncaught exception or a stack dump.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <functional>

#include "base/error.h"

namespace mlcp::bench {

// Parses argv into `app` (whose options the caller added), then runs `body`; returns the exit code.
inline int runBenchmark(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return exitCodeFor(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return kExitFailure;
  }
}

}  // namespace mlcp::bench
