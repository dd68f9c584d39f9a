#include "runtime/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include "base/process_env.h"

namespace mlcp::runtime {

namespace {

bool liveLine(ProgressStyle style, std::FILE* out) {
  if (style != ProgressStyle::kAuto) return style == ProgressStyle::kLive;
  return isatty(fileno(out)) != 0 && detectLaunchEnv().launcher == "standalone";
}

}  // namespace

ProgressReporter::ProgressReporter(bool reporter, bool show_steps, int64_t total_steps,
                                   int64_t log_every, ProgressStyle style, std::FILE* out)
    : reporter_(reporter),
      show_steps_(show_steps),
      tty_(liveLine(style, out)),
      total_steps_(total_steps),
      log_every_(log_every > 0 ? log_every : 10),
      out_(out),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressReporter::eta(int64_t step) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double left =
      elapsed / static_cast<double>(step + 1) * static_cast<double>(total_steps_ - step - 1);
  const auto s = static_cast<int64_t>(left + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

void ProgressReporter::step(int64_t step, double loss, double lr, double samples_per_s) {
  if (!reporter_ || !show_steps_) return;
  const std::string line =
      fmt::format("step {:>6}/{} | loss {:.4f} | lr {:.2e} | {:>8.1f} samples/s | eta {}", step + 1,
                  total_steps_, loss, lr, samples_per_s, eta(step)) +
      (suffix_.empty() ? "" : " | " + suffix_);
  if (tty_) {
    fmt::print(out_, "\r{}\033[K", line);
    live_line_open_ = true;
  } else if ((step + 1) % log_every_ == 0 || step == 0 || step + 1 == total_steps_) {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

void ProgressReporter::message(const std::string& text) {
  if (!reporter_) return;
  if (live_line_open_) {
    fmt::print(out_, "\n");
    live_line_open_ = false;
  }
  fmt::print(out_, "{}\n", text);
  std::fflush(out_);
}

void ProgressReporter::finish() {
  if (live_line_open_) {
    fmt::print(out_, "\n");
    live_line_open_ = false;
    std::fflush(out_);
  }
}

}  // namespace mlcp::runtime
