#include "data/corpus_lines.h"

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "data/text_corpus.h"

namespace mlcp::data {

CorpusLines::CorpusLines(const std::string& path) : files_(corpusFiles(path)) {}

bool CorpusLines::next(std::string* line) {
  while (true) {
    if (in_.is_open()) {
      if (std::getline(in_, *line)) {
        ++lines_;
        bytes_ += static_cast<int64_t>(line->size()) + (in_.eof() ? 0 : 1);
        return true;
      }
      if (in_.bad()) {
        throw IoError("cannot read text file " + current_ + ": " + std::strerror(errno));
      }
      in_.close();
    }
    if (next_file_ == files_.size()) return false;
    current_ = files_[next_file_++];
    in_.clear();
    in_.open(current_, std::ios::binary);
    if (!in_) throw UsageError("cannot read text file " + current_);
  }
}

}  // namespace mlcp::data
