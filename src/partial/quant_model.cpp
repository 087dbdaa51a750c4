#include "quant_model.hpp"

#include <partq/engine_quant.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>
#include <partq/quant_calib_file.hpp>
#include <partq/quant_qdq.hpp>

namespace partq::partial {

namespace {

EngineOptions options_for(const QuantModel& m, std::map<std::string, Precision> overrides) {
  for (const std::string& n : m.always_float)
    overrides[n] = Precision::kFloat32;
  const QuantPlan plan =
      plan_quantization(*m.graph, {.overrides = std::move(overrides), .weight_max_code = m.weight_max_code});
  EngineOptions base;
  base.threads = m.threads;
  return int8_options_from_plan(plan, m.amax, base, m.lower_bounds);
}

}  // namespace

QuantModel load_quant_model(const QuantModelOptions& o) {
  if (o.calib.empty()) fail("no calibration file given (--calib MODEL.calib.json)");
  QuantModel m;
  m.path = o.model;
  m.calib_path = o.calib;
  m.threads = o.threads;
  m.graph = load_model(o.model);
  if (has_qdq(*m.graph))
    fail(
        "{}: the model is already quantized (it has QuantizeLinear / DequantizeLinear nodes); use its FP32 "
        "model",
        o.model);
  m.preset = resolve_preset(*m.graph, o.preset);
  const CalibrationTable table = read_calibration(o.calib);
  if (std::string w = check_calibration_matches(table, *m.graph, o.calib); !w.empty())
    m.warnings.push_back(std::move(w));
  m.calibration_method = table.method;
  m.amax = table.amax;
  m.fingerprint = model_fingerprint(*m.graph);
  m.lower_bounds = lower_bounds_for(*m.graph, o.asymmetric_activations);
  m.weight_max_code = weight_max_code_for(o.reduce_range);

  if (o.keep_first_conv_float)
    for (const QuantNode& n : plan_quantization(*m.graph, {.keep_first_conv_float = true}).nodes)
      if (n.reason == "--keep-first-conv-float") m.always_float.insert(n.name);
  for (QuantLayer& l : quant_layers(*m.graph)) {
    bool fixed = false;
    for (const std::string& n : l.nodes)
      fixed = fixed || m.always_float.count(n);
    if (!fixed) m.layers.push_back(std::move(l));
  }
  const int64_t own =
      m.graph->inputs.empty() || m.graph->inputs[0]->shape.empty() ? -1 : m.graph->inputs[0]->shape[0];
  if (own != o.batch) set_batch(*m.graph, o.batch);
  // Every configuration must be plannable: fail here, naming the tensors, when the calibration lacks one.
  options_for(m, {});
  return m;
}

std::set<std::string> layer_nodes(const QuantModel& m, const std::set<size_t>& layers) {
  std::set<std::string> nodes;
  for (size_t i : layers)
    nodes.insert(m.layers.at(i).nodes.begin(), m.layers.at(i).nodes.end());
  return nodes;
}

EngineOptions options_with_float_layers(const QuantModel& m, const std::set<size_t>& float_layers) {
  std::map<std::string, Precision> overrides;
  for (const std::string& n : layer_nodes(m, float_layers))
    overrides[n] = Precision::kFloat32;
  return options_for(m, std::move(overrides));
}

EngineOptions options_with_int8_layers(const QuantModel& m, const std::set<size_t>& int8_layers) {
  std::map<std::string, Precision> overrides;
  for (const QuantLayer& l : m.layers)
    for (const std::string& n : l.nodes)
      overrides[n] = Precision::kFloat32;
  for (const std::string& n : layer_nodes(m, int8_layers))
    overrides[n] = Precision::kInt8;
  return options_for(m, std::move(overrides));
}

EngineOptions float_options(const QuantModel& m) {
  return options_with_int8_layers(m, {});
}

size_t find_layer(const QuantModel& m, const std::string& name) {
  for (size_t i = 0; i < m.layers.size(); ++i)
    if (m.layers[i].name == name) return i;
  for (size_t i = 0; i < m.layers.size(); ++i)
    for (const std::string& n : m.layers[i].nodes)
      if (n == name) return i;
  fail("{}: no quantizable layer named '{}'", m.path, name);
}

}  // namespace partq::partial
