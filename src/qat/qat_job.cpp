// partq qat: the FP32 model + a starting quantization (a Q/DQ model or a calibration file) -> the trained
// Q/DQ model with the same plan and activation scales.
#include <partq/detect.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>
#include <partq/qat.hpp>
#include <partq/quant_calib_file.hpp>
#include <partq/quant_qdq.hpp>

namespace partq {

namespace {

struct Start {
  QuantPlan plan{};
  std::map<std::string, float> amax{};
  std::string method{};  // calibration method ("" when read from a Q/DQ model)
};

Start start_from_qdq(const std::string& path, const Graph& graph) {
  auto start = load_model(path);
  if (!has_qdq(*start))
    fail("{}: has no QuantizeLinear / DequantizeLinear nodes; give a Q/DQ model (partq quantize) or --calib",
         path);
  QdqModel q;
  try {
    q = read_qdq(*start);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  check_plan_matches(q.plan, graph, path);
  Start s{.plan = std::move(q.plan)};
  for (const auto& [tensor, p] : q.activation_params) {
    if (p.asymmetric())
      fail(
          "{}: activation '{}' is uint8 with a zero point; QAT starts from symmetric int8 models only (partq "
          "auto --activations symmetric, or quantize without --asymmetric-activations)",
          path, tensor);
    s.amax[tensor] = p.scales.at(0) * 127.0f;
  }
  return s;
}

Start start_from_calibration(const std::string& path, const Graph& graph, bool keep_first_conv_float,
                             bool reduce_range, std::vector<std::string>& warnings) {
  const CalibrationTable table = read_calibration(path);
  if (std::string w = check_calibration_matches(table, graph, path); !w.empty()) warnings.push_back(w);
  return {.plan = plan_quantization(graph, {.keep_first_conv_float = keep_first_conv_float,
                                            .weight_max_code = weight_max_code_for(reduce_range)}),
          .amax = table.amax,
          .method = table.method};
}

}  // namespace

QatJobReport qat_model(const QatJobOptions& o) {
  if (o.output.empty()) fail("no output file given (-o MODEL.qat.qdq.onnx)");
  if (o.from.empty() == o.calib.empty())
    fail("give the starting quantization: exactly one of --from MODEL.qdq.onnx or --calib MODEL.calib.json");
  if (o.images.empty()) fail("QAT needs training images: --images DIR");
  if (o.loss != "detections" && o.loss != "features")
    fail("unknown --loss '{}' (features, detections)", o.loss);
  check_qat_options(o.training);
  auto graph = load_model(o.model);
  if (has_qdq(*graph))
    fail("{}: the model is already quantized; give its FP32 model (the teacher) and the Q/DQ model as --from",
         o.model);
  QatJobReport report{.model = o.model, .start = o.from.empty() ? o.calib : o.from, .output = o.output};
  Start start = o.from.empty() ? start_from_calibration(o.calib, *graph, o.keep_first_conv_float,
                                                        o.reduce_range, report.warnings)
                               : start_from_qdq(o.from, *graph);
  for (const QuantNode& n : start.plan.nodes)
    (n.precision == Precision::kInt8 ? report.int8_nodes : report.float_nodes) += 1;
  report.weights = weights_name(start.plan.weight_max_code == kReducedRangeMaxCode);

  const Preset preset = resolve_preset(*graph, o.preset);
  QatOptions training = o.training;
  const bool single_output_head = preset.decoder == DecoderKind::kYolov5 ||
                                  preset.decoder == DecoderKind::kYolov6 ||
                                  preset.decoder == DecoderKind::kYolox;
  training.loss = o.loss == "detections" ? QatLoss::kDetections : QatLoss::kFeatures;
  if (training.loss == QatLoss::kDetections && !single_output_head)
    fail(
        "--loss detections needs an [N, A, 5+C] head (presets yolov5, yolov6, yolox); preset {} has another "
        "layout: use --loss features",
        preset.name);
  training.boxes_in_pixels = preset.decoder != DecoderKind::kYolox;
  report.loss = qat_loss_name(training.loss);

  const auto batches = load_input_batches({.images = o.images,
                                           .count = o.num_images,
                                           .seed = o.training.seed,
                                           .batch = o.batch,
                                           .quiet = o.training.quiet},
                                          preset);
  report.training = train_qat(*graph, start.plan, start.amax, batches, training);

  if (!report.training.learned_amax.empty()) start.amax = report.training.learned_amax;
  save_onnx(*insert_qdq(*graph, start.plan, start.amax), o.output);
  if (!o.trt_cache.empty())
    write_trt_calibration_cache(
        o.trt_cache, group_amax(start.plan, start.amax),
        {.calibrator = start.method == "max" ? TrtCalibrator::kMinMax : TrtCalibrator::kEntropy2});
  return report;
}

nlohmann::json to_json(const QatJobReport& r) {
  return {{"model", r.model},
          {"start", r.start},
          {"output", r.output},
          {"int8_nodes", r.int8_nodes},
          {"float_nodes", r.float_nodes},
          {"weights", r.weights},
          {"loss", r.loss},
          {"training", to_json(r.training)},
          {"warnings", r.warnings}};
}

}  // namespace partq
