// The byte buffer every UCX message travels in: a std::vector whose resize() leaves new bytes
// uninitialised, because a receive, a rendezvous pull or a seal writes them right after (zeroing
// a 16 MiB buffer first would cost a tenth of its transfer time on loopback).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace mlcp::collectives::ucx {

template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  // Value-initialisation (resize, vector(n)) becomes default-initialisation: no zeroing.
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Buffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

}  // namespace mlcp::collectives::ucx
