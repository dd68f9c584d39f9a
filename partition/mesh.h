// The logical device mesh dp x pp x tp as plain data.
//
// Rank layout (documented in docs/partition.md): coordinates (dp, pp, tp) with tp varying
// fastest, then pp, then dp:
//
//   rank = (dp * PP + pp) * TP + tp
//
// so a tensor-parallel group sits on neighbouring ranks (same host, fastest links, as in
// Megatron), a pipeline replica (all pp x tp ranks of one dp index) is one contiguous block
// of ranks, and data-parallel peers are PP*TP ranks apart.
//
// MeshLayout has no communicators: it says which ranks form each group and gives, for every
// dimension, the (color, key) a rank passes to Communicator::split so that the resulting
// communicator contains exactly group(dim, rank), ordered by the coordinate along dim.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace mlcp::partition {

// The three parallel dimensions.
enum class MeshDim { kData = 0, kPipeline = 1, kTensor = 2 };
const char* toString(MeshDim dim);

struct MeshShape {
  int dp = 1;
  int pp = 1;
  int tp = 1;
  int size() const { return dp * pp * tp; }
  int extent(MeshDim dim) const;
  std::string toString() const;  // "dp2 x pp2 x tp1"
  bool operator==(const MeshShape& o) const { return dp == o.dp && pp == o.pp && tp == o.tp; }
};

struct MeshCoord {
  int dp = 0;
  int pp = 0;
  int tp = 0;
  int at(MeshDim dim) const;
  bool operator==(const MeshCoord& o) const { return dp == o.dp && pp == o.pp && tp == o.tp; }
};

// Arguments for Communicator::split: ranks with equal color land in one communicator,
// ordered by key.
struct SplitArgs {
  int color = 0;
  int key = 0;
};

class MeshLayout {
 public:
  // Throws UsageError when a dimension is < 1.
  explicit MeshLayout(MeshShape shape);
  // Throws UsageError naming the numbers when world_size != dp * pp * tp.
  MeshLayout(MeshShape shape, int world_size);

  const MeshShape& shape() const { return shape_; }
  int size() const { return shape_.size(); }

  // rank <-> coordinates; both throw InvalidArgument when out of range.
  MeshCoord coords(int rank) const;
  int rank(const MeshCoord& c) const;

  // The ranks that share every coordinate with `rank` except the one along `dim`, in order of
  // that coordinate (so group(dim, r)[coords(r).at(dim)] == r).
  std::vector<int> group(MeshDim dim, int rank) const;
  // Every group along `dim`, in order of their color.
  std::vector<std::vector<int>> groups(MeshDim dim) const;
  // color = index of the group (a function of the other two coordinates), key = coordinate
  // along dim.
  SplitArgs split(MeshDim dim, int rank) const;

  // A table: one line per rank with its coordinates and its three groups.
  std::string toString() const;

 private:
  MeshShape shape_;
};

}  // namespace mlcp::partition
