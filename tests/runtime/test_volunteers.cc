// Volunteers end to end (docs/volunteers.md, issue 16): real `mlcp run` ranks under mpiexec, real
// `mlcp volunteer` processes, real UCX on loopback. The job's result — final parameters and
// every checkpoint root — must be the 1-process run's bits whatever the volunteers do: join mid
// run, die with SIGKILL in the middle of a unit, leave and rejoin, run another instruction-set
// path, lie, or attack the channel. Every wait synchronises on what a process printed or wrote;
// none sleeps.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "collectives/ucx/ucx_worker.h"
#include "ops/isa.h"
#include "tests/common/test_util.h"
#include "tests/runtime/run_bits.h"
#include "verify/node_key.h"
#include "volunteer/session.h"

namespace mlcp::test {
namespace {

namespace ucx = collectives::ucx;
namespace vol = volunteer;

// A port nobody listens on now (the job listens there; volunteers may start first and retry).
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Key {
  std::string file, hex;
};

Key makeKey(const TempDir& dir, const std::string& name) {
  Key k{dir.file(name + ".key"), ""};
  const auto r = runCommand(mlcpBinary() + " keys new --out " + k.file);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  k.hex = r.output.substr(r.output.find("public key: ") + 12, 64);
  return k;
}

// The job: an MLP long enough for the churn below (a step with volunteers takes at least their
// --slow-ms), checkpoints every 25 steps.
std::string jobText(const std::string& run_dir, int port, const std::vector<Key>& allowed,
                    int steps, const std::string& extra = "") {
  std::string allow;
  for (const auto& k : allowed) allow += (allow.empty() ? "\"" : ", \"") + k.hex + "\"";
  return "[job]\nname = \"vjob\"\nseed = 7\noutput_dir = \"" + run_dir +
         "\"\n[model]\nkind = \"mlp\"\nhidden = [64, 32]\n"
         "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
         "train_limit = 2048\neval_limit = 200\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.002\ngrad_clip = 1.0\n"
         "[train]\nglobal_batch = 128\nmicro_batches = 8\nsteps = " +
         std::to_string(steps) +
         "\nlog_every = 25\n"
         "[checkpoint]\nevery = 25\n"
         "[volunteers]\nenabled = true\nlisten = \"127.0.0.1:" +
         std::to_string(port) + "\"\nallow = [" + allow + "]\ndeadline_s = 20\nmin_units = 1\n" +
         extra;
}

std::string volunteerCommand(int port, const Key& key, const std::string& flags = "",
                             const std::string& env = "") {
  return "env " + env + " " + mlcpBinary() +
         " volunteer --connect 127.0.0.1:" + std::to_string(port) + " --job vjob --key " +
         key.file + " --connect-timeout 60 " + flags;
}

// A log that may not exist yet (then "").
std::string logOf(const std::string& path) {
  return std::filesystem::exists(path) ? readFile(path) : std::string();
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The last step rank 0 recorded, from its metrics (-1 before the first).
int64_t lastStep(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics/rank-00000.jsonl");
  std::string line;
  int64_t step = -1;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("kind", "") == "step") step = j.value("step", step);
  }
  return step;
}

// The 1-process run of the same job (`text` listens on a port of its own — the [volunteers]
// table is not part of the program — and nobody comes).
RunBits reference(const TempDir& dir, const std::string& text) {
  writeFile(dir.file("ref.toml"), text);
  const auto r = runCommand(mpiexec(1) + " " + mlcpBinary() + " run " + dir.file("ref.toml") +
                            " --no-progress --output " + dir.file("ref"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return runBits(dir.file("ref"));
}

std::vector<std::string> isaPaths() {
  std::vector<std::string> out;
  for (auto isa : {ops::Isa::kScalar, ops::Isa::kAvx2, ops::Isa::kAvx512}) {
    if (ops::cpuSupports(isa)) out.push_back(ops::isaName(isa));
  }
  return out;
}

TEST(Volunteers, ChurnOnOtherInstructionSetsKeepsTheBits) {
  TempDir dir("mlcp-volunteers");
  const Key a = makeKey(dir, "a"), b = makeKey(dir, "b"), c = makeKey(dir, "c");
  const int port = freePort();
  const std::string run = dir.file("run");
  // Long enough that C's death and B's return happen well before the end even on a loaded
  // machine (a step with volunteers takes at least their 15 ms).
  constexpr int kSteps = 600;
  const std::string text = jobText(run, port, {a, b, c}, kSteps);
  writeFile(dir.file("job.toml"), text);
  const auto isas = isaPaths();
  ASSERT_FALSE(isas.empty());
  // A and B wait for the job (they dial until it listens), each on its own path.
  BackgroundProcess va(volunteerCommand(port, a, "--slow-ms 15", "MLCP_ISA=" + isas.front()),
                       dir.file("a.log"));
  BackgroundProcess vb(volunteerCommand(port, b, "--slow-ms 15", "MLCP_ISA=" + isas.back()),
                       dir.file("b.log"));
  BackgroundProcess job(
      mpiexec(2) + " " + mlcpBinary() + " run " + dir.file("job.toml") + " --progress lines",
      dir.file("job.log"));
  auto log = [&](const char* name) { return logOf(dir.file(name)); };
  // C joins mid-run, takes a unit and dies with SIGKILL in the middle of it.
  ASSERT_TRUE(waitUntil(120, [&] { return lastStep(run) >= 20 || !job.running(); }))
      << log("job.log");
  ASSERT_TRUE(job.running()) << "the job ended before C could join:\n" << log("job.log");
  BackgroundProcess vc(volunteerCommand(port, c, "--slow-ms 3000"), dir.file("c.log"));
  ASSERT_TRUE(waitUntil(120, [&] { return count(log("c.log"), "computing step") >= 1; }))
      << log("c.log") << log("job.log");
  kill(vc.pid(), SIGKILL);
  EXPECT_EQ(vc.waitFor(30), 128 + SIGKILL);
  // B leaves on SIGTERM (after the unit in hand) and comes back.
  ASSERT_TRUE(waitUntil(120, [&] { return count(log("b.log"), "computing step") >= 3; }));
  kill(vb.pid(), SIGTERM);
  EXPECT_EQ(vb.waitFor(60), 0) << log("b.log");
  EXPECT_NE(log("b.log").find("left the job on SIGTERM"), std::string::npos) << log("b.log");
  ASSERT_TRUE(job.running()) << "the job ended before B could rejoin:\n" << log("job.log");
  BackgroundProcess vb2(volunteerCommand(port, b, "--slow-ms 15", "MLCP_ISA=" + isas.back()),
                        dir.file("b2.log"));
  ASSERT_TRUE(waitUntil(
      120, [&] { return count(log("b2.log"), "computing step") >= 1 || !job.running(); }));
  EXPECT_GE(count(log("b2.log"), "computing step"), 1) << "B did not rejoin in time:\n"
                                                       << log("b2.log");
  ASSERT_EQ(job.waitFor(300), 0) << log("job.log");
  // A volunteer whose job finished ends non-zero (3) with one sentence.
  EXPECT_EQ(va.waitFor(60), 3) << log("a.log");
  EXPECT_EQ(vb2.waitFor(60), 3) << log("b2.log");
  EXPECT_NE(log("a.log").find("the job finished"), std::string::npos) << log("a.log");

  const std::string out = log("job.log");
  // C's death was seen, and its unit computed on rank 0.
  EXPECT_NE(out.find("left: the connection failed"), std::string::npos) << out;
  const auto steps = readFile(run + "/metrics/rank-00000.jsonl");
  const auto last = nlohmann::json::parse(splitLines(steps).back(), nullptr, false);
  int64_t units = 0, late = 0;
  for (const auto& line : splitLines(steps)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("volunteers")) {
      units = j["volunteers"]["units"];
      late = j["volunteers"]["late"];
    }
  }
  EXPECT_GT(units, 100) << "volunteers computed too little of the job to test it";
  EXPECT_GE(late, 1) << "C's unit was not recomputed";
  // Volunteers took units of both ranks' ranges (rank 0 owns micro-batches 0-3, rank 1 4-7):
  // each rank gives up its share, so each rank's step gets shorter.
  std::set<int64_t> taken;
  for (const auto* k : {&a, &b, &c}) {
    const auto records = logOf(run + "/volunteers/" + k->hex.substr(0, 16) + ".jsonl");
    for (const auto& line : splitLines(records)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "assigned") {
        for (int64_t u : j["units"]) taken.insert(u);
      }
    }
  }
  ASSERT_FALSE(taken.empty());
  EXPECT_TRUE(*taken.begin() < 4 && *taken.rbegin() >= 4)
      << "volunteers were given one rank's units only: " << nlohmann::json(taken).dump();
  // B's key joined twice (its record file says so).
  EXPECT_EQ(count(readFile(run + "/volunteers/" + b.hex.substr(0, 16) + ".jsonl"),
                  "\"event\":\"joined\""),
            2);
  expectSameBits(reference(dir, jobText(run, freePort(), {a}, kSteps)), runBits(run),
                 "2 ranks + 3 volunteers with churn");
}

// An attacker with an allowed key, in this process: it completes the handshake, then breaks the
// channel as `what` says. The job must log it and go on.
void attack(int port, const Key& key, const std::string& what) {
  ucx::Context context;
  ucx::Worker worker(context);
  vol::ClientOptions o;
  o.job_id = "vjob";
  const auto deadline = ucx::deadlineIn(std::chrono::seconds(60));
  auto session = vol::Session::connect(worker, "127.0.0.1:" + std::to_string(port),
                                       verify::KeyPair::load(key.file), o, deadline);
  const vol::Message welcome = session.receive(deadline);
  ASSERT_EQ(vol::typeOf(welcome), vol::MessageType::kWelcome);
  vol::Buffer frame = session.channel().seal(vol::Heartbeat{1, 0});
  if (what == "replay") {
    vol::Buffer copy = frame;
    session.endpoint().send(std::move(frame), deadline);
    session.endpoint().send(std::move(copy), deadline);  // the same sealed bytes again
  } else {  // "truncate": the frame less its last 5 bytes
    frame.resize(frame.size() - 5);
    session.endpoint().send(std::move(frame), deadline);
  }
  // The job drops the session: the endpoint fails (the job closed it) or the job finishes.
  EXPECT_THROW(
      {
        for (;;) session.receive(ucx::deadlineIn(std::chrono::seconds(120)));
      },
      mlcp::Error);
}

TEST(Volunteers, LiarsAndAttackersAreRejectedAndTheBitsStay) {
  TempDir dir("mlcp-volunteers");
  const Key honest = makeKey(dir, "honest"), liar = makeKey(dir, "liar"),
            stranger = makeKey(dir, "stranger"), replayer = makeKey(dir, "replayer"),
            truncator = makeKey(dir, "truncator");
  const int port = freePort();
  const std::string run = dir.file("run");
  const std::string text = jobText(run, port, {honest, liar, replayer, truncator}, 150);
  writeFile(dir.file("job.toml"), text);
  BackgroundProcess vh(volunteerCommand(port, honest, "--slow-ms 15"), dir.file("honest.log"));
  // Its first unit is a lie: a new key is audited in full, so it is caught at once.
  BackgroundProcess vl(volunteerCommand(port, liar, "--slow-ms 15 --lie 1"), dir.file("liar.log"));
  BackgroundProcess job(
      mpiexec(2) + " " + mlcpBinary() + " run " + dir.file("job.toml") + " --progress lines",
      dir.file("job.log"));
  auto log = [&](const char* name) { return logOf(dir.file(name)); };
  ASSERT_TRUE(waitUntil(120, [&] { return lastStep(run) >= 5 || !job.running(); }))
      << log("job.log");
  ASSERT_TRUE(job.running()) << log("job.log");
  // A key that is not on the allowlist gets nothing and is told so.
  const auto refused = runCommand(volunteerCommand(port, stranger));
  EXPECT_EQ(refused.exit_code, 4) << refused.output;
  EXPECT_NE(refused.output.find("allowlist"), std::string::npos) << refused.output;
  // A peer that sends garbage instead of a handshake.
  {
    ucx::Context context;
    ucx::Worker worker(context);
    auto ep = worker.connect("127.0.0.1:" + std::to_string(port));
    ep.send(vol::Buffer(64, 0xab), ucx::deadlineIn(std::chrono::seconds(30)));
    EXPECT_THROW(
        {
          for (;;) ep.receive(ucx::deadlineIn(std::chrono::seconds(60)));
        },
        mlcp::Error);
  }
  attack(port, replayer, "replay");
  attack(port, truncator, "truncate");
  ASSERT_EQ(job.waitFor(300), 0) << log("job.log");
  EXPECT_EQ(vh.waitFor(60), 3) << log("honest.log");
  EXPECT_EQ(vl.waitFor(60), 4) << log("liar.log");
  EXPECT_NE(log("liar.log").find("evicted"), std::string::npos) << log("liar.log");

  const std::string out = log("job.log");
  EXPECT_NE(out.find("is not on the allowlist"), std::string::npos) << out;
  EXPECT_NE(out.find("replayed message"), std::string::npos) << out;
  EXPECT_NE(out.find("BANNED"), std::string::npos) << out;
  EXPECT_GE(count(out, "volunteer handshake from"), 2) << "the stranger and the garbage:\n" << out;
  // The truncated frame: its session ends with a line naming it.
  EXPECT_GE(count(out, "left: the connection failed"), 2) << out;
  // The evidence of the lie: the signed claim and the recomputation.
  EXPECT_NE(readFile(run + "/volunteers/banned").find(liar.hex), std::string::npos);
  bool evidence = false;
  for (const auto& e : std::filesystem::directory_iterator(run + "/volunteers/evidence")) {
    const auto claim = nlohmann::json::parse(readFile(e.path().string() + "/claim.json"));
    EXPECT_EQ(claim["volunteer_key"], liar.hex);
    EXPECT_NE(claim["gradient_hash"], claim["recomputed_hash"]);
    evidence = std::filesystem::exists(e.path().string() + "/recomputed.f32");
  }
  EXPECT_TRUE(evidence);
  expectSameBits(reference(dir, jobText(run, freePort(), {honest}, 150)), runBits(run),
                 "a liar and three attackers");
}

TEST(Volunteers, AVolunteerEndsWithOneSentence) {
  TempDir dir("mlcp-volunteers");
  const Key v = makeKey(dir, "v");
  const int port = freePort();
  // Nobody listens: it gives up after its connect timeout.
  const auto alone =
      runCommand(mlcpBinary() + " volunteer --connect 127.0.0.1:" + std::to_string(port) +
                 " --job vjob --key " + v.file + " --connect-timeout 1");
  EXPECT_EQ(alone.exit_code, 1) << alone.output;
  EXPECT_NE(alone.output.find("could not join the job"), std::string::npos) << alone.output;
  // A key file that is not there.
  const auto nokey =
      runCommand(mlcpBinary() + " volunteer --connect 127.0.0.1:" + std::to_string(port) +
                 " --job vjob --key " + dir.file("missing.key"));
  EXPECT_EQ(nokey.exit_code, 2) << nokey.output;
  // The job vanishes (SIGKILL) while the volunteer works for it.
  const std::string run = dir.file("run");
  writeFile(dir.file("job.toml"), jobText(run, port, {v}, 100000));
  BackgroundProcess job(mlcpBinary() + " run " + dir.file("job.toml") + " --progress lines",
                        dir.file("job.log"));
  BackgroundProcess vol(volunteerCommand(port, v, "--slow-ms 10"), dir.file("v.log"));
  ASSERT_TRUE(waitUntil(120, [&] { return count(logOf(dir.file("v.log")), "computing") >= 2; }))
      << logOf(dir.file("v.log")) << logOf(dir.file("job.log"));
  kill(job.pid(), SIGKILL);
  job.waitFor(30);
  EXPECT_EQ(vol.waitFor(60), 1) << readFile(dir.file("v.log"));
  const auto lines = splitLines(readFile(dir.file("v.log")));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("failed"), std::string::npos) << lines.back();
}

// A volunteer that dials while the job cannot answer (here: stopped with SIGSTOP; in life, a job
// busy loading for longer than the volunteer waits) and gives up leaves a connection request
// whose peer is gone. The job meets it when it next admits volunteers: a log line, and it goes
// on to the 1-process run's bits (it used to end the job with the UCX error).
TEST(Volunteers, AVolunteerThatGaveUpBeforeBeingAcceptedLeavesTheJobRunning) {
  TempDir dir("mlcp-volunteers");
  const Key v = makeKey(dir, "v");
  const int port = freePort();
  const std::string run = dir.file("run");
  const std::string text = jobText(run, port, {v}, 40);
  writeFile(dir.file("job.toml"), text);
  BackgroundProcess job(mlcpBinary() + " run " + dir.file("job.toml") + " --progress lines",
                        dir.file("job.log"));
  ASSERT_TRUE(waitUntil(120, [&] { return lastStep(run) >= 2 || !job.running(); }))
      << logOf(dir.file("job.log"));
  ASSERT_EQ(kill(job.pid(), SIGSTOP), 0);
  const auto gave_up =
      runCommand(mlcpBinary() + " volunteer --connect 127.0.0.1:" + std::to_string(port) +
                 " --job vjob --key " + v.file + " --connect-timeout 3");
  ASSERT_EQ(kill(job.pid(), SIGCONT), 0);
  EXPECT_EQ(gave_up.exit_code, 1) << gave_up.output;
  EXPECT_NE(gave_up.output.find("could not join the job"), std::string::npos) << gave_up.output;
  ASSERT_EQ(job.waitFor(120), 0) << logOf(dir.file("job.log"));
  const std::string out = logOf(dir.file("job.log"));
  EXPECT_NE(out.find("a volunteer's connection failed before it was accepted"), std::string::npos)
      << out;
  expectSameBits(reference(dir, jobText(run, freePort(), {v}, 40)), runBits(run),
                 "a volunteer that gave up before it was accepted");
}

}  // namespace
}  // namespace mlcp::test
