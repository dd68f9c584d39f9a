// `mlcp volunteer`: join a running job as an untrusted volunteer (runtime/volunteer_worker.h,
// docs/volunteers.md).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "app/commands.h"
#include "runtime/volunteer_worker.h"

namespace mlcp::app {

void addVolunteerCommand(CLI::App& app) {
  auto o = std::make_shared<runtime::VolunteerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "volunteer",
      "Join a running job as a volunteer: connect out over UCX, prove this node's key, compute "
      "the micro-batches the job assigns");
  cmd->add_option("--connect", o->connect, "The job's coordinator, HOST:PORT (its run prints it)")
      ->required();
  cmd->add_option("--job", o->job, "The job's id: its [job] name (bound into every message)")
      ->required();
  cmd->add_option("--key", o->key_file, "This volunteer's ed25519 node key (mlcp keys new)")
      ->required();
  cmd->add_option("--job-key", o->job_key,
                  "The job's public key (64 hex digits): refuse any other job");
  cmd->add_option("--data", o->data, "This machine's copy of the job's data (default: data.path)");
  cmd->add_option("--threads", o->threads, "Intra-op threads (the bits do not depend on them)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--connect-timeout", o->connect_timeout_s, "Seconds to reach the job")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--idle-timeout", o->idle_timeout_s,
                  "Seconds without a message from the job before giving up")
      ->check(CLI::PositiveNumber);
  // Test switches (docs/volunteers.md, "Testing"): hidden from --help.
  cmd->add_option("--slow-ms", o->slow_ms, "")->group("");
  cmd->add_option("--lie", o->lie_step, "")->group("");
  cmd->callback([o] {
    o->say = [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    const runtime::VolunteerResult r = runtime::runVolunteer(*o);
    fmt::print(r.exit_code == runtime::kVolunteerDone ? stdout : stderr, "mlcp volunteer: {}\n",
               r.why);
    std::fflush(stdout);
    std::fflush(stderr);
    if (r.exit_code != 0) std::exit(r.exit_code);  // everything is closed: the run has returned
  });
}

}  // namespace mlcp::app
