// Fuzzes the final_state.bin reader (verify/final_state.h). VerificationError is the expected
// rejection. Round trip: encodeFinalState(decodeFinalState(x)) == x (the format has one
// encoding per content).
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"
#include "verify/final_state.h"

using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;
namespace verify = mlcp::verify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  expectOnlyMlcpErrors([&] {
    const std::vector<verify::FinalStateTensor> tensors =
        verify::decodeFinalState(bytes, "final_state.bin");
    std::vector<verify::FinalStateEntry> entries;
    for (const auto& t : tensors) entries.push_back({t.name, t.shape, t.values.data()});
    fuzzCheck(verify::encodeFinalState(entries) == bytes,
              "encodeFinalState(decodeFinalState(x)) == x");
  });
  return 0;
}
