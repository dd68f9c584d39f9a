// SentencePiece, loaded in isolation. Debian's libsentencepiece carries its own copy of
// protobuf-lite 3.14 and exports it; LibTorch loads the full libprotobuf 3.21. Linked into one
// binary, one of the two binds to the other's protobuf symbols and the process dies before
// main (libprotobuf's initialisers in sentencepiece's MergeFromImpl: SIGSEGV) or at the first
// model (sentencepiece's version check against libprotobuf 3.21: "compiled against version
// 3.14.0 ... not compatible"). So SentencePiece lives in a module of its own,
// libmlcp-sentencepiece.so (data/sentencepiece_plugin.cc), opened with RTLD_LOCAL |
// RTLD_DEEPBIND: its symbols stay out of the process's search scope and it resolves its own
// first. Nothing else may link libsentencepiece.
//
// The module is looked for, in order: $MLCP_SENTENCEPIECE_MODULE (a file), next to the running
// executable, in the build tree that built this library, in the installed library folder
// (<libdir>/mlcp). ASan refuses RTLD_DEEPBIND: sanitizer builds cannot tokenize (the
// sanitizer-labelled tests do not).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mlcp::data::spm {

// Bumped when Module changes; the loader refuses a module of another version.
constexpr int kModuleVersion = 1;

// The corpus lines a trainer reads: next() sets `line` and returns true, or returns false at the
// end; on a failure it sets `error` and returns false.
struct LineSource {
  void* context = nullptr;
  bool (*next)(void* context, std::string* line, std::string* error) = nullptr;
};

// The module's functions. Errors come back as SentencePiece's message in `error`.
struct Module {
  int version;
  // A processor of a serialized model, or nullptr.
  void* (*load)(const std::string& model, std::string* error);
  void (*destroy)(void* processor);
  int (*pieceSize)(const void* processor);
  int (*eosId)(const void* processor);
  // Thread-safe: SentencePiece's Encode is const.
  bool (*encode)(const void* processor, std::string_view text, std::vector<int>* ids,
                 std::string* error);
  // SentencePieceTrainer::Train with `args`, its sampling generator seeded with `seed`.
  bool (*train)(const std::unordered_map<std::string, std::string>& args, unsigned seed,
                LineSource lines, std::string* model, std::string* error);
};

// The module, opened once per process. Throws UsageError naming every place it looked, or
// dlopen's message.
const Module& sentencePiece();

}  // namespace mlcp::data::spm

// The module's one entry point.
extern "C" const mlcp::data::spm::Module* mlcp_sentencepiece_module();
