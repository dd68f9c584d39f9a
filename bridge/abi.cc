#include "bridge/abi.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "bridge/eth_key.h"
#include "bridge/keccak.h"

namespace mlcp::bridge::abi {

namespace {

using Kind = Type::Kind;

// Types nest (arrays of arrays, tuples in tuples) at most this deep: every walk of a type is
// recursive, and a deeper name would overflow the stack.
constexpr int kMaxTypeDepth = 32;

[[noreturn]] void badType(std::string_view t) {
  throw InvalidArgument(fmt::format("'{}' is not a Solidity ABI type", t));
}

unsigned parseUnsigned(std::string_view s, std::string_view whole) {
  if (s.empty() || s.size() > 6) badType(whole);
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') badType(whole);
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

// Splits "a,(b,c),d" at top-level commas.
std::vector<std::string_view> splitTopLevel(std::string_view s) {
  std::vector<std::string_view> parts;
  if (s.empty()) return parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')') --depth;
    if (s[i] == ',' && depth == 0) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

Bytes word(const U256& v) {
  auto be = v.toBigEndian();
  return Bytes(be.begin(), be.end());
}

void appendPadded(Bytes& out, const Bytes& data) {
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + (32 - data.size() % 32) % 32, 0);
}

Bytes encodeOne(const Type& t, const Value& v);

Bytes encodeTuple(const std::vector<const Type*>& types, const std::vector<const Value*>& values) {
  size_t head_size = 0;
  for (const Type* t : types) head_size += t->headSize();
  Bytes head, tail;
  for (size_t i = 0; i < types.size(); ++i) {
    Bytes enc = encodeOne(*types[i], *values[i]);
    if (types[i]->isDynamic()) {
      head = concat(std::move(head), word(U256(static_cast<uint64_t>(head_size + tail.size()))));
      tail = concat(std::move(tail), enc);
    } else {
      head = concat(std::move(head), enc);
    }
  }
  return concat(std::move(head), tail);
}

Bytes encodeSequence(const Type& elem, const std::vector<Value>& items) {
  std::vector<const Type*> ts(items.size(), &elem);
  std::vector<const Value*> vs;
  for (const Value& v : items) vs.push_back(&v);
  return encodeTuple(ts, vs);
}

Bytes encodeOne(const Type& t, const Value& v) {
  switch (t.kind) {
    case Kind::kUint:
      if (v.word.bitLength() > t.size) {
        throw InvalidArgument(fmt::format("{} does not fit {}", v.word.toDecimal(), t.canonical()));
      }
      return word(v.word);
    case Kind::kInt: {
      // In range when the bits above size-1 are all copies of the sign bit.
      U256 magnitude = v.word.isNegative() ? -v.word - U256(1) : v.word;
      if (magnitude.bitLength() >= t.size) {
        throw InvalidArgument(
            fmt::format("{} does not fit {}", v.word.toSignedDecimal(), t.canonical()));
      }
      return word(v.word);
    }
    case Kind::kBool:
      if (v.word > U256(1)) throw InvalidArgument("a bool must be 0 or 1");
      return word(v.word);
    case Kind::kAddress: {
      if (v.bytes.size() != 20) {
        throw InvalidArgument(fmt::format("an address must be 20 bytes, got {}", v.bytes.size()));
      }
      Bytes out(12, 0);
      return concat(std::move(out), v.bytes);
    }
    case Kind::kFixedBytes: {
      if (v.bytes.size() != t.size) {
        throw InvalidArgument(
            fmt::format("{} needs {} bytes, got {}", t.canonical(), t.size, v.bytes.size()));
      }
      Bytes out;
      appendPadded(out, v.bytes);
      return out;
    }
    case Kind::kBytes:
    case Kind::kString: {
      Bytes out = word(U256(static_cast<uint64_t>(v.bytes.size())));
      appendPadded(out, v.bytes);
      return out;
    }
    case Kind::kArray:
      return concat(word(U256(static_cast<uint64_t>(v.items.size()))),
                    encodeSequence(t.components[0], v.items));
    case Kind::kFixedArray:
      if (v.items.size() != t.size) {
        throw InvalidArgument(
            fmt::format("{} needs {} items, got {}", t.canonical(), t.size, v.items.size()));
      }
      return encodeSequence(t.components[0], v.items);
    case Kind::kTuple: {
      if (v.items.size() != t.components.size()) {
        throw InvalidArgument(fmt::format("{} needs {} members, got {}", t.canonical(),
                                          t.components.size(), v.items.size()));
      }
      std::vector<const Type*> ts;
      std::vector<const Value*> vs;
      for (size_t i = 0; i < v.items.size(); ++i) {
        ts.push_back(&t.components[i]);
        vs.push_back(&v.items[i]);
      }
      return encodeTuple(ts, vs);
    }
  }
  throw InvalidArgument("unknown ABI type kind");
}

// Decoding: all offsets are relative to the start of the enclosing tuple (`base`).
struct Reader {
  const uint8_t* data;
  size_t size;
  // Values left to decode. A value takes a 32-byte word of its own (a leaf, a length) or holds
  // at least one other value (at most kMaxTypeDepth levels of tuples and fixed arrays), so data
  // whose offsets do not overlap never decodes to more than (words + 1) x (kMaxTypeDepth + 1)
  // values; overlapping offsets could multiply them without bound (a few KB into GBs).
  mutable size_t budget;

  [[noreturn]] void bad(const std::string& why) const {
    throw ChainError("malformed ABI data: " + why);
  }
  U256 wordAt(size_t pos) const {
    if (pos > size || size - pos < 32)
      bad(fmt::format("a word at byte {} runs past the end ({} bytes)", pos, size));
    return U256::fromBigEndian(data + pos, 32);
  }
  size_t offsetAt(size_t pos) const {
    U256 w = wordAt(pos);
    if (!w.fitsU64() || w.toU64() > size) bad(fmt::format("offset {} past the end", w.toDecimal()));
    return static_cast<size_t>(w.toU64());
  }

  Value one(const Type& t, size_t pos) const {
    if (budget == 0) bad("more values than the data can hold (offsets overlap)");
    --budget;
    Value v;
    switch (t.kind) {
      case Kind::kUint:
        v.word = wordAt(pos);
        if (v.word.bitLength() > t.size) bad(fmt::format("value too large for {}", t.canonical()));
        return v;
      case Kind::kInt: {
        // In range when the bits above size-1 are all copies of the sign bit (as encodeOne).
        v.word = wordAt(pos);
        U256 magnitude = v.word.isNegative() ? -v.word - U256(1) : v.word;
        if (magnitude.bitLength() >= t.size)
          bad(fmt::format("value out of range for {}", t.canonical()));
        return v;
      }
      case Kind::kBool:
        v.word = wordAt(pos);
        if (v.word > U256(1)) bad(fmt::format("bool word {} is not 0 or 1", v.word.toQuantity()));
        return v;
      case Kind::kAddress: {
        auto be = wordAt(pos).toBigEndian();
        v.bytes.assign(be.begin() + 12, be.end());
        return v;
      }
      case Kind::kFixedBytes: {
        auto be = wordAt(pos).toBigEndian();
        v.bytes.assign(be.begin(), be.begin() + t.size);
        return v;
      }
      case Kind::kBytes:
      case Kind::kString: {
        U256 len = wordAt(pos);
        if (!len.fitsU64() || len.toU64() > size - pos - 32)
          bad("byte string longer than the data");
        v.bytes.assign(data + pos + 32, data + pos + 32 + len.toU64());
        return v;
      }
      case Kind::kArray: {
        U256 len = wordAt(pos);
        if (!len.fitsU64() || len.toU64() > (size - pos) / 32) bad("array longer than the data");
        std::vector<const Type*> ts(len.toU64(), &t.components[0]);
        v.items = tuple(ts, pos + 32);
        return v;
      }
      case Kind::kFixedArray: {
        std::vector<const Type*> ts(t.size, &t.components[0]);
        v.items = tuple(ts, pos);
        return v;
      }
      case Kind::kTuple: {
        std::vector<const Type*> ts;
        for (const Type& c : t.components) ts.push_back(&c);
        v.items = tuple(ts, pos);
        return v;
      }
    }
    bad("unknown type");
  }

  std::vector<Value> tuple(const std::vector<const Type*>& types, size_t base) const {
    std::vector<Value> out;
    size_t head = base;
    for (const Type* t : types) {
      if (t->isDynamic()) {
        size_t off = offsetAt(head);
        if (off > size - base) bad("offset past the end");
        out.push_back(one(*t, base + off));
      } else {
        out.push_back(one(*t, head));
      }
      head += t->headSize();
    }
    return out;
  }
};

}  // namespace

Type Type::parse(std::string_view s) {
  static thread_local int depth = 0;  // of this recursion
  struct Nest {
    Nest() { ++depth; }
    ~Nest() { --depth; }
  } nest;
  if (s.empty() || depth > kMaxTypeDepth) badType(s);
  // Array suffixes bind last: "T[2][]" is a dynamic array of T[2].
  if (s.back() == ']') {
    size_t open = s.rfind('[');
    if (open == std::string_view::npos) badType(s);
    Type t;
    t.components.push_back(parse(s.substr(0, open)));
    std::string_view len = s.substr(open + 1, s.size() - open - 2);
    if (len.empty()) {
      t.kind = Kind::kArray;
    } else {
      t.kind = Kind::kFixedArray;
      t.size = parseUnsigned(len, s);
      if (t.size == 0) badType(s);
    }
    return t;
  }
  if (s.front() == '(') {
    if (s.back() != ')') badType(s);
    Type t;
    t.kind = Kind::kTuple;
    for (std::string_view part : splitTopLevel(s.substr(1, s.size() - 2)))
      t.components.push_back(parse(part));
    if (t.components.empty()) badType(s);  // "()": Solidity has no empty struct
    return t;
  }
  Type t;
  auto sized = [&](std::string_view prefix, Kind kind, unsigned dflt) -> bool {
    if (s.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = s.substr(prefix.size());
    t.kind = kind;
    t.size = rest.empty() ? dflt : parseUnsigned(rest, s);
    return true;
  };
  if (s == "address") {
    t.kind = Kind::kAddress;
  } else if (s == "bool") {
    t.kind = Kind::kBool;
  } else if (s == "string") {
    t.kind = Kind::kString;
  } else if (s == "bytes") {
    t.kind = Kind::kBytes;
  } else if (sized("uint", Kind::kUint, 256) || sized("int", Kind::kInt, 256)) {
    if (t.size == 0 || t.size > 256 || t.size % 8 != 0) badType(s);
  } else if (sized("bytes", Kind::kFixedBytes, 0)) {
    if (t.size == 0 || t.size > 32) badType(s);
  } else {
    badType(s);
  }
  return t;
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::kUint:
      return fmt::format("uint{}", size);
    case Kind::kInt:
      return fmt::format("int{}", size);
    case Kind::kAddress:
      return "address";
    case Kind::kBool:
      return "bool";
    case Kind::kFixedBytes:
      return fmt::format("bytes{}", size);
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return components[0].canonical() + "[]";
    case Kind::kFixedArray:
      return fmt::format("{}[{}]", components[0].canonical(), size);
    case Kind::kTuple: {
      std::string s = "(";
      for (size_t i = 0; i < components.size(); ++i)
        s += (i ? "," : "") + components[i].canonical();
      return s + ")";
    }
  }
  return "?";
}

bool Type::isDynamic() const {
  switch (kind) {
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kArray:
      return true;
    case Kind::kFixedArray:
      return components[0].isDynamic();
    case Kind::kTuple:
      for (const Type& c : components) {
        if (c.isDynamic()) return true;
      }
      return false;
    default:
      return false;
  }
}

size_t Type::headSize() const {
  if (isDynamic()) return 32;
  if (kind == Kind::kFixedArray) return size * components[0].headSize();
  if (kind == Kind::kTuple) {
    size_t n = 0;
    for (const Type& c : components) n += c.headSize();
    return n;
  }
  return 32;
}

Address Value::asAddress() const {
  require(bytes.size() == 20, "ABI value is not an address");
  Address a{};
  std::copy(bytes.begin(), bytes.end(), a.begin());
  return a;
}

Hash32 Value::asBytes32() const {
  require(bytes.size() == 32, "ABI value is not bytes32");
  Hash32 h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

std::array<uint8_t, 4> selector(std::string_view signature) {
  Hash32 h = keccak256(signature);
  return {h[0], h[1], h[2], h[3]};
}

std::vector<Type> parameterTypes(std::string_view signature) {
  size_t open = signature.find('(');
  if (open == std::string_view::npos || signature.back() != ')') {
    throw InvalidArgument(fmt::format("'{}' is not a function signature name(types)", signature));
  }
  std::vector<Type> types;
  for (std::string_view p :
       splitTopLevel(signature.substr(open + 1, signature.size() - open - 2))) {
    types.push_back(Type::parse(p));
  }
  return types;
}

Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values) {
  if (types.size() != values.size()) {
    throw InvalidArgument(fmt::format("{} ABI values for {} types", values.size(), types.size()));
  }
  std::vector<const Type*> ts;
  std::vector<const Value*> vs;
  for (size_t i = 0; i < types.size(); ++i) {
    ts.push_back(&types[i]);
    vs.push_back(&values[i]);
  }
  return encodeTuple(ts, vs);
}

Bytes encodeCall(std::string_view signature, const std::vector<Value>& values) {
  auto sel = selector(signature);
  return concat(Bytes(sel.begin(), sel.end()), encode(parameterTypes(signature), values));
}

std::vector<Value> decode(const std::vector<Type>& types, const uint8_t* data, size_t size) {
  Reader r{data, size, (size / 32 + 1) * (kMaxTypeDepth + 1)};
  std::vector<const Type*> ts;
  for (const Type& t : types) ts.push_back(&t);
  return r.tuple(ts, 0);
}

namespace {

Value fromJson(const Type& type, const nlohmann::json& j, std::string_view what) {
  if (type.kind == Kind::kArray || type.kind == Kind::kFixedArray || type.kind == Kind::kTuple) {
    if (!j.is_array())
      throw UsageError(fmt::format("{} must be a JSON array for {}", what, type.canonical()));
    Value v;
    for (size_t i = 0; i < j.size(); ++i) {
      const Type& et = type.kind == Kind::kTuple
                           ? type.components.at(std::min(i, type.components.size() - 1))
                           : type.components[0];
      v.items.push_back(fromJson(et, j[i], what));
    }
    return v;
  }
  std::string text = j.is_string() ? j.get<std::string>() : j.dump();
  return parseValue(type, text, what);
}

}  // namespace

Value parseValue(const Type& type, std::string_view text, std::string_view what) {
  try {
    switch (type.kind) {
      case Kind::kUint: {
        Value v = Value::uint(U256::parseAmount(text, what));
        encodeOne(type, v);  // range check
        return v;
      }
      case Kind::kInt: {
        bool neg = !text.empty() && text[0] == '-';
        U256 mag = U256::parse(neg ? text.substr(1) : text, what);
        Value v = Value::uint(neg ? -mag : mag);
        encodeOne(type, v);
        return v;
      }
      case Kind::kBool:
        if (text == "true" || text == "1") return Value::boolean(true);
        if (text == "false" || text == "0") return Value::boolean(false);
        throw UsageError(fmt::format("{} must be true or false, got '{}'", what, text));
      case Kind::kAddress:
        return Value::address(parseAddress(text, what));
      case Kind::kFixedBytes:
      case Kind::kBytes: {
        Value v = Value::bytesValue(fromHex(text, what));
        if (text.substr(0, 2) != "0x")
          throw UsageError(fmt::format("{} must be 0x-prefixed hex", what));
        encodeOne(type, v);
        return v;
      }
      case Kind::kString:
        return Value::string(text);
      default: {
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded())
          throw UsageError(fmt::format("{} must be a JSON array for {}, got '{}'", what,
                                       type.canonical(), text));
        return fromJson(type, j, what);
      }
    }
  } catch (const InvalidArgument& e) {
    throw UsageError(fmt::format("{}: {}", what, e.what()));
  }
}

std::string format(const Type& type, const Value& v) {
  switch (type.kind) {
    case Kind::kUint:
      return v.word.toDecimal();
    case Kind::kInt:
      return v.word.toSignedDecimal();
    case Kind::kBool:
      return v.asBool() ? "true" : "false";
    case Kind::kAddress:
      return checksumAddress(v.asAddress());
    case Kind::kFixedBytes:
    case Kind::kBytes:
      return toHex(v.bytes);
    case Kind::kString:
      // Strings come from nodes and contracts: bytes that are not UTF-8 print as U+FFFD.
      return nlohmann::json(v.asString())
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    default: {
      std::string s = type.kind == Kind::kTuple ? "(" : "[";
      for (size_t i = 0; i < v.items.size(); ++i) {
        const Type& et = type.kind == Kind::kTuple ? type.components[i] : type.components[0];
        s += (i ? ", " : "") + format(et, v.items[i]);
      }
      return s + (type.kind == Kind::kTuple ? ")" : "]");
    }
  }
}

}  // namespace mlcp::bridge::abi
