// The tensors of one unit's contribution, as a volunteer sends them and the coordinator
// recomputes them (volunteer/contribution.h hashes and signs exactly these): each parameter's
// .grad in parameter order — zeros where the micro-batch left none — then the loss as one float32.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace mlcp::runtime {

std::vector<std::vector<float>> contributionTensors(const std::vector<torch::Tensor>& params,
                                                    float loss);

}  // namespace mlcp::runtime
