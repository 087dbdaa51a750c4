// The preprocessing profiles, written as the same OpenCV calls the upstream Python makes, so the model
// input is identical (not merely close) to what Ultralytics / YOLOX feed their models.
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <fmt/ranges.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace partq {
namespace {

// Python's round(): half to even, which std::nearbyint gives in the default rounding mode.
int python_round(double x) {
  return static_cast<int>(std::nearbyint(x));
}

void check_input(const cv::Mat& bgr, int input_w, int input_h) {
  if (bgr.empty()) fail("preprocess: empty image");
  if (bgr.type() != CV_8UC3)
    fail("preprocess: expected an 8-bit 3-channel BGR image, got type {}", bgr.type());
  if (input_w <= 0 || input_h <= 0) fail("preprocess: bad input size {}x{}", input_w, input_h);
}

// utils/augmentations.py letterbox(im, new_shape, color=(114,114,114), auto=False, scaleFill=False,
// scaleup=True). All arithmetic in double, as Python does it.
cv::Mat ultralytics_letterbox(const cv::Mat& bgr, int input_w, int input_h, Letterbox* info) {
  const int h = bgr.rows, w = bgr.cols;
  const double r = std::min(static_cast<double>(input_h) / h, static_cast<double>(input_w) / w);
  const int unpad_w = python_round(w * r), unpad_h = python_round(h * r);
  const double dw = (input_w - unpad_w) / 2.0, dh = (input_h - unpad_h) / 2.0;
  cv::Mat resized = bgr;
  if (unpad_w != w || unpad_h != h)
    cv::resize(bgr, resized, cv::Size(unpad_w, unpad_h), 0, 0, cv::INTER_LINEAR);
  const int top = python_round(dh - 0.1), bottom = python_round(dh + 0.1);
  const int left = python_round(dw - 0.1), right = python_round(dw + 0.1);
  cv::Mat out;
  cv::copyMakeBorder(resized, out, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar(114, 114, 114));
  if (info) *info = {static_cast<float>(r), static_cast<float>(dw), static_cast<float>(dh), w, h};
  return out;
}

// yolox/data/data_augment.py preproc(img, input_size): truncating int(), top-left paste on 114 (DAMO-YOLO:
// on 0).
cv::Mat top_left(const cv::Mat& bgr, int input_w, int input_h, double pad, Letterbox* info) {
  const int h = bgr.rows, w = bgr.cols;
  const double r = std::min(static_cast<double>(input_h) / h, static_cast<double>(input_w) / w);
  const int new_w = static_cast<int>(w * r), new_h = static_cast<int>(h * r);
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(new_w, new_h), 0, 0, cv::INTER_LINEAR);
  cv::Mat out(input_h, input_w, CV_8UC3, cv::Scalar(pad, pad, pad));
  resized.copyTo(out(cv::Rect(0, 0, new_w, new_h)));
  if (info) *info = {static_cast<float>(r), 0.0f, 0.0f, w, h};
  return out;
}

// A resize to the whole input, aspect ratio not kept. `by_factors`: cv2.resize(im, None, fx=, fy=) as
// PaddleDetection calls it (OpenCV then samples with the factors given, not with the rounded size's ratio).
cv::Mat stretch(const cv::Mat& bgr, int input_w, int input_h, int interpolation, bool by_factors,
                Letterbox* info) {
  const int h = bgr.rows, w = bgr.cols;
  const double fx = static_cast<double>(input_w) / w, fy = static_cast<double>(input_h) / h;
  cv::Mat out;
  if (by_factors)
    cv::resize(bgr, out, cv::Size(), fx, fy, interpolation);
  else
    cv::resize(bgr, out, cv::Size(input_w, input_h), 0, 0, interpolation);
  if (out.cols != input_w || out.rows != input_h)
    fail("preprocess: a {}x{} image stretched to {}x{}, not {}x{}", w, h, out.cols, out.rows, input_w,
         input_h);
  if (info) *info = {static_cast<float>(fx), 0.0f, 0.0f, w, h, static_cast<float>(fy)};
  return out;
}

}  // namespace

const char* profile_name(PreprocessProfile profile) {
  switch (profile) {
    case PreprocessProfile::kYolov5Letterbox:
      return "yolov5-letterbox";
    case PreprocessProfile::kYoloxTopLeft:
      return "yolox-top-left";
    case PreprocessProfile::kDamoyoloTopLeft:
      return "damoyolo-top-left";
    case PreprocessProfile::kUltralyticsStretch:
      return "ultralytics-stretch";
    case PreprocessProfile::kPpyoloeStretch:
      return "ppyoloe-stretch";
  }
  return "?";
}

constexpr PreprocessProfile kProfiles[] = {
    PreprocessProfile::kYolov5Letterbox, PreprocessProfile::kYoloxTopLeft,
    PreprocessProfile::kDamoyoloTopLeft, PreprocessProfile::kUltralyticsStretch,
    PreprocessProfile::kPpyoloeStretch};

std::vector<std::string> profile_names() {
  std::vector<std::string> names;
  for (auto p : kProfiles)
    names.emplace_back(profile_name(p));
  return names;
}

PreprocessProfile profile_by_name(const std::string& name) {
  for (auto p : kProfiles)
    if (name == profile_name(p)) return p;
  fail("unknown preprocessing '{}' (known: {})", name, fmt::join(profile_names(), ", "));
}

cv::Mat letterbox_image(const cv::Mat& bgr, PreprocessProfile profile, int input_w, int input_h,
                        Letterbox* info) {
  check_input(bgr, input_w, input_h);
  switch (profile) {
    case PreprocessProfile::kYolov5Letterbox:
      return ultralytics_letterbox(bgr, input_w, input_h, info);
    case PreprocessProfile::kYoloxTopLeft:
      return top_left(bgr, input_w, input_h, 114, info);
    case PreprocessProfile::kDamoyoloTopLeft:
      return top_left(bgr, input_w, input_h, 0, info);
    case PreprocessProfile::kUltralyticsStretch:
      return stretch(bgr, input_w, input_h, cv::INTER_LINEAR, false, info);
    case PreprocessProfile::kPpyoloeStretch:
      return stretch(bgr, input_w, input_h, cv::INTER_CUBIC, true, info);
  }
  fail("preprocess: unknown profile {}", static_cast<int>(profile));
}

Letterbox preprocess(const cv::Mat& bgr, PreprocessProfile profile, int input_w, int input_h,
                     std::span<float> out_chw) {
  const size_t plane = static_cast<size_t>(input_w) * input_h;
  if (out_chw.size() != 3 * plane)
    fail("preprocess: output holds {} floats, a {}x{} input needs {}", out_chw.size(), input_w, input_h,
         3 * plane);
  Letterbox info;
  const cv::Mat img = letterbox_image(bgr, profile, input_w, input_h, &info);
  // Ultralytics and PP-YOLOE: RGB then /255 in float32; YOLOX: BGR as is, 0..255; DAMO-YOLO: RGB, 0..255.
  const bool to_rgb = profile != PreprocessProfile::kYoloxTopLeft;
  const bool unit_range = profile == PreprocessProfile::kYolov5Letterbox ||
                          profile == PreprocessProfile::kUltralyticsStretch ||
                          profile == PreprocessProfile::kPpyoloeStretch;
  for (int y = 0; y < input_h; ++y) {
    const uint8_t* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < input_w; ++x) {
      const size_t at = static_cast<size_t>(y) * input_w + x;
      for (int c = 0; c < 3; ++c) {
        const int src_c = to_rgb ? 2 - c : c;
        const float v = static_cast<float>(row[3 * x + src_c]);
        out_chw[c * plane + at] = unit_range ? v / 255.0f : v;
      }
    }
  }
  return info;
}

}  // namespace partq
