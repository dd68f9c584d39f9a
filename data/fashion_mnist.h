// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) from IDX files, plain or gzip-compressed, as shipped
// by Debian's dataset-fashion-mnist under /usr/share/datasets/fashion-mnist.
#pragma once

#include <string>

#include "data/dataset.h"

namespace mlcp::data {

// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. Images are scaled to [0,1] and
// normalised with the training set's mean and standard deviation (0.2860, 0.3530).
// train_limit/eval_limit > 0 keep only the first N samples. Throws UsageError naming the file
// when one is missing or malformed.
DataSplits loadFashionMnist(const std::string& dir, int64_t train_limit, int64_t eval_limit);

}  // namespace mlcp::data
