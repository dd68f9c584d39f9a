#include "runtime/operator_trace.h"

#include <fmt/format.h>

#include "base/error.h"
#include "runtime/checkpointer.h"

namespace mlcp::runtime {

std::string OperatorId::name() const {
  switch (kind) {
    case OperatorKind::kState:
      return "state";
    case OperatorKind::kData:
      return fmt::format("mb{}/data", micro_batch);
    case OperatorKind::kForward:
      return fmt::format("mb{}/forward/{}", micro_batch, layer);
    case OperatorKind::kLoss:
      return fmt::format("mb{}/loss", micro_batch);
    case OperatorKind::kBackward:
      return fmt::format("mb{}/backward/{}", micro_batch, layer);
    case OperatorKind::kReduce:
      return fmt::format("reduce/{}", layer);
    case OperatorKind::kClip:
      return "clip";
    case OperatorKind::kUpdate:
      return fmt::format("update/{}", layer);
  }
  return "?";
}

std::string OperatorId::describe() const {
  switch (kind) {
    case OperatorKind::kState:
      return "the training state before the step";
    case OperatorKind::kData:
      return fmt::format("the data of micro-batch {}", micro_batch);
    case OperatorKind::kForward:
      return fmt::format("forward of layer {} on micro-batch {}", layer, micro_batch);
    case OperatorKind::kLoss:
      return fmt::format("loss of micro-batch {}", micro_batch);
    case OperatorKind::kBackward:
      return fmt::format("backward of layer {} on micro-batch {}", layer, micro_batch);
    case OperatorKind::kReduce:
      return fmt::format("exact mean gradient of layer {} over the micro-batches", layer);
    case OperatorKind::kClip:
      return "global-norm gradient clipping";
    case OperatorKind::kUpdate:
      return fmt::format("optimizer update of layer {}", layer);
  }
  return "?";
}

namespace {

// Parses a non-negative decimal integer that is all of `s`.
bool parseIndex(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

OperatorId OperatorId::parse(const std::string& name) {
  OperatorId id;
  auto fail = [&] { return InvalidArgument("'" + name + "' is not an operator name"); };
  if (name == "state") return id;
  if (name == "clip") {
    id.kind = OperatorKind::kClip;
    return id;
  }
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      parts.push_back(name.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  if (parts.size() == 2 && (parts[0] == "reduce" || parts[0] == "update")) {
    id.kind = parts[0] == "reduce" ? OperatorKind::kReduce : OperatorKind::kUpdate;
    if (!parseIndex(parts[1], &id.layer)) throw fail();
    return id;
  }
  if (parts.size() < 2 || parts[0].rfind("mb", 0) != 0 ||
      !parseIndex(parts[0].substr(2), &id.micro_batch)) {
    throw fail();
  }
  if (parts.size() == 2 && parts[1] == "data") {
    id.kind = OperatorKind::kData;
  } else if (parts.size() == 2 && parts[1] == "loss") {
    id.kind = OperatorKind::kLoss;
  } else if (parts.size() == 3 && (parts[1] == "forward" || parts[1] == "backward")) {
    id.kind = parts[1] == "forward" ? OperatorKind::kForward : OperatorKind::kBackward;
    if (!parseIndex(parts[2], &id.layer)) throw fail();
  } else {
    throw fail();
  }
  return id;
}

verify::Hash256 hashOperatorOutputs(const std::vector<NamedTensor>& outputs) {
  verify::Blake2b256 h;
  for (const auto& o : outputs) {
    const auto& t = o.tensor;
    const auto th = verify::hashTensor(verify::TensorView{
        o.name, dtypeOf(t), std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr(),
        static_cast<size_t>(t.nbytes())});
    h.update(o.name);
    h.updateU8(0);
    h.update(th.bytes.data(), th.bytes.size());
  }
  return h.finish();
}

int64_t layerOfParameter(const std::string& name) {
  const std::string prefix = "layers.";
  if (name.rfind(prefix, 0) != 0) return -1;
  const size_t dot = name.find('.', prefix.size());
  int64_t layer = -1;
  if (dot == std::string::npos ||
      !parseIndex(name.substr(prefix.size(), dot - prefix.size()), &layer)) {
    return -1;
  }
  return layer;
}

void OperatorTrace::record(const OperatorId& id, const std::vector<NamedTensor>& outputs) {
  if (outputs.empty()) return;
  TracedOperator op;
  op.id = id;
  op.name = id.name();
  for (const auto& o : outputs) {
    op.outputs.push_back({o.name, o.tensor.detach().to(torch::kCPU).contiguous().clone()});
  }
  op.hash = hashOperatorOutputs(op.outputs);
  ops_.push_back(std::move(op));
}

std::vector<verify::Hash256> OperatorTrace::prefixChain() const {
  std::vector<verify::Hash256> chain;
  verify::Hash256 p;  // 32 zero bytes
  for (const auto& op : ops_) {
    p = verify::chainHash(p, op.hash);
    chain.push_back(p);
  }
  return chain;
}

bool OperatorTrace::has(const std::string& op_name) const {
  for (const auto& op : ops_) {
    if (op.name == op_name) return true;
  }
  return false;
}

const TracedOperator& OperatorTrace::at(const std::string& op_name) const {
  for (const auto& op : ops_) {
    if (op.name == op_name) return op;
  }
  throw InvalidArgument(fmt::format("the trace of step {} has no operator {}", step_, op_name));
}

const torch::Tensor& OperatorTrace::output(const std::string& op_name,
                                           const std::string& output_name) const {
  for (const auto& o : at(op_name).outputs) {
    if (o.name == output_name) return o.tensor;
  }
  throw InvalidArgument(
      fmt::format("operator {} of step {} has no output {}", op_name, step_, output_name));
}

}  // namespace mlcp::runtime
