#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/error.h"
#include "verify/hash.h"

namespace mlcp::verify {
namespace {

TEST(Blake2b, KnownAnswers) {
  // BLAKE2b with a 32-byte digest (RFC 7693 parameter block, no key).
  EXPECT_EQ(blake2b256("").hex(),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(blake2b256("abc").hex(),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Blake2b, StreamingEqualsOneShot) {
  std::vector<uint8_t> data(100003);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  Blake2b256 h;
  size_t pos = 0;
  for (size_t piece : {0, 1, 127, 128, 129, 4096, 50000}) {
    h.update(data.data() + pos, piece);
    pos += piece;
  }
  h.update(data.data() + pos, data.size() - pos);
  EXPECT_EQ(h.finish(), blake2b256(data.data(), data.size()));
}

TEST(Hash256, HexRoundTrip) {
  Hash256 h = blake2b256("abc");
  EXPECT_EQ(Hash256::fromHex(h.hex()), h);
  std::string upper = h.hex();
  for (auto& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(Hash256::fromHex(upper), h);
  EXPECT_THROW(Hash256::fromHex("abc"), InvalidArgument);
  EXPECT_THROW(Hash256::fromHex(std::string(63, '0') + "g"), InvalidArgument);
}

TEST(DType, NamesAreStable) {
  EXPECT_STREQ(dtypeName(DType::kFloat32), "float32");
  EXPECT_STREQ(dtypeName(DType::kFloat64), "float64");
  EXPECT_STREQ(dtypeName(DType::kInt64), "int64");
  EXPECT_STREQ(dtypeName(DType::kInt32), "int32");
  EXPECT_STREQ(dtypeName(DType::kUInt8), "uint8");
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt64, DType::kInt32, DType::kUInt8}) {
    EXPECT_EQ(dtypeFromName(dtypeName(d)), d);
  }
  EXPECT_THROW(dtypeFromName("bfloat16"), InvalidArgument);
}

TEST(HashTensor, CanonicalHeaderLayout) {
  std::string h = canonicalTensorHeader(DType::kFloat32, {2, 3});
  std::string expected(
      "\x07"
      "float32",
      8);
  expected += std::string("\x02\0\0\0\0\0\0\0", 8);
  expected += std::string("\x02\0\0\0\0\0\0\0", 8);
  expected += std::string("\x03\0\0\0\0\0\0\0", 8);
  EXPECT_EQ(h, expected);
}

// The worked example of docs/checkpoint-format.md: float32 [2, 3] holding 0..5.
TEST(HashTensor, WorkedExampleIsStable) {
  const float values[6] = {0, 1, 2, 3, 4, 5};
  TensorView v{"w", DType::kFloat32, {2, 3}, values, sizeof(values)};
  std::string canonical = canonicalTensorHeader(v.dtype, v.shape) +
                          std::string(reinterpret_cast<const char*>(values), sizeof(values));
  EXPECT_EQ(hashTensor(v), blake2b256(canonical));
  EXPECT_EQ(hashTensor(v).hex(), "1b400175005d60078b97dbb97ba9cb99e316b947057f17216b0f337f34217477")
      << "the canonical tensor hash changed: every stored checkpoint root would change with it";
}

TEST(HashTensor, ShapeAndDtypeEnterTheHash) {
  const float values[6] = {0, 1, 2, 3, 4, 5};
  Hash256 a = hashTensor(TensorView{"w", DType::kFloat32, {2, 3}, values, sizeof(values)});
  Hash256 b = hashTensor(TensorView{"w", DType::kFloat32, {3, 2}, values, sizeof(values)});
  Hash256 c = hashTensor(TensorView{"w", DType::kFloat32, {6}, values, sizeof(values)});
  Hash256 d = hashTensor(TensorView{"w", DType::kInt32, {2, 3}, values, sizeof(values)});
  Hash256 e = hashTensor(TensorView{"other-name", DType::kFloat32, {2, 3}, values, sizeof(values)});
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  EXPECT_EQ(a, e) << "the name enters at the Merkle leaf, not the tensor hash";
}

TEST(HashTensor, ScalarsAndEmptyTensors) {
  int64_t step = 100;
  Hash256 scalar = hashTensor(TensorView{"step", DType::kInt64, {}, &step, 8});
  Hash256 vec1 = hashTensor(TensorView{"step", DType::kInt64, {1}, &step, 8});
  EXPECT_NE(scalar, vec1);
  Hash256 empty0 = hashTensor(TensorView{"e", DType::kFloat32, {0}, nullptr, 0});
  Hash256 empty1 = hashTensor(TensorView{"e", DType::kFloat32, {0, 4}, nullptr, 0});
  EXPECT_NE(empty0, empty1);
}

TEST(HashTensor, RejectsInconsistentViews) {
  float x[4] = {};
  EXPECT_THROW(hashTensor(TensorView{"x", DType::kFloat32, {5}, x, sizeof(x)}), InvalidArgument);
  EXPECT_THROW(hashTensor(TensorView{"x", DType::kFloat32, {-1}, x, 0}), InvalidArgument);
  EXPECT_THROW(hashTensor(TensorView{"x", DType::kFloat32, {4}, nullptr, 16}), InvalidArgument);
}

}  // namespace
}  // namespace mlcp::verify
