#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"
#include "partition/mesh.h"

namespace mlcp::partition {
namespace {

const MeshDim kDims[] = {MeshDim::kData, MeshDim::kPipeline, MeshDim::kTensor};

TEST(Mesh, RoundTripAndGroupsForManyShapes) {
  for (int dp = 1; dp <= 4; ++dp) {
    for (int pp = 1; pp <= 4; ++pp) {
      for (int tp = 1; tp <= 4; ++tp) {
        MeshLayout m(MeshShape{dp, pp, tp}, dp * pp * tp);
        SCOPED_TRACE(m.shape().toString());
        std::set<std::tuple<int, int, int>> seen;
        for (int r = 0; r < m.size(); ++r) {
          MeshCoord c = m.coords(r);
          EXPECT_EQ(m.rank(c), r);
          seen.insert({c.dp, c.pp, c.tp});
          for (MeshDim d : kDims) {
            std::vector<int> g = m.group(d, r);
            ASSERT_EQ(static_cast<int>(g.size()), m.shape().extent(d));
            EXPECT_EQ(g[static_cast<size_t>(c.at(d))], r) << "rank " << r << " dim " << toString(d);
            SplitArgs sa = m.split(d, r);
            EXPECT_EQ(sa.key, c.at(d));
            for (size_t i = 0; i < g.size(); ++i) {
              MeshCoord o = m.coords(g[i]);
              // Members differ from r only along d, and share its color.
              for (MeshDim e : kDims) {
                if (e != d) {
                  EXPECT_EQ(o.at(e), c.at(e));
                }
              }
              EXPECT_EQ(o.at(d), static_cast<int>(i));
              EXPECT_EQ(m.split(d, g[i]).color, sa.color);
              EXPECT_EQ(m.group(d, g[i]), g);
            }
          }
        }
        EXPECT_EQ(static_cast<int>(seen.size()), m.size());
        // groups(dim) partitions the ranks; colors are 0..n-1.
        for (MeshDim d : kDims) {
          auto gs = m.groups(d);
          ASSERT_EQ(static_cast<int>(gs.size()), m.size() / m.shape().extent(d));
          std::vector<int> all;
          for (size_t color = 0; color < gs.size(); ++color) {
            for (int r : gs[color]) {
              all.push_back(r);
              EXPECT_EQ(m.split(d, r).color, static_cast<int>(color));
            }
          }
          std::sort(all.begin(), all.end());
          for (int r = 0; r < m.size(); ++r) EXPECT_EQ(all[static_cast<size_t>(r)], r);
        }
      }
    }
  }
}

TEST(Mesh, TensorGroupsAreNeighbouringRanks) {
  MeshLayout m(MeshShape{2, 2, 2});
  EXPECT_EQ(m.group(MeshDim::kTensor, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(m.group(MeshDim::kTensor, 5), (std::vector<int>{4, 5}));
  EXPECT_EQ(m.group(MeshDim::kPipeline, 0), (std::vector<int>{0, 2}));
  EXPECT_EQ(m.group(MeshDim::kData, 0), (std::vector<int>{0, 4}));
  EXPECT_EQ(m.coords(6), (MeshCoord{1, 1, 0}));
}

TEST(Mesh, WrongRankCountIsAUsageErrorWithTheNumbers) {
  try {
    MeshLayout m(MeshShape{2, 2, 1}, 3);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("2*2*1 = 4"), std::string::npos) << w;
    EXPECT_NE(w.find("3 were started"), std::string::npos) << w;
  }
  EXPECT_THROW(MeshLayout(MeshShape{0, 1, 1}), UsageError);
  EXPECT_THROW(MeshLayout(MeshShape{1, 1, 1}).coords(1), InvalidArgument);
}

TEST(Mesh, TablePrintsEveryRank) {
  MeshLayout m(MeshShape{1, 2, 2});
  std::string s = m.toString();
  EXPECT_NE(s.find("dp1 x pp2 x tp2 = 4 ranks"), std::string::npos) << s;
  EXPECT_NE(s.find("[2 3]"), std::string::npos) << s;  // tp group of ranks 2, 3
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2 + 4) << s;
}

}  // namespace
}  // namespace mlcp::partition
