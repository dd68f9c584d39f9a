// Uses installed mlcp headers and libraries: the deterministic sample order.
#include <cstdio>

#include "data/sample_order.h"

int main() {
  auto order = mlcp::data::sampleOrder(1234, 0, 10);
  for (auto v : order) std::printf("%ld ", static_cast<long>(v));
  std::printf("\n");
  return order.size() == 10 ? 0 : 1;
}
