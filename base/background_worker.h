// One long-lived thread that runs tasks in the order they were submitted. For work a loop hands
// off on every iteration — the trainer's per-step state hash — where starting a thread each
// time (std::async) costs the loop more than waking one that is already there.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace mlcp {

class BackgroundWorker {
 public:
  BackgroundWorker();
  // Runs the tasks still queued, then joins the thread.
  ~BackgroundWorker();
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  // Queues `task`; the future holds its result or the exception it threw.
  template <class F>
  std::future<std::invoke_result_t<F>> submit(F task) {
    auto job = std::make_shared<std::packaged_task<std::invoke_result_t<F>()>>(std::move(task));
    auto result = job->get_future();
    enqueue([job] { (*job)(); });
    return result;
  }

 private:
  void enqueue(std::function<void()> job);
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace mlcp
