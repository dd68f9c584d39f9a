#include "partition/device_profile.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <map>
#include <sstream>

#include "base/error.h"

namespace mlcp::partition {

namespace {

std::string at(const std::string& src, const toml::source_region& r) {
  return fmt::format("{}:{}:{}", src, r.begin.line, r.begin.column);
}

double number(const toml::node& n, const std::string& where, const char* key) {
  if (auto v = n.value<double>()) return *v;  // integers convert too
  throw UsageError(fmt::format("{}: device key '{}' must be a number", where, key));
}

}  // namespace

std::vector<DeviceProfile> parseDevices(const std::string& text, const std::string& src,
                                        int world_size) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(src));
  } catch (const toml::parse_error& e) {
    throw UsageError(
        fmt::format("{}: TOML syntax error: {}", at(src, e.source()), e.description()));
  }
  for (auto& [k, v] : root) {
    if (k.str() != "device") {
      throw UsageError(
          fmt::format("{}: unknown key '{}' (a devices file holds only [[device]] "
                      "tables)",
                      at(src, k.source()), k.str()));
    }
  }
  const toml::node* devs = root.get("device");
  if (!devs || !devs->is_array_of_tables()) {
    throw UsageError(fmt::format("{}:1:1: expected one or more [[device]] tables", src));
  }
  std::map<int, std::pair<DeviceProfile, std::string>> by_rank;  // rank -> profile, where
  for (const toml::node& node : *devs->as_array()) {
    const toml::table& t = *node.as_table();
    const std::string where = at(src, t.source());
    DeviceProfile p;
    bool has_gflops = false, has_mem = false;
    std::vector<std::pair<int, std::string>> ranks;
    const toml::node* ranks_node = nullptr;
    for (auto& [key, val] : t) {
      const std::string k(key.str());
      const std::string kw = at(src, val.source());
      if (k == "name") {
        auto s = val.value<std::string>();
        if (!s) throw UsageError(fmt::format("{}: device key 'name' must be a string", kw));
        p.name = *s;
      } else if (k == "ranks") {
        ranks_node = &val;
        const toml::array* arr = val.as_array();
        if (!arr || arr->empty()) {
          throw UsageError(
              fmt::format("{}: 'ranks' must be a non-empty array of rank numbers", kw));
        }
        for (const toml::node& r : *arr) {
          auto i = r.value_exact<int64_t>();
          if (!i || *i < 0 || *i > 1'000'000) {
            throw UsageError(
                fmt::format("{}: 'ranks' entries must be integers >= 0", at(src, r.source())));
          }
          ranks.emplace_back(static_cast<int>(*i), at(src, r.source()));
        }
      } else if (k == "gflops") {
        p.gflops = number(val, kw, "gflops");
        has_gflops = true;
        if (!(p.gflops > 0))
          throw UsageError(fmt::format("{}: 'gflops' must be > 0 (got {})", kw, p.gflops));
      } else if (k == "memory_gb") {
        double gb = number(val, kw, "memory_gb");
        has_mem = true;
        if (!(gb > 0))
          throw UsageError(fmt::format("{}: 'memory_gb' must be > 0 (got {})", kw, gb));
        p.memory_bytes = static_cast<int64_t>(gb * 1024.0 * 1024.0 * 1024.0);
      } else if (k == "slowdown") {
        p.slowdown = number(val, kw, "slowdown");
        if (!(p.slowdown >= 1.0)) {
          throw UsageError(fmt::format("{}: 'slowdown' must be >= 1 (got {})", kw, p.slowdown));
        }
      } else {
        throw UsageError(
            fmt::format("{}: unknown device key '{}' (expected name, ranks, gflops, "
                        "memory_gb, slowdown)",
                        at(src, key.source()), k));
      }
    }
    if (!ranks_node) throw UsageError(fmt::format("{}: [[device]] is missing 'ranks'", where));
    if (!has_gflops) throw UsageError(fmt::format("{}: [[device]] is missing 'gflops'", where));
    if (!has_mem) throw UsageError(fmt::format("{}: [[device]] is missing 'memory_gb'", where));
    for (auto& [r, rw] : ranks) {
      auto it = by_rank.find(r);
      if (it != by_rank.end()) {
        throw UsageError(
            fmt::format("{}: rank {} is already given a device at {}", rw, r, it->second.second));
      }
      by_rank.emplace(r, std::make_pair(p, rw));
    }
  }
  int n = world_size >= 0 ? world_size : (by_rank.empty() ? 0 : by_rank.rbegin()->first + 1);
  std::vector<DeviceProfile> out;
  for (int r = 0; r < n; ++r) {
    auto it = by_rank.find(r);
    if (it == by_rank.end()) {
      throw UsageError(
          fmt::format("{}:1:1: no [[device]] lists rank {} (ranks 0..{} must each "
                      "appear once)",
                      src, r, n - 1));
    }
    out.push_back(it->second.first);
  }
  if (!by_rank.empty() && by_rank.rbegin()->first >= n) {
    auto& [r, pw] = *by_rank.rbegin();
    throw UsageError(
        fmt::format("{}: rank {} is outside the {} ranks of this run", pw.second, r, n));
  }
  return out;
}

std::vector<DeviceProfile> loadDevices(const std::string& path, int world_size) {
  std::ifstream f(path);
  if (!f) throw IoError(fmt::format("cannot read devices file '{}'", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return parseDevices(ss.str(), path, world_size);
}

std::vector<DeviceProfile> uniformDevices(int n, double gflops, int64_t memory_bytes) {
  DeviceProfile p;
  p.gflops = gflops;
  p.memory_bytes = memory_bytes;
  return std::vector<DeviceProfile>(static_cast<size_t>(n), p);
}

std::string toString(const std::vector<DeviceProfile>& devices) {
  std::string out;
  for (size_t r = 0; r < devices.size(); ++r) {
    const auto& d = devices[r];
    out += fmt::format("rank {}: {}, {:g} GFLOP/s, {:.1f} GiB, slowdown {:g}\n", r, d.name,
                       d.gflops, static_cast<double>(d.memory_bytes) / (1 << 30), d.slowdown);
  }
  return out;
}

}  // namespace mlcp::partition
