// A contract's interface from its solc ABI JSON (bridge/contracts/build/<Name>.abi.json):
// encode calls by function name, decode return values, events and the contract's named
// custom errors.
//
// Lookup by name throws InvalidArgument when the name is overloaded; pass the full signature
// ("commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)") then.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bridge/abi.h"
#include "bridge/bytes.h"

namespace mlcp::bridge {

struct AbiParam {
  std::string name;
  abi::Type type;
  bool indexed = false;  // events only
};

struct AbiFunction {
  std::string name;
  std::string signature;  // canonical "name(type,...)"
  std::array<uint8_t, 4> selector{};
  std::vector<AbiParam> inputs, outputs;
  std::string state_mutability;  // "view", "pure", "payable", "nonpayable"
  bool isReadOnly() const { return state_mutability == "view" || state_mutability == "pure"; }
  std::vector<abi::Type> inputTypes() const;
  std::vector<abi::Type> outputTypes() const;
};

struct AbiEvent {
  std::string name;
  std::string signature;
  Hash32 topic0{};
  std::vector<AbiParam> inputs;
  bool anonymous = false;
};

struct AbiError {
  std::string name;
  std::string signature;
  std::array<uint8_t, 4> selector{};
  std::vector<AbiParam> inputs;
};

// A log entry as a receipt carries it.
struct Log {
  Address address{};
  std::vector<Hash32> topics;
  Bytes data;
  uint64_t log_index = 0;
};

struct DecodedEvent {
  const AbiEvent* event = nullptr;
  std::vector<abi::Value> values;  // in declaration order; a dynamic indexed value is its hash

  const std::string& name() const { return event->name; }
  // The value of the parameter `param`; throws InvalidArgument when there is none.
  const abi::Value& operator[](const std::string& param) const;
  std::string toString() const;  // "Name(a=1, b=0x...)"
};

class ContractAbi {
 public:
  // Throws UsageError naming `path` when the file is missing or not a solc ABI array.
  static ContractAbi load(const std::string& path);
  static ContractAbi parse(const nlohmann::json& abi_array, const std::string& source = "ABI");

  const AbiFunction& function(const std::string& name_or_signature) const;
  const AbiEvent& event(const std::string& name) const;
  const std::vector<AbiFunction>& functions() const { return functions_; }
  const std::vector<AbiError>& errors() const { return errors_; }
  const std::vector<AbiParam>& constructorInputs() const { return constructor_; }

  Bytes encodeCall(const std::string& function, const std::vector<abi::Value>& args) const;
  std::vector<abi::Value> decodeReturn(const std::string& function, const Bytes& data) const;
  // bytecode || abi.encode(constructor args): a deployment's init code.
  Bytes deployData(const Bytes& bytecode, const std::vector<abi::Value>& args = {}) const;

  // The event this log is, when it is one of this ABI's events (by topic0).
  std::optional<DecodedEvent> decodeLog(const Log& log) const;
  std::vector<DecodedEvent> decodeLogs(const std::vector<Log>& logs,
                                       const Address* only_from = nullptr) const;

  // Revert data to a readable sentence: "WrongIndex(expected=2)" for this ABI's custom errors,
  // "Error(\"reason\")" / "Panic(0x11)" for Solidity's built-in ones; nullopt when unknown.
  std::optional<std::string> decodeError(const Bytes& revert_data) const;

 private:
  std::string source_;
  std::vector<AbiFunction> functions_;
  std::vector<AbiEvent> events_;
  std::vector<AbiError> errors_;
  std::vector<AbiParam> constructor_;
};

// A view's decoded outputs by name (robust to the order of a struct getter's fields).
// Throws ChainError naming the output when the ABI has none of that name.
class NamedOutputs {
 public:
  NamedOutputs(const AbiFunction& function, std::vector<abi::Value> values);
  const abi::Value& operator[](const std::string& name) const;
  uint64_t u64(const std::string& name) const;  // uint32/uint64 fields
  const U256& word(const std::string& name) const { return (*this)[name].word; }

 private:
  const AbiFunction& function_;
  std::vector<abi::Value> values_;
};

// Loads bytecode written by solc as hex (with or without 0x, whitespace trimmed).
Bytes loadBytecode(const std::string& path);

// The revert reason of Solidity's built-in Error(string) and Panic(uint256), else nullopt.
std::optional<std::string> decodeBuiltinError(const Bytes& revert_data);

}  // namespace mlcp::bridge
