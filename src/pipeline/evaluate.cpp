#include <partq/coco_io.hpp>
#include <partq/data.hpp>
#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/util/progress.hpp>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>

#include "nms_thresholds.hpp"

namespace partq {
namespace {

// The labels and the listed images that are in the directory, with one error for each way the pair can be
// wrong. Annotations often list more images than a directory copied out of the dataset holds: the ones that
// are there count, the others are only counted.
struct LabelledImages {
  CocoDataset labels;
  ImageList images;
  size_t listed = 0;
};

LabelledImages find_labelled_images(const std::string& images, const std::string& annotations) {
  if (!std::filesystem::is_directory(images)) fail("{}: not a directory of images", images);
  LabelledImages set;
  set.labels = std::filesystem::is_directory(annotations) ? load_yolo_labels(images, annotations)
                                                          : load_coco_annotations(annotations);
  set.listed = set.labels.images.size();
  if (set.listed == 0) fail("{}: the annotations list no images", annotations);
  set.images = ImageList::from_coco(set.labels, images).existing();
  if (set.images.size() == 0)
    fail("{}: none of the {} images {} lists is in this directory (the first would be {})", images,
         set.listed, annotations, set.labels.images.front().file_name);
  return set;
}

// Copies the batch into the engine's input tensor, which is reused across batches: fresh multi-megabyte
// buffers per batch cost more in page faults than the copy.
void fill_input(const Batch& batch, Tensor& input) {
  if (input.shape != batch.shape) input = Tensor(DType::kFloat32, batch.shape);
  std::memcpy(input.bytes.data(), batch.data.data(), batch.data.size() * sizeof(float));
}

}  // namespace

size_t check_labelled_images(const std::string& images, const std::string& annotations) {
  return find_labelled_images(images, annotations).images.size();
}

EvalReport evaluate_model(const EvalOptions& options) {
  if (options.batch < 1) fail("--batch must be at least 1, got {}", options.batch);
  LabelledImages set = find_labelled_images(options.images, options.annotations);
  PreparedModel model = prepare_model(options.model);  // FP32, or a Q/DQ model run in INT8
  auto& graph = model.graph;
  const Preset preset = resolve_preset(*graph, options.preset);
  const CocoDataset& gt = set.labels;
  const size_t listed = set.listed;
  ImageList& list = set.images;
  const int64_t missing = static_cast<int64_t>(listed - list.size());
  if (missing > 0 && !options.quiet)
    fmt::print(stderr, "warning: {} of the {} images {} lists are not in {}: evaluating the {} that are\n",
               missing, listed, options.annotations, options.images, list.size());
  if (options.limit > 0 && list.size() > options.limit) list.entries.resize(options.limit);

  EngineOptions engine_options = model.engine_options;
  engine_options.threads = options.threads;
  engine_options.batch = options.batch;
  engine_options.int8_silu_table = options.fast_silu;
  auto engine = Engine::create(*graph, engine_options);
  graph.reset();
  const NmsOptions nms = nms_thresholds(preset, preset.eval, options.conf, options.iou, options.quiet);
  const Decoder decoder(preset.decoder, preset.input_w, preset.input_h, nms, preset.num_classes);
  // Fail before the loop, not after the first batch, when the output fits no decoder.
  std::vector<Shape> output_shapes;
  for (const TensorInfo& info : engine->outputs())
    output_shapes.push_back(info.shape);
  try {
    detect_decoder(output_shapes, preset.input_w, preset.input_h, preset.decoder);
  } catch (const Error& e) {
    fail("{} (preset {}): {}", options.model, preset.name, e.what());
  }

  EvalReport report{.model = options.model,
                    .preset = preset.name,
                    .batch = options.batch,
                    .threads = options.threads > 0 ? options.threads : hardware_threads(),
                    .fast_silu = options.fast_silu};
  BatchLoaderOptions loading;
  loading.batch_size = options.batch;
  loading.input_w = preset.input_w;
  loading.input_h = preset.input_h;
  loading.profile = preset.profile;
  BatchLoader loader(list, loading);
  Progress progress("eval", static_cast<int64_t>(list.size()), {.quiet = options.quiet});
  std::vector<Detection> detections;
  std::vector<int64_t> evaluated_ids;
  double inference_ms = 0;
  Stopwatch wall;
  Batch batch;
  std::vector<Tensor> inputs(1), outputs;
  while (loader.next(batch)) {
    fill_input(batch, inputs[0]);
    Stopwatch infer;
    engine->run(inputs, outputs);
    inference_ms += infer.elapsed_ms();
    auto per_image = decoder.decode(outputs, batch.letterboxes, batch.image_ids);
    for (auto& image : per_image)
      detections.insert(detections.end(), image.begin(), image.end());
    evaluated_ids.insert(evaluated_ids.end(), batch.image_ids.begin(), batch.image_ids.end());
    progress.advance(static_cast<int64_t>(batch.size()));
  }
  progress.finish();
  report.seconds = wall.elapsed_s();
  report.conf = nms.conf_threshold;
  report.iou = nms.iou_threshold;
  report.skipped = static_cast<int64_t>(loader.skipped().size());
  report.missing = missing;
  report.images = static_cast<int64_t>(evaluated_ids.size());
  if (report.images == 0) fail("{}: none of the {} images could be read", options.images, list.size());
  report.inference_ms_per_image = inference_ms / static_cast<double>(report.images);
  report.detections = static_cast<int64_t>(detections.size());

  if (!options.save_detections.empty()) save_coco_detections(options.save_detections, detections);
  // Only the images that were run count: a --limit or an unreadable image must not turn into misses.
  report.coco = evaluate_coco(gt, detections, {.image_ids = evaluated_ids});
  return report;
}

nlohmann::json to_json(const EvalReport& r) {
  static const char* kStatNames[12] = {"AP",  "AP50", "AP75",  "AP_small", "AP_medium", "AP_large",
                                       "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large"};
  nlohmann::json stats = nlohmann::json::object();
  for (size_t i = 0; i < 12; ++i)
    stats[kStatNames[i]] = r.coco.stats[i];
  nlohmann::json per_category = nlohmann::json::array();
  for (const auto& c : r.coco.per_category)
    per_category.push_back(
        {{"category_id", c.category_id}, {"name", c.name}, {"AP", c.ap}, {"AP50", c.ap50}});
  return {{"model", r.model},
          {"preset", r.preset},
          {"mAP50_95", r.coco.stats[0]},
          {"mAP50", r.coco.stats[1]},
          {"stats", r.coco.stats},
          {"stats_named", stats},
          {"per_category", per_category},
          {"images", r.images},
          {"skipped_images", r.skipped},
          {"missing_images", r.missing},
          {"detections", r.detections},
          {"conf_threshold", r.conf},
          {"iou_threshold", r.iou},
          {"batch", r.batch},
          {"threads", r.threads},
          {"fast_silu", r.fast_silu},
          {"seconds", r.seconds},
          {"inference_ms_per_image", r.inference_ms_per_image}};
}

}  // namespace partq
