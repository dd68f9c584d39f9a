// Offline encodings against published vectors: Keccak-256, RLP (Ethereum wiki / Yellow Paper
// examples), the Solidity ABI (the examples of the ABI specification), 256-bit integers.
#include <gtest/gtest.h>

#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/contract.h"
#include "bridge/keccak.h"
#include "bridge/rlp.h"
#include "bridge/u256.h"

namespace mlcp::bridge {
namespace {

std::string hexOf(const Bytes& b) { return toHex(b).substr(2); }
std::string word(const std::string& hex_value) {
  return std::string(64 - hex_value.size(), '0') + hex_value;
}
std::string rpad(const std::string& hex) { return hex + std::string(64 - hex.size(), '0'); }

TEST(Keccak, EmptyAndKnownStrings) {
  EXPECT_EQ(toHex(keccak256("")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  // Differs from NIST SHA3-256("abc") = 3a985da7...: Ethereum uses the original padding.
  EXPECT_EQ(toHex(keccak256("abc")),
            "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Hex, RoundTripAndErrors) {
  EXPECT_EQ(toHex(fromHex("0x00ff10")), "0x00ff10");
  EXPECT_EQ(toHex(fromHex("ABCD")), "0xabcd");
  EXPECT_EQ(toHex(fromHex("0x")), "0x");
  EXPECT_EQ(toHex(fromHex("0x1")), "0x01");
  EXPECT_THROW(fromHex("0xzz"), InvalidArgument);
  EXPECT_EQ(quantityToU64("0x1a"), 26u);
  EXPECT_EQ(u64ToQuantity(0), "0x0");
  EXPECT_EQ(u64ToQuantity(26), "0x1a");
  EXPECT_THROW(quantityToU64("0x10000000000000000"), ChainError);
}

TEST(U256, ParsePrintArithmetic) {
  const std::string max =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  U256 m = U256::parse(max);
  EXPECT_EQ(m.toDecimal(), max);
  EXPECT_EQ((m + U256(1)).toDecimal(), "0");
  EXPECT_EQ(U256::parse("0xff").toDecimal(), "255");
  EXPECT_EQ(U256(255).toQuantity(), "0xff");
  EXPECT_EQ(U256(0).toQuantity(), "0x0");
  EXPECT_EQ(U256(16).toQuantity(), "0x10");
  EXPECT_EQ(U256::parseAmount("1.5ether").toDecimal(), "1500000000000000000");
  EXPECT_EQ(U256::parseAmount("20gwei").toDecimal(), "20000000000");
  EXPECT_EQ(U256::parseAmount("7").toDecimal(), "7");
  EXPECT_THROW(U256::parseAmount("1.5wei"), InvalidArgument);
  EXPECT_THROW(U256::parse(max + "0"), InvalidArgument);
  EXPECT_THROW(U256::parse("12a"), InvalidArgument);
  EXPECT_EQ((U256::parse("1000000000000000000000") * U256(3)).toDecimal(),
            "3000000000000000000000");
  EXPECT_EQ(U256::fromInt64(-5).toSignedDecimal(), "-5");
  EXPECT_EQ(U256::fromInt64(-1), m);
  EXPECT_THROW(U256::checkedSub(U256(1), U256(2)), InvalidArgument);
  EXPECT_TRUE(U256(3) < U256::parse("0x10000000000000000"));
}

TEST(Rlp, SpecVectors) {
  EXPECT_EQ(hexOf(rlp::encodeString("dog")), "83646f67");
  EXPECT_EQ(hexOf(rlp::encodeList({rlp::encodeString("cat"), rlp::encodeString("dog")})),
            "c88363617483646f67");
  EXPECT_EQ(hexOf(rlp::encodeString("")), "80");
  EXPECT_EQ(hexOf(rlp::encodeList({})), "c0");
  EXPECT_EQ(hexOf(rlp::encodeUint(U256(0))), "80");
  EXPECT_EQ(hexOf(rlp::encodeString(Bytes{0x00})), "00");
  EXPECT_EQ(hexOf(rlp::encodeUint(U256(15))), "0f");
  EXPECT_EQ(hexOf(rlp::encodeUint(U256(1024))), "820400");
  // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
  Bytes e0 = rlp::encodeList({});
  Bytes e1 = rlp::encodeList({e0});
  EXPECT_EQ(hexOf(rlp::encodeList({e0, e1, rlp::encodeList({e0, e1})})), "c7c0c1c0c3c0c1c0");
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";  // 56 bytes
  EXPECT_EQ(hexOf(rlp::encodeString(lorem)), "b838" + hexOf(toBytes(lorem)));
  // A 1024-byte string: 0xb9 0x04 0x00 then the bytes.
  Bytes long_string(1024, 0xab);
  Bytes enc = rlp::encodeString(long_string);
  ASSERT_EQ(enc.size(), 1027u);
  EXPECT_EQ(hexOf(Bytes(enc.begin(), enc.begin() + 3)), "b90400");
  // A list whose payload is longer than 55 bytes: 0xf8 len.
  Bytes long_list = rlp::encodeList({rlp::encodeString(lorem)});
  EXPECT_EQ(hexOf(Bytes(long_list.begin(), long_list.begin() + 2)), "f83a");
}

TEST(Rlp, DecodeRoundTripAndRejectsMalformed) {
  Bytes enc = rlp::encodeList({rlp::encodeString("cat"), rlp::encodeList({rlp::encodeString("")}),
                               rlp::encodeString(Bytes(100, 7))});
  rlp::Item item = rlp::decode(enc);
  ASSERT_TRUE(item.is_list);
  ASSERT_EQ(item.items.size(), 3u);
  EXPECT_EQ(std::string(item.items[0].bytes.begin(), item.items[0].bytes.end()), "cat");
  EXPECT_TRUE(item.items[1].is_list);
  EXPECT_EQ(item.items[2].bytes, Bytes(100, 7));
  EXPECT_THROW(rlp::decode(fromHex("83646f")), InvalidArgument);      // short payload
  EXPECT_THROW(rlp::decode(fromHex("83646f6767")), InvalidArgument);  // trailing byte
  EXPECT_THROW(rlp::decode(fromHex("8105")), InvalidArgument);        // non-canonical single byte
  EXPECT_THROW(rlp::decode(fromHex("b80100")), InvalidArgument);      // long form for 1 byte
}

TEST(Abi, Selectors) {
  EXPECT_EQ(toHex(abi::selector("transfer(address,uint256)")), "0xa9059cbb");
  EXPECT_EQ(toHex(abi::selector("baz(uint32,bool)")), "0xcdcd77c0");
  EXPECT_EQ(toHex(abi::selector("balanceOf(address)")), "0x70a08231");
}

TEST(Abi, SpecExamples) {
  using abi::Value;
  EXPECT_EQ(hexOf(abi::encodeCall("baz(uint32,bool)", {Value::uint(69), Value::boolean(true)})),
            "cdcd77c0" + word("45") + word("1"));
  EXPECT_EQ(
      hexOf(abi::encodeCall("bar(bytes3[2])", {Value::list({Value::bytesValue(toBytes("abc")),
                                                            Value::bytesValue(toBytes("def"))})})),
      "fce353f6" + rpad("616263") + rpad("646566"));
  EXPECT_EQ(hexOf(abi::encodeCall("sam(bytes,bool,uint256[])",
                                  {Value::bytesValue(toBytes("dave")), Value::boolean(true),
                                   Value::list({Value::uint(1), Value::uint(2), Value::uint(3)})})),
            "a5643bf2" + word("60") + word("1") + word("a0") + word("4") + rpad("64617665") +
                word("3") + word("1") + word("2") + word("3"));
  EXPECT_EQ(
      hexOf(abi::encodeCall(
          "f(uint256,uint32[],bytes10,bytes)",
          {Value::uint(0x123), Value::list({Value::uint(0x456), Value::uint(0x789)}),
           Value::bytesValue(toBytes("1234567890")), Value::bytesValue(toBytes("Hello, world!"))})),
      "8be65246" + word("123") + word("80") + rpad("31323334353637383930") + word("e0") +
          word("2") + word("456") + word("789") + word("d") + rpad("48656c6c6f2c20776f726c6421"));
  Bytes g = abi::encodeCall(
      "g(uint256[][],string[])",
      {Value::list({Value::list({Value::uint(1), Value::uint(2)}), Value::list({Value::uint(3)})}),
       Value::list({Value::string("one"), Value::string("two"), Value::string("three")})});
  EXPECT_EQ(hexOf(g), "2289b18c" + word("40") + word("140") + word("2") + word("40") + word("a0") +
                          word("2") + word("1") + word("2") + word("1") + word("3") + word("3") +
                          word("60") + word("a0") + word("e0") + word("3") + rpad("6f6e65") +
                          word("3") + rpad("74776f") + word("5") + rpad("7468726565"));
}

TEST(Abi, DecodeInvertsEncode) {
  using abi::Type;
  using abi::Value;
  std::vector<Type> types = {Type::parse("int256"),      Type::parse("address"),
                             Type::parse("string"),      Type::parse("bytes32"),
                             Type::parse("uint256[][]"), Type::parse("(uint64,bytes)")};
  Address a{};
  a[19] = 0x42;
  Hash32 h{};
  h[0] = 0xee;
  std::vector<Value> values = {Value::int64(-7),
                               Value::address(a),
                               Value::string("héllo"),
                               Value::fixedBytes(h),
                               Value::list({Value::list({Value::uint(5)}), Value::list({})}),
                               Value::list({Value::uint(9), Value::bytesValue(Bytes(33, 1))})};
  Bytes enc = abi::encode(types, values);
  EXPECT_EQ(hexOf(Bytes(enc.begin(), enc.begin() + 32)), std::string(64, 'f').substr(0, 63) + "9");
  std::vector<Value> back = abi::decode(types, enc);
  ASSERT_EQ(back.size(), values.size());
  EXPECT_EQ(back[0].word.toSignedDecimal(), "-7");
  EXPECT_EQ(back[1].asAddress(), a);
  EXPECT_EQ(back[2].asString(), "héllo");
  EXPECT_EQ(back[3].asBytes32(), h);
  ASSERT_EQ(back[4].items.size(), 2u);
  EXPECT_EQ(back[4].items[0].items[0].word, U256(5));
  EXPECT_TRUE(back[4].items[1].items.empty());
  EXPECT_EQ(back[5].items[1].bytes, Bytes(33, 1));
  EXPECT_EQ(abi::format(types[4], back[4]), "[[5], []]");
}

TEST(Abi, RangeChecksAndMalformedData) {
  using abi::Type;
  using abi::Value;
  EXPECT_THROW(abi::encode({Type::parse("uint8")}, {Value::uint(256)}), InvalidArgument);
  EXPECT_NO_THROW(abi::encode({Type::parse("uint8")}, {Value::uint(255)}));
  EXPECT_THROW(abi::encode({Type::parse("int8")}, {Value::int64(128)}), InvalidArgument);
  EXPECT_NO_THROW(abi::encode({Type::parse("int8")}, {Value::int64(-128)}));
  EXPECT_THROW(abi::encode({Type::parse("bytes32")}, {Value::bytesValue(Bytes(31))}),
               InvalidArgument);
  EXPECT_THROW(Type::parse("uint7"), InvalidArgument);
  EXPECT_THROW(Type::parse("bytes33"), InvalidArgument);
  EXPECT_THROW(Type::parse("foo"), InvalidArgument);
  EXPECT_EQ(Type::parse("(uint256,bytes)[2][]").canonical(), "(uint256,bytes)[2][]");
  // An offset pointing past the end of return data is refused, not read.
  Bytes bad = fromHex("0x" + word("ff"));
  EXPECT_THROW(abi::decode({Type::parse("bytes")}, bad), ChainError);
  EXPECT_THROW(abi::decode({Type::parse("uint256")}, Bytes(31)), ChainError);
}

TEST(Abi, ParseValuesFromText) {
  using abi::Type;
  EXPECT_EQ(abi::parseValue(Type::parse("uint256"), "2ether", "--amount").word.toDecimal(),
            "2000000000000000000");
  EXPECT_EQ(abi::parseValue(Type::parse("int256"), "-3", "x").word.toSignedDecimal(), "-3");
  EXPECT_THROW(abi::parseValue(Type::parse("uint8"), "300", "x"), UsageError);
  EXPECT_THROW(abi::parseValue(Type::parse("bytes32"), "0x12", "--root"), UsageError);
  EXPECT_THROW(abi::parseValue(Type::parse("bool"), "yes", "x"), UsageError);
  auto arr = abi::parseValue(Type::parse("uint256[]"), "[1, \"0x2\"]", "x");
  ASSERT_EQ(arr.items.size(), 2u);
  EXPECT_EQ(arr.items[1].word, U256(2));
}

// Found by tests/fuzz/fuzz_abi: the decoder accepted bool words other than 0/1 and int<N> words
// that are not sign-extended N-bit values, which the encoder then refused. Like uint<N>, they
// are now malformed data.
TEST(Abi, DecodeRefusesBoolAndIntWordsOutOfRange) {
  using abi::Type;
  EXPECT_THROW(abi::decode({Type::parse("bool")}, fromHex(word("2"))), ChainError);
  EXPECT_TRUE(abi::decode({Type::parse("bool")}, fromHex(word("1")))[0].asBool());
  EXPECT_THROW(abi::decode({Type::parse("int8")}, fromHex(word("80"))), ChainError);  // 128
  const std::string minus_128 = std::string(62, 'f') + "80";
  const std::string minus_129 = std::string(62, 'f') + "7f";
  EXPECT_EQ(abi::decode({Type::parse("int8")}, fromHex(minus_128))[0].word.toSignedDecimal(),
            "-128");
  EXPECT_THROW(abi::decode({Type::parse("int8")}, fromHex(minus_129)), ChainError);
  EXPECT_EQ(
      abi::decode({Type::parse("int256")}, fromHex(std::string(64, 'f')))[0].word.toSignedDecimal(),
      "-1");
}

// Found by tests/fuzz/fuzz_contract: revert data Error(string) whose string is not UTF-8 made
// abi::format throw nlohmann's type_error out of decodeBuiltinError; it prints as U+FFFD now.
TEST(Abi, FormatPrintsStringsThatAreNotUtf8) {
  const abi::Type string_type = abi::Type::parse("string");
  EXPECT_EQ(abi::format(string_type, abi::Value::bytesValue({'o', 'k', 0xaa})),
            "\"ok\xEF\xBF\xBD\"");
  const auto sel = abi::selector("Error(string)");
  Bytes revert(sel.begin(), sel.end());
  const Bytes arg = abi::encode({string_type}, {abi::Value::bytesValue({0xff, 0xfe})});
  revert.insert(revert.end(), arg.begin(), arg.end());
  EXPECT_EQ(decodeBuiltinError(revert),
            std::optional<std::string>("Error(\"\xEF\xBF\xBD\xEF\xBF\xBD\")"));
}

// Found with tests/fuzz/fuzz_abi's type-name mode: a type name nested a few thousand levels deep
// overflowed the stack (parse, isDynamic, canonical all recurse); "()[999999][999999]" decoded
// 10^12 empty tuples without reading a byte; and offsets that all point at one array let 8 KB
// of return data decode to 60^4 values (a hang, then gigabytes).
TEST(Abi, NestingAndDecodedValuesAreBounded) {
  using abi::Type;
  EXPECT_THROW(Type::parse(std::string(40, '(') + "uint8" + std::string(40, ')')), InvalidArgument);
  EXPECT_NO_THROW(Type::parse(std::string(30, '(') + "uint8" + std::string(30, ')')));
  std::string deep = "uint8";
  for (int i = 0; i < 40; ++i) deep += "[1]";
  EXPECT_THROW(Type::parse(deep), InvalidArgument);
  EXPECT_THROW(Type::parse("()"), InvalidArgument);
  EXPECT_THROW(Type::parse("()[999999][999999]"), InvalidArgument);
  // uint8[][][][]: each array holds 60 offsets to the same next array.
  std::string hex = word("20");
  for (int level = 0; level < 4; ++level) {
    hex += word("3c");
    for (int i = 0; i < 60; ++i) hex += word(level < 3 ? "780" : "1");  // 0x780 = 60 x 32
  }
  EXPECT_THROW(abi::decode({Type::parse("uint8[][][][]")}, fromHex(hex)), ChainError);
  // What an encoder writes still decodes, however many values it holds.
  std::vector<abi::Value> rows;
  for (int i = 0; i < 50; ++i) {
    rows.push_back(abi::Value::list({abi::Value::uint(i), abi::Value::uint(i + 1)}));
  }
  const std::vector<Type> types = {Type::parse("uint8[2][]")};
  const Bytes encoded = abi::encode(types, {abi::Value::list(rows)});
  EXPECT_EQ(abi::decode(types, encoded)[0].items.size(), 50u);
}

}  // namespace
}  // namespace mlcp::bridge
