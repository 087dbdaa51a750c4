// Boxes and "name score" labels on a BGR image, coloured per category like Ultralytics' plots.
#include <partq/detect.hpp>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace partq {
namespace {

// Ultralytics utils/plots.py Colors palette (RGB hex).
constexpr std::array<uint32_t, 20> kPalette = {
    0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17, 0x3DDB86, 0x1A9334, 0x00D4BB,
    0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF, 0x0018EC, 0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7};

// Coloured by the COCO-80 class index as Ultralytics does (person red); other ids by the id itself.
cv::Scalar category_colour(int64_t category_id) {
  const auto& ids = coco80_category_ids();
  const auto it = std::find(ids.begin(), ids.end(), category_id);
  const int64_t index = it != ids.end() ? it - ids.begin() : std::abs(category_id);
  const uint32_t rgb = kPalette[static_cast<size_t>(index) % kPalette.size()];
  return cv::Scalar(rgb & 0xFF, (rgb >> 8) & 0xFF, (rgb >> 16) & 0xFF);  // BGR
}

}  // namespace

std::map<int64_t, std::string> coco80_names_by_category_id() {
  std::map<int64_t, std::string> names;
  for (size_t k = 0; k < 80; ++k)
    names[coco80_category_ids()[k]] = coco80_names()[k];
  return names;
}

void draw_detections(cv::Mat& image, const std::vector<Detection>& detections,
                     const std::map<int64_t, std::string>& names) {
  if (image.empty()) return;
  const int thickness = std::max(static_cast<int>(std::lround((image.rows + image.cols) / 2.0 * 0.003)), 2);
  const double font_scale = thickness / 3.0;
  const int font_thickness = std::max(thickness - 1, 1);
  for (const Detection& d : detections) {
    const cv::Scalar colour = category_colour(d.category_id);
    const cv::Point p1(static_cast<int>(d.bbox[0]), static_cast<int>(d.bbox[1]));
    const cv::Point p2(static_cast<int>(d.bbox[0] + d.bbox[2]), static_cast<int>(d.bbox[1] + d.bbox[3]));
    cv::rectangle(image, p1, p2, colour, thickness, cv::LINE_AA);

    const auto it = names.find(d.category_id);
    const std::string label =
        fmt::format("{} {:.2f}", it != names.end() ? it->second : std::to_string(d.category_id), d.score);
    int baseline = 0;
    const cv::Size text =
        cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, font_scale, font_thickness, &baseline);
    // Label above the box when it fits, else inside it.
    const bool above = p1.y - text.height - 3 >= 0;
    const cv::Point bg2(p1.x + text.width, above ? p1.y - text.height - 3 : p1.y + text.height + 3);
    cv::rectangle(image, p1, bg2, colour, cv::FILLED, cv::LINE_AA);
    cv::putText(image, label, cv::Point(p1.x, above ? p1.y - 2 : p1.y + text.height + 2),
                cv::FONT_HERSHEY_SIMPLEX, font_scale, cv::Scalar(255, 255, 255), font_thickness, cv::LINE_AA);
  }
}

}  // namespace partq
