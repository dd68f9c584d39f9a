// Fuzzes Solidity ABI decoding (bridge/abi.h). ChainError (malformed data from a node) and
// InvalidArgument (a malformed type name) are the expected rejections.
//
// Byte 0 picks the types: one of kAbiTypeLists (tests/fuzz/abi_type_lists.h) (static, dynamic and
// nested types, and the return types of the protocol contract's getters), or, past the table, a
// type list read from the input up to the first newline (fuzzing Type::parse as well). The rest is
// the data. Checks: a parsed type's canonical name parses to itself; decoded values format,
// re-encode (the encoder accepts every value the decoder produced) and decode again to the same
// values.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/abi.h"
#include "tests/fuzz/abi_type_lists.h"
#include "tests/fuzz/fuzz_util.h"

namespace abi = mlcp::bridge::abi;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;
using mlcp::fuzz::kAbiTypeLists;
using mlcp::fuzz::kLists;

namespace {

bool sameValue(const abi::Value& a, const abi::Value& b) {
  if (a.word != b.word || a.bytes != b.bytes || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!sameValue(a.items[i], b.items[i])) return false;
  }
  return true;
}

void decodeChecked(const std::vector<abi::Type>& types, const uint8_t* data, size_t size) {
  const std::vector<abi::Value> values = abi::decode(types, data, size);
  fuzzCheck(values.size() == types.size(), "one value per type");
  for (size_t i = 0; i < types.size(); ++i) abi::format(types[i], values[i]);
  mlcp::bridge::Bytes encoded;
  try {
    encoded = abi::encode(types, values);
  } catch (const mlcp::InvalidArgument& e) {
    std::fprintf(stderr, "encoder refused a decoded value: %s\n", e.what());
    fuzzCheck(false, "the encoder accepts every value the decoder produced");
  }
  const std::vector<abi::Value> again = abi::decode(types, encoded);
  for (size_t i = 0; i < types.size(); ++i) {
    fuzzCheck(sameValue(values[i], again[i]), "decode(encode(decode(x))) == decode(x)");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  ++data, --size;
  std::string signature;
  if (pick < kLists) {
    signature = kAbiTypeLists[pick];
  } else {
    const std::string_view rest(reinterpret_cast<const char*>(data), size);
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return 0;
    signature = "f(" + std::string(rest.substr(0, nl)) + ")";
    data += nl + 1, size -= nl + 1;
  }
  expectOnlyMlcpErrors([&] {
    const std::vector<abi::Type> types = abi::parameterTypes(signature);
    for (const abi::Type& t : types) {
      fuzzCheck(abi::Type::parse(t.canonical()).canonical() == t.canonical(),
                "a canonical type name parses to itself");
    }
    decodeChecked(types, data, size);
  });
  return 0;
}
