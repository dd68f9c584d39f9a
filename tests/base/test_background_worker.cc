// BackgroundWorker (base/background_worker.h): tasks run in submission order on one thread
// that is not the caller's, a task's exception reaches its future, and the destructor runs what
// is still queued.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/background_worker.h"

namespace mlcp {
namespace {

TEST(BackgroundWorker, RunsTasksInOrderOnItsOwnThread) {
  BackgroundWorker worker;
  std::vector<int> order;  // only the worker's thread writes it
  std::vector<std::future<std::thread::id>> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(worker.submit([&order, i] {
      order.push_back(i);
      return std::this_thread::get_id();
    }));
  }
  const auto first = ids.front().get();
  EXPECT_NE(first, std::this_thread::get_id());
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i].get(), first) << "one thread";
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[static_cast<size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

TEST(BackgroundWorker, ExceptionReachesTheFutureAndTheWorkerGoesOn) {
  BackgroundWorker worker;
  auto failed = worker.submit([]() -> int { throw std::runtime_error("disk full"); });
  auto next = worker.submit([] { return 42; });
  EXPECT_THROW(
      {
        try {
          failed.get();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "disk full");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_EQ(next.get(), 42);
}

TEST(BackgroundWorker, DestructorRunsWhatIsStillQueued) {
  std::atomic<int> done{0};
  {
    BackgroundWorker worker;
    for (int i = 0; i < 50; ++i) {
      worker.submit([&done] {
        std::this_thread::yield();
        ++done;
      });
    }
  }
  EXPECT_EQ(done.load(), 50);
}

}  // namespace
}  // namespace mlcp
