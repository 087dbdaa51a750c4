// YOLO-txt label folders -> COCO ground truth, so one evaluator serves both dataset layouts.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "image_size_probe.hpp"
#include "partq/coco_io.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Appends the boxes of one label file (missing file = no objects) to `dataset`, in pixels.
void read_label_file(const fs::path& label_path, const CocoImage& image, CocoDataset& dataset) {
  std::ifstream in(label_path);
  if (!in) {
    if (fs::exists(label_path)) fail("{}: cannot open label file", label_path.string());
    return;
  }
  const auto& category_ids = coco80_category_ids();
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    std::istringstream fields(line);
    double cls = 0, cx = 0, cy = 0, w = 0, h = 0;
    if (!(fields >> cls)) continue;  // blank line
    std::string rest;
    if (!(fields >> cx >> cy >> w >> h) || (fields >> rest)) {
      fail("{}:{}: expected 5 numbers 'class cx cy w h', got '{}'", label_path.string(), line_number, line);
    }
    if (cls != static_cast<int>(cls) || cls < 0 || cls >= static_cast<double>(category_ids.size())) {
      fail("{}:{}: class {} is not a COCO-80 class index 0..79", label_path.string(), line_number, cls);
    }
    CocoAnnotation annotation;
    annotation.id = static_cast<int64_t>(dataset.annotations.size()) + 1;
    annotation.image_id = image.id;
    annotation.category_id = category_ids[static_cast<size_t>(cls)];
    const double box_w = w * image.width;
    const double box_h = h * image.height;
    annotation.bbox = {(cx - w / 2) * image.width, (cy - h / 2) * image.height, box_w, box_h};
    annotation.area = box_w * box_h;
    annotation.iscrowd = false;
    dataset.annotations.push_back(annotation);
  }
}

}  // namespace

CocoDataset load_yolo_labels(const std::string& image_dir, const std::string& label_dir) {
  std::error_code ec;
  if (!fs::is_directory(image_dir, ec)) fail("{}: image folder does not exist", image_dir);
  if (!fs::is_directory(label_dir, ec)) fail("{}: label folder does not exist", label_dir);

  std::vector<fs::path> image_paths;
  for (const auto& entry : fs::directory_iterator(image_dir)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) image_paths.push_back(entry.path());
  }
  std::sort(image_paths.begin(), image_paths.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  if (image_paths.empty()) fail("{}: no .jpg/.jpeg/.png/.bmp images in the folder", image_dir);

  // Numeric stems (COCO style 000000000139.jpg) become the image ids only when all of them are numeric and
  // distinct; otherwise a mix could collide, so every image gets its 1-based position instead.
  std::vector<int64_t> numeric_ids;
  for (const auto& path : image_paths) {
    const std::string stem = path.stem().string();
    if (!all_digits(stem)) break;
    numeric_ids.push_back(std::stoll(stem));
  }
  bool use_numeric = numeric_ids.size() == image_paths.size();
  if (use_numeric) {
    std::vector<int64_t> sorted = numeric_ids;
    std::sort(sorted.begin(), sorted.end());
    use_numeric = std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
  }

  CocoDataset dataset;
  const auto& ids = coco80_category_ids();
  const auto& names = coco80_names();
  for (size_t k = 0; k < ids.size(); ++k)
    dataset.categories.push_back({ids[k], names[k], ""});

  for (size_t i = 0; i < image_paths.size(); ++i) {
    const fs::path& path = image_paths[i];
    const ImageSize size = probe_image_size(path.string());
    CocoImage image;
    image.id = use_numeric ? numeric_ids[i] : static_cast<int64_t>(i) + 1;
    image.file_name = path.filename().string();
    image.width = size.width;
    image.height = size.height;
    read_label_file(fs::path(label_dir) / (path.stem().string() + ".txt"), image, dataset);
    dataset.images.push_back(std::move(image));
  }
  return dataset;
}

}  // namespace partq
