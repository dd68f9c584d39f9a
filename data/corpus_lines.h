// The documents of a text corpus for tokenizing, in a fixed order: the files of corpusFiles()
// (data/text_corpus.h) in name order, and in each file its lines, each without its '\n' — the
// unit `spm_encode` encodes, so `mlcp data prepare` and SentencePiece's own tool see the same
// text. A last line without a '\n' is a line; a file's final '\n' does not start another one.
// Reads one line at a time: a corpus is never held in memory whole.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace mlcp::data {

class CorpusLines {
 public:
  // Throws UsageError when `path` does not exist or holds no text files.
  explicit CorpusLines(const std::string& path);

  // The next line into `line`; false at the end of the corpus. Throws UsageError naming the
  // file when one cannot be opened, IoError when reading it fails.
  bool next(std::string* line);

  const std::vector<std::string>& files() const { return files_; }
  int64_t lines() const { return lines_; }
  int64_t bytes() const { return bytes_; }  // bytes of the lines read, '\n's included

 private:
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::ifstream in_;
  std::string current_;
  int64_t lines_ = 0, bytes_ = 0;
};

}  // namespace mlcp::data
