#include "bridge/contract.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

namespace {

// solc writes tuples as {"type":"tuple[]","components":[...]}: rebuild the canonical name.
std::string canonicalType(const nlohmann::json& p) {
  std::string t = p.at("type").get<std::string>();
  if (t.rfind("tuple", 0) == 0) {
    std::string inner = "(";
    bool first = true;
    for (const auto& c : p.at("components")) {
      inner += (first ? "" : ",") + canonicalType(c);
      first = false;
    }
    return inner + ")" + t.substr(5);
  }
  return t;
}

std::vector<AbiParam> params(const nlohmann::json& entry, const char* key) {
  std::vector<AbiParam> out;
  if (!entry.contains(key)) return out;
  for (const auto& p : entry.at(key)) {
    out.push_back({p.value("name", std::string()), abi::Type::parse(canonicalType(p)),
                   p.value("indexed", false)});
  }
  return out;
}

std::string signatureOf(const std::string& name, const std::vector<AbiParam>& ps) {
  std::string s = name + "(";
  for (size_t i = 0; i < ps.size(); ++i) s += (i ? "," : "") + ps[i].type.canonical();
  return s + ")";
}

std::vector<abi::Type> typesOf(const std::vector<AbiParam>& ps) {
  std::vector<abi::Type> t;
  for (const AbiParam& p : ps) t.push_back(p.type);
  return t;
}

std::string formatArgs(const std::vector<AbiParam>& ps, const std::vector<abi::Value>& vs) {
  std::string s;
  for (size_t i = 0; i < ps.size() && i < vs.size(); ++i) {
    s += (i ? ", " : "") + (ps[i].name.empty() ? "" : ps[i].name + "=") +
         abi::format(ps[i].type, vs[i]);
  }
  return s;
}

}  // namespace

std::vector<abi::Type> AbiFunction::inputTypes() const { return typesOf(inputs); }
std::vector<abi::Type> AbiFunction::outputTypes() const { return typesOf(outputs); }

const abi::Value& DecodedEvent::operator[](const std::string& param) const {
  for (size_t i = 0; i < event->inputs.size(); ++i) {
    if (event->inputs[i].name == param) return values.at(i);
  }
  throw InvalidArgument(fmt::format("event {} has no parameter '{}'", event->name, param));
}

std::string DecodedEvent::toString() const {
  return event->name + "(" + formatArgs(event->inputs, values) + ")";
}

ContractAbi ContractAbi::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read contract ABI {}", path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    throw UsageError(fmt::format("contract ABI {} is not a JSON array as solc writes it", path));
  }
  return parse(j, path);
}

ContractAbi ContractAbi::parse(const nlohmann::json& abi_array, const std::string& source) {
  ContractAbi c;
  c.source_ = source;
  try {
    for (const auto& e : abi_array) {
      std::string type = e.value("type", std::string("function"));
      std::string name = e.value("name", std::string());
      if (type == "function") {
        AbiFunction f;
        f.name = name;
        f.inputs = params(e, "inputs");
        f.outputs = params(e, "outputs");
        f.signature = signatureOf(name, f.inputs);
        f.selector = abi::selector(f.signature);
        f.state_mutability = e.value("stateMutability", std::string("nonpayable"));
        c.functions_.push_back(std::move(f));
      } else if (type == "event") {
        AbiEvent ev;
        ev.name = name;
        ev.inputs = params(e, "inputs");
        ev.signature = signatureOf(name, ev.inputs);
        ev.topic0 = keccak256(ev.signature);
        ev.anonymous = e.value("anonymous", false);
        c.events_.push_back(std::move(ev));
      } else if (type == "error") {
        AbiError er;
        er.name = name;
        er.inputs = params(e, "inputs");
        er.signature = signatureOf(name, er.inputs);
        er.selector = abi::selector(er.signature);
        c.errors_.push_back(std::move(er));
      } else if (type == "constructor") {
        c.constructor_ = params(e, "inputs");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("contract ABI {} is malformed: {}", source, e.what()));
  } catch (const InvalidArgument& e) {
    throw UsageError(fmt::format("contract ABI {}: {}", source, e.what()));
  }
  return c;
}

const AbiFunction& ContractAbi::function(const std::string& key) const {
  bool by_signature = key.find('(') != std::string::npos;
  const AbiFunction* found = nullptr;
  for (const AbiFunction& f : functions_) {
    if ((by_signature ? f.signature : f.name) != key) continue;
    if (found)
      throw InvalidArgument(
          fmt::format("function {} is overloaded in {}; give its full signature", key, source_));
    found = &f;
  }
  if (!found) throw InvalidArgument(fmt::format("{} has no function {}", source_, key));
  return *found;
}

const AbiEvent& ContractAbi::event(const std::string& name) const {
  for (const AbiEvent& e : events_) {
    if (e.name == name) return e;
  }
  throw InvalidArgument(fmt::format("{} has no event {}", source_, name));
}

Bytes ContractAbi::encodeCall(const std::string& function_name,
                              const std::vector<abi::Value>& args) const {
  const AbiFunction& f = function(function_name);
  if (args.size() != f.inputs.size()) {
    throw InvalidArgument(
        fmt::format("{} takes {} arguments, got {}", f.signature, f.inputs.size(), args.size()));
  }
  return concat(Bytes(f.selector.begin(), f.selector.end()), abi::encode(f.inputTypes(), args));
}

std::vector<abi::Value> ContractAbi::decodeReturn(const std::string& function_name,
                                                  const Bytes& data) const {
  return abi::decode(function(function_name).outputTypes(), data);
}

NamedOutputs::NamedOutputs(const AbiFunction& function, std::vector<abi::Value> values)
    : function_(function), values_(std::move(values)) {}

const abi::Value& NamedOutputs::operator[](const std::string& name) const {
  for (size_t i = 0; i < function_.outputs.size() && i < values_.size(); ++i) {
    if (function_.outputs[i].name == name) return values_[i];
  }
  throw ChainError(fmt::format("{} has no output '{}'", function_.signature, name));
}

uint64_t NamedOutputs::u64(const std::string& name) const { return (*this)[name].word.toU64(); }

Bytes ContractAbi::deployData(const Bytes& bytecode, const std::vector<abi::Value>& args) const {
  if (args.size() != constructor_.size()) {
    throw InvalidArgument(fmt::format("the constructor of {} takes {} arguments, got {}", source_,
                                      constructor_.size(), args.size()));
  }
  return concat(bytecode, abi::encode(typesOf(constructor_), args));
}

std::optional<DecodedEvent> ContractAbi::decodeLog(const Log& log) const {
  if (log.topics.empty()) return std::nullopt;
  for (const AbiEvent& ev : events_) {
    if (ev.anonymous || ev.topic0 != log.topics[0]) continue;
    DecodedEvent d;
    d.event = &ev;
    std::vector<abi::Type> data_types;
    for (const AbiParam& p : ev.inputs) {
      if (!p.indexed) data_types.push_back(p.type);
    }
    std::vector<abi::Value> data_values = abi::decode(data_types, log.data);
    size_t topic = 1, data_i = 0;
    for (const AbiParam& p : ev.inputs) {
      if (!p.indexed) {
        d.values.push_back(data_values[data_i++]);
        continue;
      }
      if (topic >= log.topics.size())
        throw ChainError(fmt::format("log of {} has too few topics", ev.signature));
      const Hash32& t = log.topics[topic++];
      // A dynamic indexed value is stored as its hash; a static one as its ABI word.
      d.values.push_back(p.type.isDynamic() ? abi::Value::fixedBytes(t)
                                            : abi::decode({p.type}, Bytes(t.begin(), t.end()))[0]);
    }
    return d;
  }
  return std::nullopt;
}

std::vector<DecodedEvent> ContractAbi::decodeLogs(const std::vector<Log>& logs,
                                                  const Address* only_from) const {
  std::vector<DecodedEvent> out;
  for (const Log& l : logs) {
    if (only_from && l.address != *only_from) continue;
    if (auto d = decodeLog(l)) out.push_back(std::move(*d));
  }
  return out;
}

std::optional<std::string> decodeBuiltinError(const Bytes& data) {
  if (data.size() < 4) return std::nullopt;
  std::array<uint8_t, 4> sel{data[0], data[1], data[2], data[3]};
  Bytes rest(data.begin() + 4, data.end());
  try {
    if (sel == abi::selector("Error(string)")) {
      return "Error(" +
             abi::format(abi::Type::parse("string"),
                         abi::decode({abi::Type::parse("string")}, rest)[0]) +
             ")";
    }
    if (sel == abi::selector("Panic(uint256)")) {
      return "Panic(" + abi::decode({abi::Type::parse("uint256")}, rest)[0].word.toQuantity() + ")";
    }
  } catch (const ChainError&) {
  }
  return std::nullopt;
}

std::optional<std::string> ContractAbi::decodeError(const Bytes& data) const {
  if (data.size() < 4) return std::nullopt;
  std::array<uint8_t, 4> sel{data[0], data[1], data[2], data[3]};
  for (const AbiError& e : errors_) {
    if (e.selector != sel) continue;
    try {
      auto vs = abi::decode(typesOf(e.inputs), Bytes(data.begin() + 4, data.end()));
      return e.name + "(" + formatArgs(e.inputs, vs) + ")";
    } catch (const ChainError&) {
      return e.name + "(<malformed arguments>)";
    }
  }
  return decodeBuiltinError(data);
}

Bytes loadBytecode(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read contract bytecode {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  text.erase(std::remove_if(text.begin(), text.end(),
                            [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
             text.end());
  try {
    Bytes b = fromHex(text, "bytecode");
    if (b.empty()) throw InvalidArgument("empty");
    return b;
  } catch (const InvalidArgument&) {
    throw UsageError(fmt::format("contract bytecode {} is not hex", path));
  }
}

}  // namespace mlcp::bridge
