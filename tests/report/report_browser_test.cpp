// Renders a report in headless Chromium: the page must parse, draw visibly (screenshot decoded with OpenCV)
// and leave nothing on the console. Skipped when no Chromium is installed (scripts/install-deps.sh installs
// Debian's `chromium`); PARTQ_CHROMIUM=/path/to/chrome picks another binary.
#include <gtest/gtest.h>
#include <partq/report.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../util/test_dir.hpp"
#include "synthetic.hpp"

namespace partq {
namespace {

using namespace report;

namespace fs = std::filesystem;

std::string find_chromium() {
  if (const char* env = std::getenv("PARTQ_CHROMIUM"); env && *env) return fs::exists(env) ? env : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::vector<std::string> directories;
  for (std::string d; std::getline(dirs, d, ':');)
    directories.push_back(d);
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"})
    for (const std::string& d : directories)
      if (!d.empty() && fs::exists(fs::path(d) / name)) return (fs::path(d) / name).string();
  return "";
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct BrowserRun {
  int status = -1;
  std::string dom;  // --dump-dom
  std::string log;  // stderr with --enable-logging=stderr
  fs::path screenshot;
};

// One headless run: screenshot, serialized DOM and the browser's log of `html_file`.
BrowserRun run_chromium(const std::string& chromium, const fs::path& html_file, const fs::path& dir) {
  BrowserRun run;
  run.screenshot = dir / "page.png";
  const fs::path dom = dir / "dom.html", log = dir / "chromium.log";
  const std::string command =
      std::string(fs::exists("/usr/bin/timeout") ? "/usr/bin/timeout 120 " : "") + quote(chromium) +
      " --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check --disable-extensions"
      " --hide-scrollbars --mute-audio --user-data-dir=" +
      quote((dir / "profile").string()) + " --window-size=1200,1600 --enable-logging=stderr --v=0" +
      " --screenshot=" + quote(run.screenshot.string()) + " --dump-dom " +
      quote("file://" + fs::absolute(html_file).string()) + " >" + quote(dom.string()) + " 2>" +
      quote(log.string());
  run.status = std::system(command.c_str());
  if (fs::exists(dom)) run.dom = read_file(dom.string());
  if (fs::exists(log)) run.log = read_file(log.string());
  return run;
}

// Lines of the browser log that report something from the page's console (errors, uncaught exceptions).
std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::stringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
      lines.push_back(line);
  return lines;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

class ReportBrowser : public testing::Test {
 protected:
  void SetUp() override {
    chromium_ = find_chromium();
    if (chromium_.empty())
      GTEST_SKIP() << "no chromium on PATH (install it: scripts/install-deps.sh, or set PARTQ_CHROMIUM)";
    dir_ = make_test_dir();
  }
  std::string chromium_;
  fs::path dir_;
};

TEST_F(ReportBrowser, PageRendersVisiblyWithoutConsoleErrors) {
  const std::string s = (dir_ / "s.json").string(), t = (dir_ / "t.json").string();
  write_json_file(s, test::synthetic_sensitivity(24));
  write_json_file(t, test::synthetic_tradeoff());
  std::vector<LabeledFile> evals, benches;
  const std::pair<const char*, double> rows[] = {{"fp32", 0.3047}, {"int8", 0.2949}, {"partial", 0.3031}};
  for (const auto& [label, map] : rows) {
    const std::string e = (dir_ / (std::string(label) + ".eval.json")).string();
    const std::string b = (dir_ / (std::string(label) + ".bench.json")).string();
    write_json_file(e, test::synthetic_eval(map, map + 0.18));
    write_json_file(b, test::synthetic_bench(1, label == std::string("fp32") ? 24.0 : 13.0));
    evals.push_back({label, e});
    benches.push_back({label, b});
  }
  const fs::path html = dir_ / "report.html";
  write_report(
      {.output = html.string(), .sensitivity = s, .tradeoff = t, .evals = evals, .benches = benches});

  const BrowserRun run = run_chromium(chromium_, html, dir_);
  ASSERT_EQ(run.status, 0) << "chromium failed; its log:\n" << run.log;

  // (1) The DOM parsed as written: every chart, the escaped layer name as text, the whole document.
  EXPECT_EQ(count(run.dom, "<svg"), 3u) << run.dom.substr(0, 2000);
  EXPECT_NE(run.dom.find("&lt;Conv&amp;1&gt;"), std::string::npos);
  EXPECT_NE(run.dom.find("</footer>"), std::string::npos);
  EXPECT_NE(run.dom.find("id=\"sensitivity\""), std::string::npos);

  // (2) Nothing on the console.
  const std::vector<std::string> console = console_lines(run.log);
  EXPECT_TRUE(console.empty()) << console.size() << " console line(s), first: " << console.front();

  // (3) The screenshot shows a page: many pixels off the dominant (background) colour, many colours, and
  // several saturated hues (the chart series), not a blank or error page.
  ASSERT_TRUE(fs::exists(run.screenshot)) << run.log;
  const cv::Mat image = cv::imread(run.screenshot.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << "cannot decode " << run.screenshot;
  EXPECT_GE(image.cols, 800);
  EXPECT_GE(image.rows, 800);
  std::map<int, int64_t> colours;  // 5 bits per channel
  std::map<int, int64_t> hues;     // saturated pixels per 30-degree hue sector
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
      ++colours[(p[0] >> 3) << 10 | (p[1] >> 3) << 5 | (p[2] >> 3)];
      const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
      if (hi < 60 || hi - lo < 0.4 * hi) continue;  // dark or greyish
      const double b = p[0], g = p[1], r = p[2], d = hi - lo;
      double h = hi == p[2]   ? 60 * std::fmod((g - b) / d + 6, 6)
                 : hi == p[1] ? 60 * ((b - r) / d + 2)
                              : 60 * ((r - g) / d + 4);
      ++hues[static_cast<int>(h / 30) % 12];
    }
  }
  int64_t dominant = 0;
  for (const auto& [colour, n] : colours)
    dominant = std::max(dominant, n);
  const double total = static_cast<double>(image.total());
  EXPECT_GT(1.0 - dominant / total, 0.25) << "the page is mostly one colour";
  int distinct = 0;
  for (const auto& [colour, n] : colours)
    distinct += n >= 20;
  EXPECT_GE(distinct, 12) << "too few distinct colours";
  int hue_sectors = 0;
  for (const auto& [sector, n] : hues)
    hue_sectors += n >= 300;
  EXPECT_GE(hue_sectors, 3) << "expected the coloured chart series (blue, orange, green, red)";
}

// Saturated pixels of `image` whose hue is within 15 degrees of `hue` (0 red, 120 green, 240 blue).
int64_t pixels_of_hue(const cv::Mat& image, double hue) {
  int64_t n = 0;
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
      const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
      if (hi < 60 || hi - lo < 0.4 * hi) continue;
      const double b = p[0], g = p[1], r = p[2], d = hi - lo;
      const double h = hi == p[2]   ? 60 * std::fmod((g - b) / d + 6, 6)
                       : hi == p[1] ? 60 * ((b - r) / d + 2)
                                    : 60 * ((r - g) / d + 4);
      n += std::fabs(std::remainder(h - hue, 360.0)) <= 15;
    }
  }
  return n;
}

// The standalone sensitivity SVG opened as a file of its own: it parses as XML (Chromium shows a
// <parsererror> otherwise), its own <style> colours the bars (without it SVG fills them black) and the
// background is white.
TEST_F(ReportBrowser, StandaloneSensitivitySvgRendersWithItsOwnStyle) {
  const SensitivityInput s = parse_sensitivity(test::synthetic_sensitivity(24), "s.json");
  const fs::path svg = dir_ / "sensitivity.svg";
  write_file_atomic(svg.string(), render_sensitivity_svg(s, {s.layers[0].name}));
  const BrowserRun run = run_chromium(chromium_, svg, dir_);
  ASSERT_EQ(run.status, 0) << "chromium failed; its log:\n" << run.log;
  EXPECT_EQ(run.dom.find("parsererror"), std::string::npos) << run.dom.substr(0, 2000);
  EXPECT_NE(run.dom.find("&lt;Conv&amp;1&gt;"), std::string::npos);

  const cv::Mat image = cv::imread(run.screenshot.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << "cannot decode " << run.screenshot;
  int64_t white = 0, black = 0;
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
      white += p[0] >= 250 && p[1] >= 250 && p[2] >= 250;
      black += p[0] < 16 && p[1] < 16 && p[2] < 16;
    }
  }
  const double total = static_cast<double>(image.total());
  EXPECT_GT(white / total, 0.5) << "the background is not white";
  EXPECT_LT(black / total, 0.01) << "black areas: unstyled bars?";
  EXPECT_GT(pixels_of_hue(image, 218), 2000) << "no blue (INT8) bars";  // #4c72b0
  EXPECT_GT(pixels_of_hue(image, 22), 300) << "no orange (float) bar";  // #dd8452
}

// The parse check itself: an SVG that is not well-formed XML must show Chromium's parser error.
TEST_F(ReportBrowser, SvgParseCheckSeesAMalformedFile) {
  const fs::path svg = dir_ / "broken.svg";
  write_file_atomic(svg.string(),
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\">"
                    "<text x=\"1\" y=\"20\">a & b</text></svg>");
  const BrowserRun run = run_chromium(chromium_, svg, dir_);
  ASSERT_EQ(run.status, 0) << run.log;
  EXPECT_NE(run.dom.find("parsererror"), std::string::npos) << run.dom.substr(0, 2000);
}

// The console check itself: a page that throws must be caught by it (so a silent log means something).
TEST_F(ReportBrowser, ConsoleCheckSeesAScriptError) {
  const fs::path html = dir_ / "broken.html";
  write_file_atomic(html.string(),
                    "<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>");
  const BrowserRun run = run_chromium(chromium_, html, dir_);
  ASSERT_EQ(run.status, 0) << run.log;
  const std::vector<std::string> console = console_lines(run.log);
  ASSERT_FALSE(console.empty()) << "the uncaught error did not reach the log:\n" << run.log;
  EXPECT_NE(console.front().find("undefinedFunction"), std::string::npos) << console.front();
}

}  // namespace
}  // namespace partq
