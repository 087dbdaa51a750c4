#include "partq/util/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace partq {

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);  // at most ~10 redraws a second

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto total = static_cast<int64_t>(seconds + 0.5);
  int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, s);
  return fmt::format("{:02}:{:02}", m, s);
}

// Items per second, or seconds per item when one takes longer than a second (a search or training step):
// "0.04/s" reads worse than "25.1 s/it".
std::string format_rate(double rate) {
  if (rate >= 10) return fmt::format("{:.0f}/s", rate);
  if (rate >= 1 || !(rate > 0)) return fmt::format("{:.2f}/s", std::max(rate, 0.0));
  return fmt::format("{:.1f} s/it", 1 / rate);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Progress::Progress(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(total) {
  bool tty = options.force_tty >= 0 ? options.force_tty != 0 : isatty(STDERR_FILENO) != 0;
  enabled_ = !options.quiet && tty;
  summary_ = !options.quiet && !tty;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_ - kRedrawInterval;  // the first advance draws at once
  if (enabled_) {
    std::lock_guard lock(mutex_);
    draw_locked(false);
  }
}

Progress::~Progress() {
  finish();
}

void Progress::advance(int64_t n) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= kRedrawInterval) draw_locked(false);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (enabled_) {
    draw_locked(true);
  } else if (summary_) {
    double elapsed = seconds_since(start_);
    std::string count = total_ > 0 ? fmt::format("{}/{}", done_, total_) : fmt::format("{}", done_);
    double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    std::fputs(fmt::format("{}: {} in {:.1f}s ({})\n", label_, count, elapsed, format_rate(rate)).c_str(),
               stderr);
  }
}

int64_t Progress::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

void Progress::draw_locked(bool final_draw) {
  last_draw_ = std::chrono::steady_clock::now();
  std::string line = render(label_, done_, total_, seconds_since(start_));
  // \r returns to the line start; \x1b[K clears what a longer previous line left behind.
  std::fputs(fmt::format("\r{}\x1b[K{}", line, final_draw ? "\n" : "").c_str(), stderr);
  std::fflush(stderr);
}

std::string Progress::render(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                             int width) {
  double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  const std::string rate_str = format_rate(rate);
  if (total <= 0) {
    return fmt::format("{} {} {} {}", label, done, rate_str, format_duration(elapsed_s));
  }
  double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
  int filled = static_cast<int>(fraction * width);
  std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  double eta = done > 0 && rate > 0 ? static_cast<double>(std::max<int64_t>(total - done, 0)) / rate : NAN;
  return fmt::format("{} [{}] {}/{} {:3.0f}% {} {} eta {}", label, bar, done, total, fraction * 100, rate_str,
                     format_duration(elapsed_s), format_duration(eta));
}

}  // namespace partq
