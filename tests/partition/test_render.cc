#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "base/error.h"
#include "partition/partitioner.h"
#include "partition/render.h"
#include "tests/common/test_util.h"

namespace mlcp::partition {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(Render, TimelinePngAndSvg) {
  mlcp::test::TempDir dir;
  Timeline t = simulate(oneFOneB(4, 8), uniformCosts(4, 1, 1, 2));
  renderTimeline(dir.file("t.png"), t);
  renderTimeline(dir.file("t.svg"), t);
  std::string png = slurp(dir.file("t.png"));
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  std::string svg = slurp(dir.file("t.svg"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_THROW(renderTimeline("/nonexistent-dir/t.png", t), IoError);
}

TEST(Render, PlanPicture) {
  mlcp::test::TempDir dir;
  PlanInput in;
  in.mesh = {2, 2, 2};
  in.layers.assign(8, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.micro_batches = 8;
  Plan p = makePlan(in);
  renderPlan(dir.file("plan.png"), p);
  EXPECT_EQ(slurp(dir.file("plan.png")).substr(1, 3), "PNG");
}

}  // namespace
}  // namespace mlcp::partition
