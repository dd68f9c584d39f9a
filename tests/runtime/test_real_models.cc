// The example jobs reach their quality bars on the real data, trained on 2 ranks:
// the Fashion-MNIST MLP >= 87% test accuracy; the fortunes GPT's held-out loss well below the
// unigram entropy of the bytes.
#include <gtest/gtest.h>

#include <regex>

#include "tests/common/test_util.h"

namespace mlcp::test {
namespace {

double captured(const std::string& output, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(pattern))) return -1;
  return std::stod(m[1]);
}

TEST(RealModels, FashionMnistMlpReaches87PercentTestAccuracy) {
  TempDir dir;
  const auto r = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + sourceDir() +
                            "/jobs/fashion_mnist_mlp.toml --no-progress --output " + dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double acc = captured(r.output, "held-out accuracy ([0-9.]+)%");
  EXPECT_GE(acc, 87.0) << r.output;
  const auto s = captured(r.output, R"(held-out accuracy [0-9.]+% \(([0-9]+) samples\))");
  EXPECT_EQ(s, 10000) << "evaluated on the whole real test set";
}

TEST(RealModels, FortunesGptLossFallsWellBelowUnigramEntropy) {
  TempDir dir;
  const auto r = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + sourceDir() +
                            "/jobs/gpt_fortunes.toml --no-progress --output " + dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double entropy = captured(r.output, "unigram entropy of the training bytes ([0-9.]+) nats");
  const double loss = captured(r.output, "held-out loss ([0-9.]+)");
  ASSERT_GT(entropy, 0) << r.output;
  EXPECT_LT(loss, entropy - 0.6) << r.output;
}

}  // namespace
}  // namespace mlcp::test
