// partq quantize: a calibration file + the model -> the Q/DQ ONNX of the quantization plan.
#include <partq/bias_correction.hpp>
#include <partq/engine_quant.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/quant.hpp>
#include <partq/quant_calib_file.hpp>

#include "ptq_plan.hpp"

namespace partq {

QuantizeReport quantize_model(const QuantizeOptions& o) {
  if (o.output.empty()) fail("no output file given (-o MODEL.qdq.onnx)");
  if (o.calib.empty()) fail("no calibration file given (--calib MODEL.calib.json)");
  auto graph = load_model(o.model);
  if (ptq::graph_has_qdq(*graph))
    fail(
        "{}: the model is already quantized (it has QuantizeLinear / DequantizeLinear nodes); quantize its "
        "FP32 model",
        o.model);
  const CalibrationTable table = read_calibration(o.calib);
  QuantizeReport report{
      .model = o.model, .output = o.output, .method = table.method, .weights = weights_name(o.reduce_range)};
  // Tensors this model lacks: an Error naming them; same tensors, other weights: a warning.
  if (std::string warning = check_calibration_matches(table, *graph, o.calib); !warning.empty())
    report.warnings.push_back(std::move(warning));

  // Bias correction changes weights, not the graph's structure: the bounds hold before and after it.
  const std::map<std::string, float> bounds = lower_bounds_for(*graph, o.asymmetric_activations);
  const int weight_max_code = weight_max_code_for(o.reduce_range);
  if (o.bias_correction) {
    if (o.images.empty()) fail("bias correction needs sample images: --images DIR");
    const BiasCorrectionMode mode = parse_bias_correction_mode(o.bias_mode);
    const auto batches = load_input_batches({.images = o.images, .count = o.bias_images, .quiet = o.quiet},
                                            resolve_preset(*graph, o.preset));
    const EngineOptions int8 = int8_options_from_plan(
        plan_quantization(
            *graph, {.keep_first_conv_float = o.keep_first_conv_float, .weight_max_code = weight_max_code}),
        table.amax, {}, bounds);
    const BiasCorrectionReport bc =
        correct_biases(*graph, int8, batches, {.mode = mode, .threads = o.threads, .quiet = o.quiet});
    apply_biases(*graph, bc.biases);
    report.bias_correction = to_json(bc);
  }

  const ptq::PlanFacts plan = ptq::plan_facts(*graph, o.keep_first_conv_float);
  std::unique_ptr<Graph> qdq =
      ptq::qdq_graph(*graph, o.keep_first_conv_float, table.amax, bounds, weight_max_code);
  save_onnx(*qdq, o.output);
  if (!o.trt_cache.empty())
    write_trt_calibration_cache(
        o.trt_cache, ptq::shared_amax(*graph, o.keep_first_conv_float, table.amax),
        {.calibrator = table.method == "max" ? TrtCalibrator::kMinMax : TrtCalibrator::kEntropy2});

  report.int8_nodes = static_cast<int>(plan.int8_nodes.size());
  report.float_nodes = plan.float_nodes;
  report.quantized_tensors = static_cast<int>(plan.activations.size());
  report.scale_groups = plan.scale_groups;
  return report;
}

QuantizationSummary inspect_quantization(const std::string& path, bool keep_first_conv_float) {
  auto graph = load_model(path);
  ptq::PlanDescription d;
  try {
    d = ptq::describe(*graph, keep_first_conv_float);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return {.from_qdq = d.from_qdq, .text = std::move(d.text), .plan = std::move(d.json)};
}

nlohmann::json to_json(const QuantizeReport& r) {
  return {{"model", r.model},
          {"output", r.output},
          {"method", r.method},
          {"weights", r.weights},
          {"int8_nodes", r.int8_nodes},
          {"float_nodes", r.float_nodes},
          {"quantized_tensors", r.quantized_tensors},
          {"scale_groups", r.scale_groups},
          {"bias_correction", r.bias_correction},
          {"warnings", r.warnings}};
}

}  // namespace partq
