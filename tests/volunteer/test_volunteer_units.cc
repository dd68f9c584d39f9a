// The pure parts of volunteer computing: tensors cut into message chunks and put back together
// (an assembler that never writes outside what it allocated), the audit draw, and how a step's
// units are shared by speed.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "base/error.h"
#include "runtime/volunteer_coordinator.h"
#include "volunteer/audit_policy.h"
#include "volunteer/tensor_transfer.h"

namespace mlcp::volunteer {
namespace {

std::vector<std::vector<float>> sample() {
  std::vector<std::vector<float>> t = {std::vector<float>(10), std::vector<float>(0),
                                       std::vector<float>(7), std::vector<float>(1)};
  float x = 0;
  for (auto& v : t)
    for (auto& f : v) f = x++;
  return t;
}
const std::vector<std::vector<uint64_t>> kShapes = {{2, 5}, {0}, {7}, {}};

std::vector<TensorRef> refs(const std::vector<std::vector<float>>& t) {
  std::vector<TensorRef> r;
  for (size_t i = 0; i < t.size(); ++i) r.push_back({"t", kShapes[i], t[i].data(), t[i].size()});
  return r;
}

TEST(TensorTransfer, EveryBudgetRoundTrips) {
  const auto t = sample();
  for (uint64_t budget : {1, 2, 3, 6, 17, 1000}) {
    const auto chunks = splitTensors(refs(t), budget);
    TensorAssembler a(kShapes, "test tensors");
    for (size_t c = 0; c < chunks.size(); ++c) {
      uint64_t floats = 0;
      for (const auto& p : chunks[c]) floats += p.data.size();
      EXPECT_LE(floats, budget);
      EXPECT_FALSE(a.complete());
      auto pieces = chunks[c];
      a.add(static_cast<uint32_t>(c), static_cast<uint32_t>(chunks.size()), std::move(pieces));
    }
    ASSERT_TRUE(a.complete()) << "budget " << budget;
    EXPECT_EQ(a.take(), t) << "budget " << budget;
  }
}

TEST(TensorTransfer, TheAssemblerRefusesWhatAnHonestSenderNeverSends) {
  const auto t = sample();
  const auto chunks = splitTensors(refs(t), 4);
  ASSERT_GT(chunks.size(), 2u);
  const auto n = static_cast<uint32_t>(chunks.size());
  auto expectRefused = [&](auto mutate, const std::string& words) {
    TensorAssembler a(kShapes, "test tensors");
    try {
      mutate(a);
      FAIL() << "accepted: " << words;
    } catch (const CommError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expectRefused([&](TensorAssembler& a) { a.add(1, n, std::vector<TensorPiece>(chunks[1])); },
                "chunk 1 where chunk 0 was next");
  expectRefused(
      [&](TensorAssembler& a) {
        a.add(0, n, std::vector<TensorPiece>(chunks[0]));
        a.add(1, n + 1, std::vector<TensorPiece>(chunks[1]));
      },
      "chunk_count");
  expectRefused(
      [&](TensorAssembler& a) {
        auto p = chunks[0];
        p[0].shape = {5, 2};
        a.add(0, n, std::move(p));
      },
      "shape");
  expectRefused(
      [&](TensorAssembler& a) {
        auto p = chunks[0];
        p[0].data.resize(11);  // past the tensor's 10 elements
        a.add(0, n, std::move(p));
      },
      "past its 10 elements");
  expectRefused(
      [&](TensorAssembler& a) {
        auto p = chunks[0];
        p[0].offset = 3;
        a.add(0, n, std::move(p));
      },
      "offset 3");
  expectRefused([&](TensorAssembler& a) { a.add(0, 1, std::vector<TensorPiece>(chunks[0])); },
                "the last chunk leaves");
}

TEST(AuditPolicy, NewKeysInFullThenTheRateUnderASecret) {
  std::array<uint8_t, 32> secret{};
  secret[0] = 1;
  const AuditPolicy p(0.1, 3, secret);
  verify::PublicKey key{};
  key[5] = 9;
  for (int64_t correct = 0; correct < 3; ++correct) EXPECT_TRUE(p.audit(key, correct, 1, 0));
  int audited = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) audited += p.audit(key, 3, static_cast<uint64_t>(i / 8), i % 8);
  EXPECT_NEAR(static_cast<double>(audited) / n, 0.1, 0.01);
  // Another secret draws other units: the choice is the secret's, not the key's alone.
  secret[0] = 2;
  const AuditPolicy q(0.1, 3, secret);
  int same = 0;
  for (int i = 0; i < 2000; ++i) same += p.audit(key, 3, i, 0) == q.audit(key, 3, i, 0);
  EXPECT_LT(same, 1950);
  EXPECT_TRUE(AuditPolicy(1.0, 0, secret).audit(key, 100, 5, 5));
  EXPECT_NEAR(AuditPolicy::catchProbability(0.1, 10), 1 - std::pow(0.9, 10), 1e-12);
  EXPECT_THROW(AuditPolicy(0.0, 0), InvalidArgument);
}

TEST(ShareUnits, BySpeedWithAFloor) {
  using runtime::shareUnits;
  // Equal speeds, unknown ones count as rank 0's: rank 0 and 3 volunteers share 8 units.
  auto s = shareUnits(8, 10, {0, 0, 0});
  EXPECT_EQ(std::accumulate(s.begin(), s.end(), int64_t{0}), 6);
  for (auto x : s) EXPECT_EQ(x, 2);
  // A volunteer 40x slower than rank 0 gets none by speed, one with a floor of 1.
  EXPECT_EQ(shareUnits(4, 2000, {50}), (std::vector<int64_t>{0}));
  EXPECT_EQ(shareUnits(4, 2000, {50}, 1), (std::vector<int64_t>{1}));
  // A floor never hands out more units than there are.
  EXPECT_EQ(shareUnits(2, 1, {1, 1, 1}, 1), (std::vector<int64_t>{1, 1, 0}));
  // A fast volunteer takes most.
  s = shareUnits(10, 1, {9});
  EXPECT_EQ(s, (std::vector<int64_t>{9}));
  EXPECT_TRUE(shareUnits(0, 1, {1}) == (std::vector<int64_t>{0}));
  // Against 4 data-parallel ranks as fast as rank 0: an unmeasured volunteer counts as one rank
  // (16 units over 4 ranks + 4 volunteers: 2 each), a volunteer as fast as 4 ranks as those.
  s = shareUnits(16, 10, {0, 0, 0, 0}, 0, 4);
  EXPECT_EQ(s, (std::vector<int64_t>(4, 2)));
  EXPECT_EQ(shareUnits(16, 10, {40}, 0, 4), (std::vector<int64_t>{8}));
  EXPECT_EQ(shareUnits(16, 10, {1}, 0, 4), (std::vector<int64_t>{0}));
}

TEST(UnitsGivenUp, InProportionToTheRangesRankZeroLast) {
  using runtime::unitsGivenUp;
  auto sum = [](const std::vector<int64_t>& v) {
    return std::accumulate(v.begin(), v.end(), int64_t{0});
  };
  // Even ranges: the same from each; what does not divide comes from the higher ranks first.
  EXPECT_EQ(unitsGivenUp({4, 4}, 4), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(unitsGivenUp({4, 4}, 3), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(unitsGivenUp({4, 4, 4}, 1), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(unitsGivenUp({4, 4, 4}, 2), (std::vector<int64_t>{0, 1, 1}));
  // Uneven ranges (a heterogeneous placement): in proportion, so every rank's step shrinks
  // alike.
  EXPECT_EQ(unitsGivenUp({6, 2}, 4), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(unitsGivenUp({9, 3, 0}, 8), (std::vector<int64_t>{6, 2, 0}));
  // Never more than a range holds, nor than there are; nothing for nothing.
  EXPECT_EQ(unitsGivenUp({3, 1}, 99), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(unitsGivenUp({2, 2}, 0), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(unitsGivenUp({}, 3), (std::vector<int64_t>{}));
  for (int64_t given = 0; given <= 13; ++given) {
    const std::vector<int64_t> ranges{5, 1, 4, 3};
    const auto out = unitsGivenUp(ranges, given);
    EXPECT_EQ(sum(out), given);
    for (size_t r = 0; r < ranges.size(); ++r) EXPECT_LE(out[r], ranges[r]) << given;
  }
}

}  // namespace
}  // namespace mlcp::volunteer
