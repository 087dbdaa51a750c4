// A float model with its calibration, specialised to one batch, and the engine options of any mix of float
// and INT8 layers on it -- what sensitivity sweeps and partial-quantization searches evaluate over and over.
#pragma once

#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/ir.hpp>
#include <partq/quant.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace partq::partial {

struct QuantModel {
  std::string path;
  std::unique_ptr<Graph> graph;  // prepared float graph, batch-specialised
  Preset preset;
  std::string calib_path, calibration_method, fingerprint;
  std::map<std::string, float> amax;          // the calibration file's per-tensor amax
  std::map<std::string, float> lower_bounds;  // asymmetric activations: activation_lower_bounds; else empty
  std::vector<QuantLayer> layers;             // the units that flip (first conv excluded with keep_first)
  std::set<std::string> always_float;         // nodes kept float in every configuration
  int weight_max_code = 127;                  // 63 with reduced-range weights
  std::vector<std::string> warnings;  // e.g. a calibration file of the same architecture, other weights
  int threads = 0;
};

struct QuantModelOptions {
  std::string model, calib;
  std::optional<std::string> preset;
  int batch = 1;
  int threads = 0;
  bool keep_first_conv_float = false;
  bool asymmetric_activations = false;
  bool reduce_range = false;  // 7-bit weights (QuantizeOptions::reduce_range)
};

// Errors: a Q/DQ model (quantize its float model), a calibration file of another model, anything load_model
// refuses.
QuantModel load_quant_model(const QuantModelOptions& options);

// Engine options for: the layers whose index is in `float_layers` float, every other layer INT8.
EngineOptions options_with_float_layers(const QuantModel& model, const std::set<size_t>& float_layers);
// Engine options for: only the layers in `int8_layers` INT8.
EngineOptions options_with_int8_layers(const QuantModel& model, const std::set<size_t>& int8_layers);
// Every quantizable node float (no Q/DQ at all).
EngineOptions float_options(const QuantModel& model);

// The node names of a set of layers.
std::set<std::string> layer_nodes(const QuantModel& model, const std::set<size_t>& layers);
// Index of the layer named `name` (its first node), or of the layer containing node `name`; Error if none.
size_t find_layer(const QuantModel& model, const std::string& name);

}  // namespace partq::partial
