// A model described in the job file as a stack of mlcp's layers (model.kind "stack"):
//
//   [[model.stack]]
//   type = "conv"          # ConvBlock: 3x3 conv (pad 1) -> ReLU -> 2x2 maxpool (models/cnn.h)
//   channels = 16
//   [[model.stack]]
//   type = "dense"         # DenseLayer: Linear (-> ReLU), on the flattened input (models/mlp.h)
//   width = 128
//   activation = "relu"    # or "none"
//
// on 28x28 single-channel images, then a Linear head to the classes. The layers are the same
// classes the mlp and cnn kinds use, so a stack of dense layers is the mlp of those widths, bit
// for bit. jobs/job_validation.cc has already checked the order (conv before dense) and counts.
#pragma once

#include "models/layer_model.h"

namespace mlcp::models {

std::shared_ptr<LayerModel> buildLayerStack(const jobs::ModelSpec& spec, int64_t num_classes,
                                            Operators ops);

}  // namespace mlcp::models
