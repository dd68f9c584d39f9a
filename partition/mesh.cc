#include "partition/mesh.h"

#include <fmt/format.h>

#include "base/error.h"

namespace mlcp::partition {

const char* toString(MeshDim dim) {
  switch (dim) {
    case MeshDim::kData:
      return "dp";
    case MeshDim::kPipeline:
      return "pp";
    case MeshDim::kTensor:
      return "tp";
  }
  return "?";
}

int MeshShape::extent(MeshDim dim) const {
  switch (dim) {
    case MeshDim::kData:
      return dp;
    case MeshDim::kPipeline:
      return pp;
    case MeshDim::kTensor:
      return tp;
  }
  return 0;
}

std::string MeshShape::toString() const { return fmt::format("dp{} x pp{} x tp{}", dp, pp, tp); }

int MeshCoord::at(MeshDim dim) const {
  switch (dim) {
    case MeshDim::kData:
      return dp;
    case MeshDim::kPipeline:
      return pp;
    case MeshDim::kTensor:
      return tp;
  }
  return 0;
}

MeshLayout::MeshLayout(MeshShape shape) : shape_(shape) {
  if (shape.dp < 1 || shape.pp < 1 || shape.tp < 1) {
    throw UsageError(fmt::format("mesh {}: every dimension must be at least 1", shape.toString()));
  }
}

MeshLayout::MeshLayout(MeshShape shape, int world_size) : MeshLayout(shape) {
  if (world_size != shape.size()) {
    throw UsageError(
        fmt::format("mesh {} needs dp*pp*tp = {}*{}*{} = {} ranks, but {} were started",
                    shape.toString(), shape.dp, shape.pp, shape.tp, shape.size(), world_size));
  }
}

MeshCoord MeshLayout::coords(int rank) const {
  require(rank >= 0 && rank < size(),
          fmt::format("rank {} outside mesh {} of {} ranks", rank, shape_.toString(), size()));
  MeshCoord c;
  c.tp = rank % shape_.tp;
  c.pp = (rank / shape_.tp) % shape_.pp;
  c.dp = rank / (shape_.tp * shape_.pp);
  return c;
}

int MeshLayout::rank(const MeshCoord& c) const {
  require(c.dp >= 0 && c.dp < shape_.dp && c.pp >= 0 && c.pp < shape_.pp && c.tp >= 0 &&
              c.tp < shape_.tp,
          fmt::format("coordinates (dp {}, pp {}, tp {}) outside mesh {}", c.dp, c.pp, c.tp,
                      shape_.toString()));
  return (c.dp * shape_.pp + c.pp) * shape_.tp + c.tp;
}

std::vector<int> MeshLayout::group(MeshDim dim, int r) const {
  MeshCoord c = coords(r);
  std::vector<int> out;
  for (int i = 0; i < shape_.extent(dim); ++i) {
    MeshCoord k = c;
    if (dim == MeshDim::kData) k.dp = i;
    if (dim == MeshDim::kPipeline) k.pp = i;
    if (dim == MeshDim::kTensor) k.tp = i;
    out.push_back(rank(k));
  }
  return out;
}

SplitArgs MeshLayout::split(MeshDim dim, int r) const {
  MeshCoord c = coords(r);
  SplitArgs s;
  s.key = c.at(dim);
  // color: the linear index of the two other coordinates, in (dp, pp, tp) order.
  switch (dim) {
    case MeshDim::kData:
      s.color = c.pp * shape_.tp + c.tp;
      break;
    case MeshDim::kPipeline:
      s.color = c.dp * shape_.tp + c.tp;
      break;
    case MeshDim::kTensor:
      s.color = c.dp * shape_.pp + c.pp;
      break;
  }
  return s;
}

std::vector<std::vector<int>> MeshLayout::groups(MeshDim dim) const {
  int n = size() / shape_.extent(dim);
  std::vector<std::vector<int>> out(static_cast<size_t>(n));
  for (int r = 0; r < size(); ++r) {
    SplitArgs s = split(dim, r);
    if (out[static_cast<size_t>(s.color)].empty())
      out[static_cast<size_t>(s.color)] = group(dim, r);
  }
  return out;
}

static std::string joinRanks(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string MeshLayout::toString() const {
  std::string out =
      fmt::format("mesh {} = {} ranks (tp fastest, then pp, then dp)\n", shape_.toString(), size());
  out += fmt::format("{:>5} {:>3} {:>3} {:>3}  {:<16} {:<16} {:<16}\n", "rank", "dp", "pp", "tp",
                     "dp-group", "pp-group", "tp-group");
  for (int r = 0; r < size(); ++r) {
    MeshCoord c = coords(r);
    out += fmt::format("{:>5} {:>3} {:>3} {:>3}  {:<16} {:<16} {:<16}\n", r, c.dp, c.pp, c.tp,
                       joinRanks(group(MeshDim::kData, r)), joinRanks(group(MeshDim::kPipeline, r)),
                       joinRanks(group(MeshDim::kTensor, r)));
  }
  return out;
}

}  // namespace mlcp::partition
