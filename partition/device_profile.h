// Device profiles: how fast and how big each rank's device is, measured at start by the
// runtime or declared in a DEVICES.toml file.
//
// DEVICES.toml (documented in docs/partition.md):
//
//   # one [[device]] table per kind of device; together they must cover ranks 0..N-1 once
//   [[device]]
//   name = "a100"        # optional, default "device"
//   ranks = [0, 1]       # required, non-empty, non-negative integers
//   gflops = 50.0        # required, > 0: achieved matmul GFLOP/s at the model's shapes
//   memory_gb = 16       # required, > 0: usable device memory in GiB (2^30 bytes)
//   slowdown = 2.0       # optional, >= 1, default 1: emulate a slower device; the runtime
//                        # really repeats/sleeps so each compute takes `slowdown` times longer
//
// Unknown keys, wrong types, out-of-range values, ranks given twice or missing are UsageErrors
// that start with "FILE:LINE:COLUMN:".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlcp::partition {

struct DeviceProfile {
  std::string name = "device";
  double gflops = 1.0;       // achieved matmul GFLOP/s
  int64_t memory_bytes = 0;  // usable memory
  double slowdown = 1.0;     // >= 1, a declared emulation factor

  // The speed the partitioner plans with: gflops / slowdown.
  double effectiveGflops() const { return gflops / slowdown; }
};

// Parses DEVICES.toml text; `source_name` prefixes the messages. When world_size >= 0 the
// ranks must be exactly 0..world_size-1; otherwise they must be 0..max without gaps.
// Returns one profile per rank, indexed by rank.
std::vector<DeviceProfile> parseDevices(const std::string& text, const std::string& source_name,
                                        int world_size = -1);
// Reads the file (IoError when it cannot be read) and parses it.
std::vector<DeviceProfile> loadDevices(const std::string& path, int world_size = -1);

// `n` identical profiles (the default when no DEVICES.toml is given).
std::vector<DeviceProfile> uniformDevices(int n, double gflops = 1.0,
                                          int64_t memory_bytes = int64_t{16} << 30);

// "rank 0: a100, 50 GFLOP/s, 16.0 GiB, slowdown 1" lines.
std::string toString(const std::vector<DeviceProfile>& devices);

}  // namespace mlcp::partition
