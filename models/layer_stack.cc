#include "models/layer_stack.h"

#include "jobs/job_spec.h"
#include "models/cnn.h"
#include "models/mlp.h"

namespace mlcp::models {

std::shared_ptr<LayerModel> buildLayerStack(const jobs::ModelSpec& spec, int64_t num_classes,
                                            Operators ops) {
  std::vector<std::shared_ptr<Layer>> layers;
  int64_t channels = 1, size = 28;  // the image, until the first dense layer flattens it
  int64_t features = 0;             // > 0 once flattened
  for (const jobs::StackLayerSpec& l : spec.stack) {
    if (l.type == "conv") {
      layers.push_back(std::make_shared<ConvBlock>(channels, l.width, size, ops));
      channels = l.width;
      size /= 2;
    } else {
      const int64_t in = features > 0 ? features : channels * size * size;
      layers.push_back(std::make_shared<DenseLayer>(in, l.width, l.relu, ops));
      features = l.width;
    }
  }
  const int64_t in = features > 0 ? features : channels * size * size;
  layers.push_back(std::make_shared<DenseLayer>(in, num_classes, false, ops));
  return std::make_shared<LayerModel>("stack", std::move(layers), ops);
}

}  // namespace mlcp::models
