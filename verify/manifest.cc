#include "verify/manifest.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <type_traits>

#include "base/error.h"
#include "base/hex.h"
#include "verify/merkle.h"

namespace mlcp::verify {
namespace {

using nlohmann::json;

// nlohmann converts a float to an integer with a cast that is undefined out of range, and
// wraps integers that do not fit: an integer field must be a JSON integer in T's range.
template <typename T>
void requireInteger(const json& v, const char* key, const char* where) {
  const bool fits = v.is_number_unsigned()
                        ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                        : v.is_number_integer() &&
                              v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                              v.get<int64_t>() <= std::numeric_limits<T>::max();
  if (!fits) {
    throw VerificationError(
        fmt::format("{}: field '{}' must be an integer of at most {} bits, got {}", where, key,
                    8 * sizeof(T), v.dump()));
  }
}

template <typename T>
T field(const json& j, const char* key, const char* where) {
  auto it = j.find(key);
  if (it == j.end()) throw VerificationError(fmt::format("{} has no field '{}'", where, key));
  if constexpr (std::is_integral_v<T>) requireInteger<T>(*it, key, where);
  if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (it->is_array()) {
      for (const json& v : *it) requireInteger<int64_t>(v, key, where);
    }
  }
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    throw VerificationError(
        fmt::format("{}: field '{}' has the wrong type ({})", where, key, e.what()));
  }
}

std::string dump(const json& j, int indent) {
  try {
    return j.dump(indent);
  } catch (const json::exception& e) {
    throw InvalidArgument(fmt::format("manifest cannot be serialised as JSON: {}", e.what()));
  }
}

json manifestJson(const CheckpointManifest& m, bool with_signature) {
  std::vector<TensorEntry> sorted = m.tensors;
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  json tensors = json::array();
  for (const auto& e : sorted) tensors.push_back(toJson(e));
  json j = json::object();
  j["format_version"] = m.format_version;
  j["step"] = m.step;
  j["job_spec_text"] = m.job_spec_text;
  j["plan_text"] = m.plan_text;
  if (m.format_version >= 2) {
    j["job_path"] = m.job_path;
    j["data_hash"] = m.data_hash;
  }
  if (m.format_version >= 3) j["ops"] = m.ops;
  j["tensors"] = std::move(tensors);
  j["root"] = m.root.hex();
  j["signer_public_key"] = m.signer_public_key;
  if (with_signature) j["signature"] = m.signature;
  return j;
}

}  // namespace

json toJson(const TensorEntry& e) {
  return json{{"name", e.name},   {"dtype", dtypeName(e.dtype)},
              {"shape", e.shape}, {"hash", e.hash.hex()},
              {"file", e.file},   {"dataset", e.dataset}};
}

TensorEntry tensorEntryFromJson(const json& j) {
  if (!j.is_object()) throw VerificationError("a manifest tensor entry is not a JSON object");
  TensorEntry e;
  e.name = field<std::string>(j, "name", "a manifest tensor entry");
  std::string where = fmt::format("manifest entry for tensor '{}'", e.name);
  try {
    e.dtype = dtypeFromName(field<std::string>(j, "dtype", where.c_str()));
    e.hash = Hash256::fromHex(field<std::string>(j, "hash", where.c_str()));
  } catch (const InvalidArgument& ex) {
    throw VerificationError(fmt::format("{}: {}", where, ex.what()));
  }
  e.shape = field<std::vector<int64_t>>(j, "shape", where.c_str());
  try {
    numElements(e.shape);
  } catch (const InvalidArgument& ex) {
    throw VerificationError(fmt::format("{}: {}", where, ex.what()));
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "dtype" && key != "shape" && key != "hash" && key != "file" &&
        key != "dataset") {
      throw VerificationError(fmt::format("{} has an unknown field '{}'", where, key));
    }
  }
  e.file = field<std::string>(j, "file", where.c_str());
  e.dataset = field<std::string>(j, "dataset", where.c_str());
  return e;
}

std::string encodeEntries(const std::vector<TensorEntry>& entries) {
  json a = json::array();
  for (const auto& e : entries) a.push_back(toJson(e));
  return dump(a, -1);
}

std::vector<TensorEntry> decodeEntries(const std::string& text) {
  json a;
  try {
    a = json::parse(text);
  } catch (const json::exception& e) {
    throw VerificationError(fmt::format("tensor entries are not valid JSON: {}", e.what()));
  }
  if (!a.is_array()) throw VerificationError("tensor entries are not a JSON array");
  std::vector<TensorEntry> out;
  for (const auto& j : a) out.push_back(tensorEntryFromJson(j));
  return out;
}

std::string CheckpointManifest::signedBytes() const { return dump(manifestJson(*this, false), -1); }

std::string CheckpointManifest::toJson(int indent) const {
  return dump(manifestJson(*this, true), indent) + (indent >= 0 ? "\n" : "");
}

CheckpointManifest CheckpointManifest::fromJson(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw VerificationError(fmt::format("manifest is not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) throw VerificationError("manifest is not a JSON object");
  // Fields the signature does not cover would be unauthenticated: refuse any unknown one.
  for (const auto& [key, value] : j.items()) {
    static const char* kKnown[] = {
        "format_version", "step", "job_spec_text",     "plan_text", "job_path", "data_hash", "ops",
        "tensors",        "root", "signer_public_key", "signature"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      throw VerificationError(fmt::format("manifest has an unknown field '{}'", key));
    }
  }
  CheckpointManifest m;
  m.format_version = field<int>(j, "format_version", "manifest");
  if (m.format_version < 1 || m.format_version > kManifestFormatVersion) {
    throw VerificationError(fmt::format("manifest has format_version {}, this build reads 1 to {}",
                                        m.format_version, kManifestFormatVersion));
  }
  m.step = field<int64_t>(j, "step", "manifest");
  m.job_spec_text = field<std::string>(j, "job_spec_text", "manifest");
  m.plan_text = field<std::string>(j, "plan_text", "manifest");
  if (m.format_version >= 2) {
    m.job_path = field<std::string>(j, "job_path", "manifest");
    m.data_hash = field<std::string>(j, "data_hash", "manifest");
  } else if (j.contains("job_path") || j.contains("data_hash")) {
    throw VerificationError("a version 1 manifest has a field of version 2");
  }
  if (m.format_version >= 3) {
    m.ops = field<std::string>(j, "ops", "manifest");
  } else if (j.contains("ops")) {
    throw VerificationError(
        fmt::format("a version {} manifest has a field of version 3 (ops)", m.format_version));
  }
  auto tensors = field<json>(j, "tensors", "manifest");
  if (!tensors.is_array()) throw VerificationError("manifest field 'tensors' is not an array");
  for (const auto& t : tensors) m.tensors.push_back(tensorEntryFromJson(t));
  try {
    m.root = Hash256::fromHex(field<std::string>(j, "root", "manifest"));
  } catch (const InvalidArgument& e) {
    throw VerificationError(fmt::format("manifest field 'root': {}", e.what()));
  }
  m.signer_public_key = field<std::string>(j, "signer_public_key", "manifest");
  m.signature = field<std::string>(j, "signature", "manifest");
  return m;
}

std::string CheckpointManifest::jobPath() const {
  if (format_version >= 2) return job_path;
  const auto pos = plan_text.rfind("; source ");
  return pos == std::string::npos ? std::string() : plan_text.substr(pos + 9);
}

Hash256 CheckpointManifest::computeRoot() const {
  std::vector<NamedHash> leaves;
  leaves.reserve(tensors.size());
  for (const auto& e : tensors) leaves.emplace_back(e.name, e.hash);
  try {
    return merkleRoot(std::move(leaves));
  } catch (const InvalidArgument& e) {
    throw VerificationError(fmt::format("manifest: {}", e.what()));
  }
}

void CheckpointManifest::sign(const KeyPair& key) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  signer_public_key = key.publicKeyHex();
  std::string message = std::string(kManifestSigningDomain) + signedBytes();
  Signature sig = key.sign(message);
  signature = hexEncode(sig.data(), sig.size());
}

void CheckpointManifest::verifySignature(const std::optional<std::string>& expected_signer) const {
  PublicKey pk{};
  Signature sig{};
  try {
    pk = arrayFromHex<32>(signer_public_key, "manifest field 'signer_public_key'");
    sig = arrayFromHex<64>(signature, "manifest field 'signature'");
  } catch (const InvalidArgument& e) {
    throw VerificationError(e.what());
  }
  if (expected_signer.has_value() && *expected_signer != signer_public_key) {
    throw VerificationError(fmt::format("manifest is signed by {}, but the expected signer is {}",
                                        signer_public_key, *expected_signer));
  }
  std::string message = std::string(kManifestSigningDomain) + signedBytes();
  if (!mlcp::verify::verifySignature(pk, message, sig)) {
    throw VerificationError(fmt::format(
        "manifest signature does not verify for signer {} (the manifest was altered or signed "
        "with another key)",
        signer_public_key));
  }
}

}  // namespace mlcp::verify
