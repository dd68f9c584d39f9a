#include "data/dataset.h"

#include "base/error.h"
#include "data/token_data.h"

namespace mlcp::data {

int64_t classCount(const std::string& kind, const std::string& path) {
  if (kind == "fashion-mnist") return 10;
  if (kind == "text") return 256;  // byte-level vocabulary
  if (kind == "tokens") {
    if (path.empty()) {
      throw UsageError(
          "data.kind \"tokens\" keeps its vocabulary size in the prepared data: "
          "its data.path is needed to read it");
    }
    return TokenManifest::read(path).vocab_size;
  }
  throw UsageError("data.kind '" + kind + "' is not one of fashion-mnist, text, tokens");
}

}  // namespace mlcp::data
