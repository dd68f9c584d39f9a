// The real data sets load from Debian's packages: Fashion-MNIST (dataset-fashion-mnist) and the
// fortunes text corpus; batches are built from explicit indices.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "data/fashion_mnist.h"
#include "data/text_corpus.h"
#include "tests/common/test_util.h"

namespace {
const char* kFashion = "/usr/share/datasets/fashion-mnist";
const char* kFortunes = "/usr/share/games/fortunes";
}  // namespace

TEST(FashionMnist, LoadsTheRealDataSet) {
  auto s = mlcp::data::loadFashionMnist(kFashion, 0, 0);
  EXPECT_EQ(s.train->size(), 60000);
  EXPECT_EQ(s.eval->size(), 10000);
  EXPECT_EQ(s.num_classes, 10);
  auto b = s.train->batch({0, 1, 59999});
  EXPECT_EQ(b.input.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  EXPECT_EQ(b.target.sizes(), (std::vector<int64_t>{3}));
  EXPECT_GE(b.target.min().item<int64_t>(), 0);
  EXPECT_LE(b.target.max().item<int64_t>(), 9);
  // Normalised with the training set's statistics: mean ~0, std ~1 over many images.
  auto many = s.train->batch([] {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < 2000; ++i) v.push_back(i);
    return v;
  }());
  EXPECT_NEAR(many.input.mean().item<double>(), 0.0, 0.05);
  EXPECT_NEAR(many.input.std().item<double>(), 1.0, 0.05);
}

TEST(FashionMnist, LimitKeepsTheFirstSamples) {
  auto all = mlcp::data::loadFashionMnist(kFashion, 0, 0);
  auto few = mlcp::data::loadFashionMnist(kFashion, 100, 50);
  EXPECT_EQ(few.train->size(), 100);
  EXPECT_EQ(few.eval->size(), 50);
  EXPECT_TRUE(torch::equal(all.train->batch({7}).input, few.train->batch({7}).input));
}

TEST(FashionMnist, MissingDirectoryNamesTheFile) {
  mlcp::test::TempDir dir;
  try {
    mlcp::data::loadFashionMnist(dir.path(), 0, 0);
    FAIL() << "expected UsageError";
  } catch (const mlcp::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte"), std::string::npos) << e.what();
  }
}

TEST(FashionMnist, CorruptFileIsRefused) {
  mlcp::test::TempDir dir;
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    mlcp::test::writeFile(dir.file(f), "not an idx file at all");
  }
  EXPECT_THROW(mlcp::data::loadFashionMnist(dir.path(), 0, 0), mlcp::UsageError);
}

TEST(TextCorpus, FortunesWindowsAndEntropy) {
  auto s = mlcp::data::loadTextCorpus(kFortunes, 64, 0.05, 0, 0);
  EXPECT_EQ(s.num_classes, 256);
  EXPECT_GT(s.train->size(), 30000);
  EXPECT_GT(s.eval->size(), 1000);
  // English text: byte unigram entropy between 3 and 3.5 nats.
  EXPECT_GT(s.unigram_entropy_nats, 3.0);
  EXPECT_LT(s.unigram_entropy_nats, 3.5);
  auto b = s.train->batch({0, 5});
  EXPECT_EQ(b.input.sizes(), (std::vector<int64_t>{2, 64}));
  // The target is the input shifted by one byte.
  EXPECT_TRUE(torch::equal(b.input[0].slice(0, 1, 64), b.target[0].slice(0, 0, 63)));
}

TEST(TextCorpus, SingleFileAndHoldoutSplit) {
  mlcp::test::TempDir dir;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  mlcp::test::writeFile(dir.file("t.txt"), text);
  auto s = mlcp::data::loadTextCorpus(dir.file("t.txt"), 16, 0.1, 0, 0);
  EXPECT_EQ(s.train->size(), (static_cast<int64_t>(text.size() * 0.9 + 0.5) - 1) / 16);
  EXPECT_THROW(mlcp::data::loadTextCorpus(dir.file("missing.txt"), 16, 0.1, 0, 0),
               mlcp::UsageError);
}
