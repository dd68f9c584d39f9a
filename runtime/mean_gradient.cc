#include "runtime/mean_gradient.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "base/error.h"

namespace mlcp::runtime {

MeanGradient::MeanGradient(ModelState& state, collectives::Communicator& dp, int64_t first,
                           int64_t end)
    : state_(state),
      units_(static_cast<size_t>(std::max<int64_t>(end - first, 0))),
      kept_(units_.size(), std::vector<torch::Tensor>(state.owned().size())),
      sum_(dp, state.ownedSizes()) {
  std::iota(units_.begin(), units_.end(), first);
}

void MeanGradient::setUnits(std::vector<int64_t> units) {
  if (units == units_) return;
  units_ = std::move(units);
  kept_.assign(units_.size(), std::vector<torch::Tensor>(state_.owned().size()));
}

std::vector<torch::Tensor>& MeanGradient::slot(int64_t j) {
  const auto it = std::find(units_.begin(), units_.end(), j);
  if (it == units_.end()) {
    throw InvalidArgument(
        fmt::format("MeanGradient: micro-batch {} is not one of this step's here", j));
  }
  return kept_[static_cast<size_t>(it - units_.begin())];
}

void MeanGradient::keep(int64_t j, const std::vector<int64_t>& which) {
  auto& kept = slot(j);
  for (int64_t k : which) {
    const auto& p = state_.owned()[static_cast<size_t>(k)].second;
    const auto& g = p.grad();
    kept[static_cast<size_t>(k)] = g.defined() ? g.contiguous() : torch::zeros_like(p);
  }
}

void MeanGradient::keepTensors(int64_t j, std::vector<torch::Tensor> grads) {
  require(grads.size() == state_.owned().size(),
          "MeanGradient::keepTensors: one tensor per owned parameter");
  for (size_t k = 0; k < grads.size(); ++k) {
    require(grads[k].is_contiguous() && grads[k].scalar_type() == torch::kFloat32 &&
                grads[k].numel() == state_.owned()[k].second.numel(),
            "MeanGradient::keepTensors: a tensor of the wrong size or type");
  }
  slot(j) = std::move(grads);
}

std::vector<const float*> MeanGradient::pointers(int64_t j) {
  std::vector<const float*> ptrs;
  for (auto& g : slot(j)) ptrs.push_back(g.data_ptr<float>());
  return ptrs;
}

void MeanGradient::stream(int64_t j) { sum_.add(pointers(j)); }

bool MeanGradient::reduce(int64_t total, bool streaming,
                          const collectives::CollectiveOptions& opts) {
  // The mean goes into each .grad tensor: in place over the last micro-batch's gradient (the
  // reduction allows it), or a new one where this rank ran no micro-batch.
  std::vector<float*> mean;
  for (const auto& entry : state_.owned()) {
    torch::Tensor p = entry.second;  // a handle: its .grad is the parameter's
    auto& g = p.mutable_grad();
    if (!g.defined() || !g.is_contiguous())
      g = torch::empty_like(p, torch::MemoryFormat::Contiguous);
    mean.push_back(g.data_ptr<float>());
  }
  const double scale = 1.0 / static_cast<double>(total);
  if (!streaming) {
    std::vector<std::vector<const float*>> local;
    for (int64_t j : units_) local.push_back(pointers(j));
    return sum_.reduce(local, total, scale, mean, opts);
  }
  const auto last = units_.empty() ? std::vector<const float*>{} : pointers(units_.back());
  return sum_.reduceAdded(last, total, scale, mean, opts);
}

}  // namespace mlcp::runtime
