#include "bridge/keccak.h"

#include <cryptopp/keccak.h>

namespace mlcp::bridge {

Hash32 keccak256(const uint8_t* data, size_t size) {
  CryptoPP::Keccak_256 h;
  h.Update(data, size);
  Hash32 out{};
  h.Final(out.data());
  return out;
}

}  // namespace mlcp::bridge
