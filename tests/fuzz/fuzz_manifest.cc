// Fuzzes the checkpoint manifest reader (verify/manifest.h): CheckpointManifest::fromJson, then
// computeRoot() and verifySignature() on what parsed, and the rank-to-rank tensor entry list
// (decodeEntries). VerificationError / InvalidArgument are the expected rejections.
// Round trips: toJson(fromJson(x)) parses back to the same signed bytes and the same JSON;
// decodeEntries(encodeEntries(decodeEntries(x))) gives the same entries.
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"
#include "verify/manifest.h"

using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;
namespace verify = mlcp::verify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  expectOnlyMlcpErrors([&] {
    const verify::CheckpointManifest m = verify::CheckpointManifest::fromJson(text);
    const std::string signed_bytes = m.signedBytes();
    const std::string pretty = m.toJson();
    const verify::CheckpointManifest again = verify::CheckpointManifest::fromJson(pretty);
    fuzzCheck(again.signedBytes() == signed_bytes, "fromJson(toJson(m)).signedBytes() == m's");
    fuzzCheck(again.toJson() == pretty, "toJson(fromJson(toJson(m))) == toJson(m)");
    m.jobPath();
    expectOnlyMlcpErrors([&] { m.computeRoot(); });
    m.verifySignature();
  });
  // Entry lists are arrays: other inputs (manifests) would only repeat the JSON parse above.
  if (text.find_first_not_of(" \t\r\n") == std::string::npos ||
      text[text.find_first_not_of(" \t\r\n")] != '[') {
    return 0;
  }
  expectOnlyMlcpErrors([&] {
    const std::vector<verify::TensorEntry> entries = verify::decodeEntries(text);
    fuzzCheck(verify::decodeEntries(verify::encodeEntries(entries)) == entries,
              "decodeEntries(encodeEntries(e)) == e");
  });
  return 0;
}
