#include "verify/node_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/hex.h"
#include "base/sodium.h"

namespace mlcp::verify {

template <size_t N>
std::array<uint8_t, N> arrayFromHex(std::string_view hex, std::string_view what) {
  std::array<uint8_t, N> out{};
  hexDecodeInto(hex, out.data(), N, what);
  return out;
}
template std::array<uint8_t, 32> arrayFromHex<32>(std::string_view, std::string_view);
template std::array<uint8_t, 64> arrayFromHex<64>(std::string_view, std::string_view);

std::string defaultKeyPath() {
  if (const char* env = std::getenv("MLCP_KEY_FILE"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    throw UsageError("cannot find the default key file: neither MLCP_KEY_FILE nor HOME is set");
  }
  return std::string(home) + "/.config/mlcp/node.key";
}

KeyPair KeyPair::generate() {
  ensureSodium();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  KeyPair k = fromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

KeyPair KeyPair::fromSeed(const std::array<uint8_t, 32>& seed) {
  ensureSodium();
  KeyPair k;
  k.seed_ = seed;
  crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), k.seed_.data());
  return k;
}

KeyPair::KeyPair(const KeyPair& o) = default;
KeyPair& KeyPair::operator=(const KeyPair& o) = default;

KeyPair::~KeyPair() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_.data(), secret_.size());
}

KeyPair KeyPair::load(const std::string& path) {
  std::string pub_hex, seed_hex, field, value;
  for (auto& line : readPrivateFileLines(path, "mlcp keys new")) {
    if (!splitField(line, &field, &value)) {
      // A key file's contents are never echoed: they may be a secret, or binary garbage.
      throw UsageError(fmt::format(
          "key file {} is not an mlcp node key: it has a line that is not 'field: value' (expected "
          "'public:' and 'seed:' lines; `mlcp keys new` makes one)",
          path));
    }
    if (field == "public")
      pub_hex = value;
    else if (field == "seed")
      seed_hex = value;
    else
      throw UsageError(fmt::format(
          "key file {} is not an mlcp node key: it has a field other than 'public' and 'seed'",
          path));
    sodium_memzero(line.data(), line.size());
  }
  if (seed_hex.empty()) throw UsageError(fmt::format("key file {} has no 'seed:' line", path));
  std::array<uint8_t, 32> seed{};
  try {
    seed = arrayFromHex<32>(seed_hex, "the seed");
  } catch (const InvalidArgument& e) {
    throw UsageError(fmt::format("key file {}: {}", path, e.what()));
  }
  KeyPair k = fromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!pub_hex.empty() && pub_hex != k.publicKeyHex()) {
    throw UsageError(fmt::format(
        "key file {} is inconsistent: its 'public:' line {} is not the public key of its seed ({})",
        path, pub_hex, k.publicKeyHex()));
  }
  return k;
}

void KeyPair::save(const std::string& path, bool overwrite) const {
  // Written beside the target with mode 0600, fsynced, renamed over it: the key on disk is
  // never half-written, and never briefly readable by others.
  std::string text =
      fmt::format("# mlcp node key (ed25519). Keep this file private.\npublic: {}\nseed: {}\n",
                  publicKeyHex(), hexEncode(seed_.data(), seed_.size()));
  try {
    writeFileAtomic(path, text, 0600, overwrite, "key file");
  } catch (...) {
    sodium_memzero(text.data(), text.size());
    throw;
  }
  sodium_memzero(text.data(), text.size());
}

std::string KeyPair::publicKeyHex() const { return hexEncode(public_.data(), public_.size()); }

Signature KeyPair::sign(const void* message, size_t bytes) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, static_cast<const unsigned char*>(message), bytes,
                       secret_.data());
  return sig;
}

bool verifySignature(const PublicKey& key, const void* message, size_t bytes,
                     const Signature& signature) {
  ensureSodium();
  return crypto_sign_verify_detached(signature.data(), static_cast<const unsigned char*>(message),
                                     bytes, key.data()) == 0;
}

}  // namespace mlcp::verify
