#include "partq/util/progress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace partq {
namespace {

TEST(Progress, RenderShowsCountPercentRateAndEta) {
  // 25 of 100 after 5 s: 5 items/s, 75 left -> 15 s to go.
  std::string line = Progress::render("calib", 25, 100, 5.0, 20);
  EXPECT_EQ(line, "calib [#####...............] 25/100  25% 5.00/s 00:05 eta 00:15");
}

TEST(Progress, RenderUnknownTotalAndNoProgressYet) {
  EXPECT_EQ(Progress::render("eval", 1200, 0, 60.0), "eval 1200 20/s 01:00");
  std::string start = Progress::render("eval", 0, 10, 0.0, 10);
  EXPECT_EQ(start, "eval [..........] 0/10   0% 0.00/s 00:00 eta --:--");
}

TEST(Progress, RenderClampsOvershoot) {
  std::string line = Progress::render("x", 12, 10, 3600.0, 4);
  EXPECT_EQ(line, "x [####] 12/10 100% 300.0 s/it 1:00:00 eta 00:00");
}

TEST(Progress, SlowStepsShowSecondsPerStep) {
  // 4 sensitivity or search steps in 100 s: 25 s each, not "0.04/s".
  EXPECT_EQ(Progress::render("search", 4, 14, 100.0, 4), "search [#...] 4/14  29% 25.0 s/it 01:40 eta 04:10");
  EXPECT_EQ(Progress::render("eval", 3, 0, 2.0), "eval 3 1.50/s 00:02");
}

TEST(Progress, AdvanceIsThreadSafe) {
  Progress bar("count", 4000, ProgressOptions{.quiet = true});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        bar.advance();
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(bar.done(), 4000);
  bar.finish();
  bar.advance();  // ignored after finish
  EXPECT_EQ(bar.done(), 4000);
}

TEST(Progress, NonTerminalPrintsOneSummaryLine) {
  ::testing::internal::CaptureStderr();
  {
    Progress bar("load", 3, ProgressOptions{.force_tty = 0});
    bar.advance(3);
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("load: 3/3 in ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(Progress, QuietPrintsNothing) {
  ::testing::internal::CaptureStderr();
  {
    Progress bar("load", 3, ProgressOptions{.quiet = true, .force_tty = 1});
    bar.advance(3);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace partq
