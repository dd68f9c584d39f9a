#include "data/sentencepiece_module.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "base/error.h"

namespace mlcp::data::spm {
namespace {

constexpr const char* kFileName = "libmlcp-sentencepiece.so";

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("MLCP_SENTENCEPIECE_MODULE"); env && *env) {
    out.emplace_back(env);
    return out;  // an explicit choice is the only one
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / kFileName).string());
  out.push_back(std::string(MLCP_MODULE_BUILD_DIR) + "/" + kFileName);
  out.push_back(std::string(MLCP_MODULE_INSTALL_DIR) + "/" + kFileName);
  return out;
}

const Module* open() {
  std::string tried;
  for (const auto& path : candidates()) {
    if (!std::filesystem::exists(path)) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == nullptr) {
      throw UsageError(
          fmt::format("cannot load the SentencePiece module {}: {}", path, ::dlerror()));
    }
    // Kept open for the life of the process (its processors may live until exit).
    using Entry = const Module* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "mlcp_sentencepiece_module"));
    if (entry == nullptr || entry()->version != kModuleVersion) {
      throw UsageError(fmt::format(
          "{} is not a SentencePiece module of this build of mlcp (version {} expected)", path,
          kModuleVersion));
    }
    return entry();
  }
  throw UsageError(fmt::format(
      "the SentencePiece module {} is not installed (looked in {}); it is built with mlcp, or "
      "set MLCP_SENTENCEPIECE_MODULE to its path",
      kFileName, tried));
}

}  // namespace

const Module& sentencePiece() {
  static std::once_flag once;
  static const Module* module = nullptr;
  std::call_once(once, [] { module = open(); });
  return *module;
}

}  // namespace mlcp::data::spm
