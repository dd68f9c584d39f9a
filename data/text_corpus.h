// A byte-level text corpus for language modelling. Vocabulary: the 256 byte values (no
// tokenizer to ship or download). Example i of a split is the window of context+1 bytes starting
// at i*context; input = bytes [0, context), target = bytes [1, context+1).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace mlcp::data {

constexpr int64_t kByteVocabulary = 256;

// The files of a text corpus in its fixed document order: `path` itself when it is a file; for
// a directory its regular files in name order, skipping hidden files, the fortune index files
// (*.dat), their *.u8 links and symlinks. Throws UsageError when `path` does not exist or the
// directory holds no such file. (`mlcp data prepare` reads a corpus the same way.)
std::vector<std::string> corpusFiles(const std::string& path);

// `path` is a text file or a directory; in a directory every regular file is read in name order,
// skipping hidden files and the fortune index files (*.dat) and their *.u8 links. The last
// `holdout_fraction` of the bytes is the held-out split. Also computes the unigram byte entropy
// of the training split: the loss of the best model that ignores context.
DataSplits loadTextCorpus(const std::string& path, int64_t context, double holdout_fraction,
                          int64_t train_limit, int64_t eval_limit);

}  // namespace mlcp::data
