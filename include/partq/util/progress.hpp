// A terminal progress bar for long loops (calibration, evaluation, sensitivity sweeps).
//
//   partq::Progress bar("calibrate", images.size());
//   for (...) { ...; bar.advance(); }
//   bar.finish();
//
// It draws on stderr only when stderr is a terminal and `quiet` is false: label, bar, count/total, rate
// (items/s), elapsed time and ETA, redrawn at most ~10 times a second. When stderr is not a terminal (logs,
// CI) it prints nothing while running and one summary line at finish() ("label: 206/206 in 3.1s (66.5/s)"),
// so logs record what ran without being flooded with carriage returns. advance() is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace partq {

struct ProgressOptions {
  bool quiet = false;  // print nothing at all
  // Forces the terminal (true) or log (false) behaviour; unset means "ask isatty(stderr)". Mostly for tests.
  int force_tty = -1;
};

class Progress {
 public:
  // total <= 0 means unknown: the bar then shows the count, rate and elapsed time only.
  Progress(std::string label, int64_t total, ProgressOptions options = {});
  ~Progress();  // calls finish() if it was not called
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);
  // Draws the final state and ends the line (or prints the summary line); later calls do nothing.
  void finish();

  int64_t done() const;

  // The text of one bar line for the given state; pure, exposed for tests.
  static std::string render(const std::string& label, int64_t done, int64_t total, double elapsed_s,
                            int width = 30);

 private:
  void draw_locked(bool final_draw);

  std::string label_;
  int64_t total_;
  bool enabled_;  // draw bars (stderr is a terminal and not quiet)
  bool summary_;  // print one line at finish (not a terminal and not quiet)
  mutable std::mutex mutex_;
  int64_t done_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace partq
