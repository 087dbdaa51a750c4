#include <partq/data.hpp>
#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/util/atomic_file.hpp>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <map>

#include "nms_thresholds.hpp"

namespace partq {

namespace {

// The image files named, with each directory replaced by the image files in it.
std::vector<std::string> expand_images(const std::vector<std::string>& named) {
  std::vector<std::string> files;
  for (const std::string& path : named) {
    if (std::filesystem::is_directory(path)) {
      const ImageList list = ImageList::from_directory(path);
      if (list.size() == 0)
        fail("{}: no image files (jpg, jpeg, png, bmp, webp, tif) in this directory", path);
      for (const ImageEntry& e : list.entries)
        files.push_back(e.path);
    } else if (!std::filesystem::is_regular_file(path)) {
      fail("{}: no such image file", path);
    } else {
      files.push_back(path);
    }
  }
  // Each drawing takes its input's file name in the output directory: two inputs of one name would write
  // the same file.
  std::map<std::string, std::string> by_name;
  for (const std::string& file : files) {
    const std::string name = std::filesystem::path(file).filename().string();
    auto [it, added] = by_name.try_emplace(name, file);
    if (!added)
      fail("{} and {} would both be drawn to {} in the output directory: detect them in two runs", it->second,
           file, name);
  }
  return files;
}

}  // namespace

std::vector<DetectedImage> detect_images(const DetectOptions& options) {
  if (options.images.empty()) fail("no images given");
  if (options.output_dir.empty()) fail("no output directory given (-o DIR)");
  const std::vector<std::string> images = expand_images(options.images);
  PreparedModel model = prepare_model(options.model);  // FP32, or a Q/DQ model run in INT8
  auto& graph = model.graph;
  const Preset preset = resolve_preset(*graph, options.preset);
  EngineOptions engine_options = model.engine_options;
  engine_options.threads = options.threads;
  engine_options.batch = 1;
  auto engine = Engine::create(*graph, engine_options);
  graph.reset();
  const NmsOptions nms = nms_thresholds(preset, preset.demo, options.conf, options.iou, /*quiet=*/false);
  const Decoder decoder(preset.decoder, preset.input_w, preset.input_h, nms, preset.num_classes);
  const auto names = coco80_names_by_category_id();

  std::error_code ec;
  std::filesystem::create_directories(options.output_dir, ec);
  if (ec) fail("{}: cannot create the output directory: {}", options.output_dir, ec.message());

  std::vector<DetectedImage> results;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string& path = images[i];
    cv::Mat image = read_image(path);
    Tensor input(DType::kFloat32, {1, 3, preset.input_h, preset.input_w});
    const Letterbox box =
        preprocess(image, preset.profile, preset.input_w, preset.input_h, input.as<float>());
    std::vector<Tensor> outputs = engine->run({std::move(input)});
    const int64_t image_id = static_cast<int64_t>(i);
    auto per_image =
        decoder.decode(outputs, std::span<const Letterbox>(&box, 1), std::span<const int64_t>(&image_id, 1));
    DetectedImage result{.input = path, .detections = std::move(per_image.front())};
    draw_detections(image, result.detections, names);
    const std::filesystem::path name = std::filesystem::path(path).filename();
    result.output = (std::filesystem::path(options.output_dir) / name).string();
    std::vector<uchar> encoded;
    std::string extension = name.extension().string();
    if (extension.empty()) extension = ".jpg";
    if (!cv::imencode(extension, image, encoded))
      fail("{}: cannot encode the annotated image", result.output);
    write_file_atomic(result.output,
                      std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace partq
