// COCO instances files (ground truth) and COCO results files (detections) <-> partq's COCO types.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "partq/coco_io.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

using nlohmann::json;

json parse_json_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open {} file", path, what);
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    fail("{}: {} file is not valid JSON ({})", path, what, e.what());
  }
}

// The member `key` of `object`, which must exist; `where` says which entry it is, for the message.
const json& member(const json& object, const char* key, const std::string& path, const std::string& where) {
  if (!object.is_object()) fail("{}: {} is not a JSON object", path, where);
  const auto it = object.find(key);
  if (it == object.end()) fail("{}: {} has no \"{}\"", path, where, key);
  return *it;
}

double number(const json& value, const std::string& path, const std::string& where) {
  if (!value.is_number()) fail("{}: {} is not a number", path, where);
  return value.get<double>();
}

int64_t integer(const json& value, const std::string& path, const std::string& where) {
  if (value.is_number_integer()) return value.get<int64_t>();
  // Some writers emit ids as 139.0; accept integral floats only.
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (std::nearbyint(v) == v && std::abs(v) < 9.0e15) return static_cast<int64_t>(v);
  }
  fail("{}: {} is not an integer", path, where);
}

std::array<double, 4> box(const json& value, const std::string& path, const std::string& where) {
  if (!value.is_array() || value.size() != 4)
    fail("{}: {} is not a list of 4 numbers [x, y, w, h]", path, where);
  std::array<double, 4> result{};
  for (size_t i = 0; i < 4; ++i)
    result[i] = number(value[i], path, where);
  return result;
}

const json& list_member(const json& root, const char* key, const std::string& path) {
  const json& list = member(root, key, path, "the top-level object");
  if (!list.is_array()) fail("{}: \"{}\" is not a list", path, key);
  return list;
}

// Shortest decimal text that reads back as the same float: what pycocotools will read as float64.
void append_float(std::string& out, float value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  (void)ec;  // 32 bytes always fit a float
  out.append(buffer, end);
}

}  // namespace

CocoDataset load_coco_annotations(const std::string& path) {
  const json root = parse_json_file(path, "COCO annotation");
  if (!root.is_object()) fail("{}: COCO annotation file must hold a JSON object", path);
  CocoDataset dataset;

  const json& images = list_member(root, "images", path);
  dataset.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const json& entry = images[i];
    const std::string where = fmt::format("images[{}]", i);
    CocoImage image;
    image.id = integer(member(entry, "id", path, where), path, where + ".id");
    image.width = static_cast<int>(integer(member(entry, "width", path, where), path, where + ".width"));
    image.height = static_cast<int>(integer(member(entry, "height", path, where), path, where + ".height"));
    if (const auto it = entry.find("file_name"); it != entry.end() && it->is_string()) {
      image.file_name = it->get<std::string>();
    }
    dataset.images.push_back(std::move(image));
  }

  const json& categories = list_member(root, "categories", path);
  dataset.categories.reserve(categories.size());
  for (size_t i = 0; i < categories.size(); ++i) {
    const json& entry = categories[i];
    const std::string where = fmt::format("categories[{}]", i);
    CocoCategory category;
    category.id = integer(member(entry, "id", path, where), path, where + ".id");
    if (const auto it = entry.find("name"); it != entry.end() && it->is_string()) {
      category.name = it->get<std::string>();
    }
    if (const auto it = entry.find("supercategory"); it != entry.end() && it->is_string()) {
      category.supercategory = it->get<std::string>();
    }
    dataset.categories.push_back(std::move(category));
  }

  const json& annotations = list_member(root, "annotations", path);
  dataset.annotations.reserve(annotations.size());
  for (size_t i = 0; i < annotations.size(); ++i) {
    const json& entry = annotations[i];
    const std::string where = fmt::format("annotations[{}]", i);
    CocoAnnotation annotation;
    annotation.id = integer(member(entry, "id", path, where), path, where + ".id");
    annotation.image_id = integer(member(entry, "image_id", path, where), path, where + ".image_id");
    annotation.category_id = integer(member(entry, "category_id", path, where), path, where + ".category_id");
    annotation.bbox = box(member(entry, "bbox", path, where), path, where + ".bbox");
    if (const auto it = entry.find("area"); it != entry.end()) {
      annotation.area = number(*it, path, where + ".area");
    } else {
      annotation.area = annotation.bbox[2] * annotation.bbox[3];
    }
    if (const auto it = entry.find("iscrowd"); it != entry.end()) {
      annotation.iscrowd = integer(*it, path, where + ".iscrowd") != 0;
    }
    dataset.annotations.push_back(annotation);
  }
  return dataset;
}

std::vector<Detection> load_coco_detections(const std::string& path) {
  const json root = parse_json_file(path, "COCO results");
  if (!root.is_array()) fail("{}: COCO results file must hold a JSON list of detections", path);
  std::vector<Detection> detections;
  detections.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const json& entry = root[i];
    const std::string where = fmt::format("detection [{}]", i);
    Detection detection;
    detection.image_id = integer(member(entry, "image_id", path, where), path, where + ".image_id");
    detection.category_id = integer(member(entry, "category_id", path, where), path, where + ".category_id");
    const std::array<double, 4> bbox = box(member(entry, "bbox", path, where), path, where + ".bbox");
    for (size_t k = 0; k < 4; ++k)
      detection.bbox[k] = static_cast<float>(bbox[k]);
    detection.score = static_cast<float>(number(member(entry, "score", path, where), path, where + ".score"));
    detections.push_back(detection);
  }
  return detections;
}

void save_coco_detections(const std::string& path, const std::vector<Detection>& detections) {
  std::string text = "[";
  text.reserve(detections.size() * 96 + 8);
  for (size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    for (const float v : {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.score}) {
      if (!std::isfinite(v)) {
        fail("{}: cannot save detection {} (image {}): it holds a non-finite number", path, i, d.image_id);
      }
    }
    text += i == 0 ? "\n" : ",\n";
    text += fmt::format("{{\"image_id\": {}, \"category_id\": {}, \"bbox\": [", d.image_id, d.category_id);
    for (size_t k = 0; k < 4; ++k) {
      if (k > 0) text += ", ";
      append_float(text, d.bbox[k]);
    }
    text += "], \"score\": ";
    append_float(text, d.score);
    text += "}";
  }
  text += "\n]\n";

  // Write next to the target and rename, so a crash never leaves a truncated results file behind.
  const std::string temp_path = path + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot open for writing", temp_path);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) fail("{}: write failed", temp_path);
  }
  std::error_code ec;
  std::filesystem::rename(temp_path, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(temp_path, ec);
    fail("{}: cannot rename {} onto it ({})", path, temp_path, reason);
  }
}

}  // namespace partq
