// Which images to run and in what order: a sorted directory listing or a COCO dataset's image table.
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>
#include <system_error>

namespace partq {
namespace {

bool is_image_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
    if (ext == known) return true;
  return false;
}

// COCO names files by zero-padded image id; anything else gets its position in the list.
bool numeric_stem(const std::string& stem, int64_t* id) {
  if (stem.empty() || stem.size() > 18) return false;
  for (char c : stem)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *id = std::stoll(stem);
  return true;
}

}  // namespace

cv::Mat read_image(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("{}: no such image file", path);
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    fail("{}: cannot decode image ({})", path, e.what());
  }
  if (img.empty()) fail("{}: cannot decode image", path);
  return img;
}

ImageList ImageList::from_directory(const std::string& dir, size_t limit) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) fail("{}: not a directory", dir);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && is_image_file(entry.path())) files.push_back(entry.path());
  if (ec) fail("{}: cannot list directory ({})", dir, ec.message());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename().string() < b.filename().string(); });
  if (limit > 0 && files.size() > limit) files.resize(limit);

  ImageList list;
  for (size_t i = 0; i < files.size(); ++i) {
    int64_t id = static_cast<int64_t>(i);
    numeric_stem(files[i].stem().string(), &id);
    list.entries.push_back({files[i].string(), id});
  }
  return list;
}

ImageList ImageList::from_coco(const CocoDataset& dataset, const std::string& images_dir, size_t limit) {
  ImageList list;
  for (const CocoImage& image : dataset.images) {
    if (limit > 0 && list.entries.size() >= limit) break;
    list.entries.push_back({(std::filesystem::path(images_dir) / image.file_name).string(), image.id});
  }
  return list;
}

ImageList ImageList::existing() const {
  ImageList out;
  for (const ImageEntry& e : entries) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(e.path, ec)) out.entries.push_back(e);
  }
  return out;
}

ImageList ImageList::sample(size_t n, uint64_t seed) const {
  ImageList out = *this;
  std::mt19937_64 rng(seed);
  for (size_t i = out.entries.size(); i > 1; --i)
    std::swap(out.entries[i - 1], out.entries[rng() % i]);
  if (out.entries.size() > n) out.entries.resize(n);
  return out;
}

}  // namespace partq
