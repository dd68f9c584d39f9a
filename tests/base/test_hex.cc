// base/hex.h: the one hex encoder and decoder (hashes, keys and the chain client's 0x strings
// all go through it).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/hex.h"

namespace mlcp {
namespace {

TEST(Hex, EncodesEveryByteValueAndDecodesItBack) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  const std::string hex = hexEncode(all.data(), all.size());
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(hexDecode(hex), all);
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hexDecode(upper), all);
  EXPECT_EQ(hexEncode(nullptr, 0), "");
  EXPECT_TRUE(hexDecode("").empty());
}

TEST(Hex, RefusesOddLengthsAndNonHexNamingWhat) {
  try {
    hexDecode("abc", "the root");
    FAIL() << "odd length accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("the root"), std::string::npos) << e.what();
  }
  EXPECT_THROW(hexDecode("0g"), InvalidArgument);
  EXPECT_THROW(hexDecode("0x12"), InvalidArgument);  // no prefixes here: bridge strips them
  uint8_t out[2];
  EXPECT_THROW(hexDecodeInto("abcdef", out, 2, "a key"), InvalidArgument);
  hexDecodeInto("beef", out, 2, "a key");
  EXPECT_EQ(out[0], 0xbe);
  EXPECT_EQ(out[1], 0xef);
}

}  // namespace
}  // namespace mlcp
