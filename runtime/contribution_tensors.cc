#include "runtime/contribution_tensors.h"

namespace mlcp::runtime {

std::vector<std::vector<float>> contributionTensors(const std::vector<torch::Tensor>& params,
                                                    float loss) {
  std::vector<std::vector<float>> out;
  out.reserve(params.size() + 1);
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (!g.defined()) {
      out.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    } else {
      const auto c = g.contiguous();
      out.emplace_back(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    }
  }
  out.push_back({loss});
  return out;
}

}  // namespace mlcp::runtime
