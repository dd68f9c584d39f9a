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

#include "runtime/error.h"

namespace mlcp::verify {
namespace {

void initSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw Error("libsodium failed to initialise (sodium_init)");
  });
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

void writeAllOrThrow(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw IoError(fmt::format("cannot write key file {}: {}", path, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string toHex(const uint8_t* data, size_t bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(2 * bytes, '0');
  for (size_t i = 0; i < bytes; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return s;
}

template <size_t N>
std::array<uint8_t, N> arrayFromHex(std::string_view hex, std::string_view what) {
  std::array<uint8_t, N> out{};
  size_t bin_len = 0;
  const char* end = nullptr;
  if (hex.size() != 2 * N ||
      sodium_hex2bin(out.data(), N, hex.data(), hex.size(), nullptr, &bin_len, &end) != 0 ||
      bin_len != N) {
    throw InvalidArgument(fmt::format("{} must be {} hex digits, got '{}'", what, 2 * N, hex));
  }
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
  initSodium();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  KeyPair k = fromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

KeyPair KeyPair::fromSeed(const std::array<uint8_t, 32>& seed) {
  initSodium();
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
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UsageError(fmt::format("cannot read key file {}: {} (create one with `mlcp keys new`)",
                                 path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode))
    throw UsageError(fmt::format("key file {} is not a regular file", path));
  if ((st.st_mode & 077) != 0) {
    throw UsageError(
        fmt::format("key file {} has mode {:04o}: it must not be accessible by group or others "
                    "(run `chmod 600 {}`)",
                    path, st.st_mode & 07777, path));
  }
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open key file {}", path));
  std::string line, pub_hex, seed_hex;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      throw UsageError(fmt::format("key file {} has a line without 'field:': '{}'", path, line));
    }
    std::string field = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (field == "public")
      pub_hex = value;
    else if (field == "seed")
      seed_hex = value;
    else
      throw UsageError(fmt::format("key file {} has an unknown field '{}'", path, field));
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
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec) && !overwrite) {
    throw UsageError(fmt::format("key file {} already exists (use --force to replace it)", path));
  }
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(fmt::format("cannot create folder {}: {}", parent.string(), ec.message()));
    ::chmod(parent.c_str(), 0700);
  }
  std::string text =
      fmt::format("# mlcp node key (ed25519). Keep this file private.\npublic: {}\nseed: {}\n",
                  publicKeyHex(), toHex(seed_.data(), seed_.size()));
  // 1. write a new 0600 file beside the target, 2. fsync it, 3. rename it over the target:
  //    the key on disk is never half-written, and never briefly readable by others.
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw IoError(fmt::format("cannot create key file {}: {}", tmp, std::strerror(errno)));
  try {
    writeAllOrThrow(fd, text, tmp);
    if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
      throw IoError(fmt::format("cannot fsync key file {}: {}", tmp, std::strerror(errno)));
    }
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    sodium_memzero(text.data(), text.size());
    throw;
  }
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!overwrite && fs::exists(path, ec)) {
    ::unlink(tmp.c_str());
    throw UsageError(fmt::format("key file {} already exists (use --force to replace it)", path));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(err)));
  }
}

std::string KeyPair::publicKeyHex() const { return toHex(public_.data(), public_.size()); }

Signature KeyPair::sign(const void* message, size_t bytes) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, static_cast<const unsigned char*>(message), bytes,
                       secret_.data());
  return sig;
}

bool verifySignature(const PublicKey& key, const void* message, size_t bytes,
                     const Signature& signature) {
  initSodium();
  return crypto_sign_verify_detached(signature.data(), static_cast<const unsigned char*>(message),
                                     bytes, key.data()) == 0;
}

}  // namespace mlcp::verify
