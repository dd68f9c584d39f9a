// Regenerates the pictures of docs/partition.md:
//   build-x/tests/partition/partition_pictures docs/img
// writes schedule-{gpipe,1f1b,interleaved}.png (pp = 4, m = 8, f = 1, b = 2; v = 2) and
// plan-hetero.png (dp 2 x pp 2 x tp 1, ranks 2 and 3 emulated 2x slower), and prints the
// schedules and the plan.
#include <fmt/format.h>

#include <iostream>

#include "partition/partitioner.h"
#include "partition/render.h"
#include "partition/trace.h"

using namespace mlcp::partition;

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  for (auto [name, v] :
       {std::pair{"gpipe", 1}, std::pair{"1f1b", 1}, std::pair{"interleaved", 2}}) {
    PipelineSchedule s = scheduleFor(name, 4, 8, v);
    Timeline t = simulate(s, uniformCosts(4, v, 1.0, 2.0));
    std::cout << toString(s) << summary(t)
              << fmt::format(" (model {:.4f})\n\n", bubbleModel(name, 4, 8, v));
    renderTimeline(fmt::format("{}/schedule-{}.png", dir, name), t);
  }
  PlanInput in;
  in.mesh = {2, 2, 1};
  for (int i = 0; i < 12; ++i)
    in.layers.push_back({fmt::format("block{}", i), 2e9, 4e9, 50 << 20, 8 << 20});
  in.devices = uniformDevices(4, 100.0);
  for (auto& d : in.devices) d.name = "fast";
  in.devices[3].name = "slow";
  in.devices[3].slowdown = 2.0;
  in.micro_batches = 12;
  Plan p = makePlan(in);
  std::cout << printPlan(p);
  renderPlan(dir + "/plan-hetero.png", p);
  return 0;
}
