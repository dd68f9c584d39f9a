// Fuzzes the job file reader: TOML parsing (toml++), typed section reading and validation
// (jobs/job_spec.h). UsageError is the expected rejection. The job "lives" in a scratch folder
// that holds what its relative paths may name (a Fashion-MNIST look-alike, a text corpus, key
// and devices files), so validation runs past the file checks.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "jobs/job_spec.h"
#include "tests/fuzz/fuzz_util.h"

namespace fs = std::filesystem;

namespace {

std::string g_job_path;  // <scratch>/job.toml (never written: only its folder is used)

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

void removeScratch() {
  std::error_code ec;
  fs::remove_all(fs::path(g_job_path).parent_path(), ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const fs::path dir = fs::temp_directory_path() / ("mlcp-fuzz-job-" + std::to_string(getpid()));
  fs::create_directories(dir / "fashion");
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    writeFile(dir / "fashion" / f, "");
  }
  fs::create_directories(dir / "texts");
  std::string corpus;
  for (int i = 0; i < 400; ++i) corpus += "Fuzzing finds what tests do not imagine. ";
  writeFile(dir / "corpus.txt", corpus);
  writeFile(dir / "texts" / "a.txt", corpus);
  writeFile(dir / "key", "not a real key\n");
  writeFile(dir / "devices", "0\n");
  fs::create_directories(dir / "outbox");
  g_job_path = (dir / "job.toml").string();
  std::atexit(removeScratch);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mlcp::fuzz::expectOnlyMlcpErrors([&] {
    const mlcp::jobs::JobSpec spec = mlcp::jobs::parseJobSpec(text, g_job_path);
    mlcp::fuzz::fuzzCheck(spec.source_text == text, "JobSpec::source_text is the file's bytes");
    // What a valid spec feeds next: its canonical text, layer count and world-size checks.
    const std::string canonical = spec.canonicalText();
    mlcp::fuzz::fuzzCheck(!canonical.empty(), "canonicalText is never empty");
    mlcp::jobs::modelLayerCount(spec.model);
    // One world size per input (checkWorldSize re-parses the text for positions).
    mlcp::jobs::resolvedDp(spec, static_cast<int>(size % 8) + 1);
  });
  return 0;
}
