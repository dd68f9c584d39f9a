#include "slurm/slurm_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "base/error.h"

extern char** environ;

namespace mlcp::slurm {
namespace {

// RAII for a pipe's two ends.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe2(fd, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
  }
  ~Pipe() {
    closeEnd(0);
    closeEnd(1);
  }
  void closeEnd(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

// "Key=Value Key=Value ..." of `scontrol show job -o` -> value of key ("" if absent).
std::string field(const std::string& line, const std::string& key) {
  const std::string k = key + "=";
  size_t pos = 0;
  while ((pos = line.find(k, pos)) != std::string::npos) {
    if (pos == 0 || line[pos - 1] == ' ') {
      const size_t start = pos + k.size();
      return line.substr(start, line.find(' ', start) - start);
    }
    pos += k.size();
  }
  return "";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Without a configuration Slurm's clients look the controller up in DNS (SRV records): slow,
// and a confusing error. Refuse first, naming the two places a configuration can be.
void requireSlurmConfig() {
  const char* conf = std::getenv("SLURM_CONF");
  const std::string path = conf != nullptr && *conf != 0 ? conf : "/etc/slurm/slurm.conf";
  if (!std::filesystem::exists(path)) {
    throw UsageError(fmt::format(
        "no Slurm configuration at {} (set SLURM_CONF, or see slurm/local-cluster/README.md "
        "for a cluster on this machine)",
        path));
  }
}

}  // namespace

CommandOutput runSlurmCommand(const std::vector<std::string>& argv, const std::string& input) {
  Pipe in, out;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw IoError(fmt::format("cannot run {}: {} (is Slurm installed and on PATH?)", argv[0],
                              std::strerror(rc)));
  }
  in.closeEnd(0);
  out.closeEnd(1);
  if (!input.empty()) {
    size_t done = 0;
    while (done < input.size()) {
      const ssize_t n = ::write(in.fd[1], input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  in.closeEnd(1);
  CommandOutput result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out.fd[0], buf, sizeof buf)) > 0)
    result.out.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string submit(const SbatchRequest& request, const std::string& script) {
  requireSlurmConfig();
  if (!request.partition.empty()) {
    const auto parts = runSlurmCommand({"sinfo", "-h", "-o", "%R"});
    if (parts.exit_code != 0) throw Error("sinfo: " + trim(parts.out));
    std::istringstream lines(parts.out);
    std::string line, known;
    bool found = false;
    while (std::getline(lines, line)) {
      found |= line == request.partition;
      known += (known.empty() ? "" : ", ") + line;
    }
    if (!found) {
      throw UsageError(
          fmt::format("partition '{}' does not exist on this cluster (sinfo lists: {}); "
                      "nothing was queued",
                      request.partition, known));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(request.run_dir, ec);
  if (ec) throw IoError("cannot create " + request.run_dir + ": " + ec.message());
  const auto r = runSlurmCommand({"sbatch", "--parsable"}, script);
  if (r.exit_code != 0) throw Error("sbatch refused the job: " + trim(r.out));
  std::string id = trim(r.out);
  id = id.substr(id.rfind('\n') == std::string::npos ? 0 : id.rfind('\n') + 1);
  return id.substr(0, id.find(';'));  // "ID;cluster" on multi-cluster set-ups
}

JobState jobState(const std::string& job_id) {
  requireSlurmConfig();
  const auto r = runSlurmCommand({"scontrol", "show", "job", "-o", job_id});
  if (r.exit_code != 0) {
    throw UsageError(fmt::format("Slurm does not know job {}: {}", job_id, trim(r.out)));
  }
  JobState s;
  s.id = field(r.out, "JobId");
  s.name = field(r.out, "JobName");
  s.state = field(r.out, "JobState");
  s.reason = field(r.out, "Reason");
  s.stdout_path = field(r.out, "StdOut");
  s.exit_code = field(r.out, "ExitCode");
  return s;
}

}  // namespace mlcp::slurm
