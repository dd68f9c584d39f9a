#include "runtime/program_check.h"

#include <fmt/format.h>

#include <sstream>

#include "base/digest.h"
#include "base/error.h"
#include "collectives/string_gather.h"
#include "models/operators.h"
#include "ops/isa.h"
#include "runtime/job_setup.h"

namespace mlcp::runtime {
namespace {

// The first line where two canonical texts differ, as "key: A vs B".
std::string firstDifference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  while (true) {
    const bool ga = static_cast<bool>(std::getline(sa, la));
    const bool gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "";
    if (ga && gb && la == lb) continue;
    const auto key = [](const std::string& line) { return line.substr(0, line.find(" = ")); };
    const auto value = [](const std::string& line) {
      const auto eq = line.find(" = ");
      return eq == std::string::npos ? std::string("(none)") : line.substr(eq + 3);
    };
    if (ga && gb && key(la) == key(lb)) {
      return fmt::format("{} = {} there, {} here", key(la), value(la), value(lb));
    }
    return fmt::format("'{}' there, '{}' here", ga ? la : "(end)", gb ? lb : "(end)");
  }
}

}  // namespace

std::string programText(const jobs::JobSpec& spec) {
  jobs::JobSpec numbers = spec;
  const int64_t tp = spec.parallel.tp;  // splitting a matmul changes its sums: part of the numbers
  numbers.parallel = jobs::ParallelSpec{};
  numbers.parallel.tp = tp;
  return numbers.canonicalText();
}

void checkSameProgram(const verify::CheckpointManifest& manifest, const std::string& where,
                      const jobs::JobSpec& spec, const std::string& data_hash) {
  jobs::JobSpec theirs;
  try {
    theirs = jobs::parseJobSpec(manifest.job_spec_text, manifest.jobPath());
  } catch (const UsageError& e) {
    throw UsageError(
        fmt::format("checkpoint {} records a job this build cannot read: {}", where, e.what()));
  }
  const std::string a = programText(theirs), b = programText(spec);
  if (a != b) {
    throw UsageError(fmt::format(
        "checkpoint {} is of another job: its program differs from {}'s ({}); it cannot "
        "continue this job",
        where, spec.source_path.empty() ? spec.name : spec.source_path, firstDifference(a, b)));
  }
  // Version 1 manifests predate the operator choice: their runs used LibTorch's kernels.
  const std::string their_ops =
      manifest.format_version >= 3 ? manifest.ops : models::opSetVersion(models::OpSet::kNative);
  const std::string our_ops = models::opSetVersion(jobOperators(spec).set());
  if (their_ops != our_ops) {
    throw UsageError(fmt::format(
        "checkpoint {} was computed with the {} operators, this job uses the {} operators "
        "(runtime.ops): their results differ in the last bits, so it cannot continue this job",
        where, their_ops, our_ops));
  }
  if (!manifest.data_hash.empty() && manifest.data_hash != data_hash) {
    throw UsageError(fmt::format(
        "checkpoint {} was trained on data with content hash {}, but data.path {} holds data "
        "with content hash {}: it is not the same data",
        where, manifest.data_hash, spec.data.path, data_hash));
  }
}

namespace {

// What one rank brings to a run: "ops <version>\nprogram <hash>", or "error <message>".
std::string rankDescription(const jobs::JobSpec& spec) {
  try {
    const models::Operators ops = jobOperators(spec);
    if (ops.reproducible()) ops::activeIsa();  // MLCP_ISA names a path this CPU runs
    return "ops " + models::opSetVersion(ops.set()) + "\nprogram " +
           blake2b256(programText(spec)).hex().substr(0, 16);
  } catch (const UsageError& e) {
    return std::string("error ") + e.what();
  }
}

}  // namespace

void checkRanksAgree(const jobs::JobSpec& spec, collectives::Communicator& world,
                     const collectives::CollectiveOptions& opts) {
  const auto all = collectives::allgatherStrings(world, rankDescription(spec), opts);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].rfind("error ", 0) == 0) {
      throw UsageError(fmt::format("rank {} cannot run this job: {}", r, all[r].substr(6)));
    }
  }
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    const auto line = [](const std::string& d, size_t i) {
      std::istringstream in(d);
      std::string l;
      for (size_t k = 0; k <= i; ++k) std::getline(in, l);
      return l;
    };
    const bool ops_differ = line(all[r], 0) != line(all[0], 0);
    throw UsageError(
        ops_differ
            ? fmt::format("ranks 0 and {} disagree about the operator set: rank 0 runs {}, rank {} "
                          "runs {}; every rank must run the same mlcp build and runtime.ops",
                          r, line(all[0], 0).substr(4), r, line(all[r], 0).substr(4))
            : fmt::format("ranks 0 and {} were given different jobs (program {} vs {}): every rank "
                          "must read the same job file",
                          r, line(all[0], 1).substr(8), line(all[r], 1).substr(8)));
  }
}

}  // namespace mlcp::runtime
