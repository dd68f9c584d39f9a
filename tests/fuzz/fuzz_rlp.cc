// Fuzzes RLP decoding (bridge/rlp.h). InvalidArgument is the expected rejection. The decoder
// accepts only canonical encodings, so every accepted input must re-encode to itself:
// encode(decode(x)) == x.
#include <cstdint>

#include "bridge/rlp.h"
#include "tests/fuzz/fuzz_util.h"

namespace rlp = mlcp::bridge::rlp;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;

namespace {

mlcp::bridge::Bytes encode(const rlp::Item& item) {
  if (!item.is_list) return rlp::encodeString(item.bytes);
  std::vector<mlcp::bridge::Bytes> encoded;
  encoded.reserve(item.items.size());
  for (const rlp::Item& i : item.items) encoded.push_back(encode(i));
  return rlp::encodeList(encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mlcp::bridge::Bytes input(data, data + size);
  expectOnlyMlcpErrors([&] {
    const rlp::Item item = rlp::decode(input);
    fuzzCheck(encode(item) == input, "RLP encode(decode(x)) == x");
  });
  return 0;
}
