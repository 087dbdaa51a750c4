// Small synthetic inputs of `partq report` in the formats of docs/report.md, built in code.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace partq::test {

// `count` layers with decreasing sensitivity (the last one negative); layer 1 is named "<Conv&1>".
inline nlohmann::json synthetic_sensitivity(int count = 12) {
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    const std::string name = i == 1 ? "<Conv&1>" : "/model." + std::to_string(i) + "/conv/Conv";
    const double sensitivity = i + 1 == count ? -0.0004 : 0.02 / (1.0 + i * i);
    layers.push_back({{"name", name},
                      {"nodes", {name}},
                      {"op_type", "Conv"},
                      {"detail", "3x3 s1 16->16 g1"},
                      {"value", 0.3047 - sensitivity},
                      {"sensitivity", sensitivity},
                      {"rank", i + 1}});
  }
  return {{"format", "partq.sensitivity"},
          {"version", 1},
          {"model", "models/yolov5n.onnx"},
          {"model_fingerprint", "fnv1a64:0123456789abcdef"},
          {"calib", "yolov5n.calib.json"},
          {"calibration_method", "percentile"},
          {"mode", "enable-one"},
          {"metric", "map"},
          {"higher_is_better", true},
          {"images",
           {{"dir", "images"}, {"annotations", nullptr}, {"count", 32}, {"seed", 0}, {"files", {"a.jpg"}}}},
          {"baseline", {{"float", 0.3047}, {"int8", 0.2949}}},
          {"layers", layers},
          {"timing",
           {{"seconds", 41.2}, {"naive_seconds", 180.5}, {"speedup", 4.38}, {"forward_fraction", 0.23}}}};
}

// Steps 0..4 float layers taken from the synthetic sensitivity's most sensitive layers; 2 chosen.
inline nlohmann::json synthetic_tradeoff() {
  const std::vector<std::string> order = {"/model.0/conv/Conv", "<Conv&1>", "/model.2/conv/Conv",
                                          "/model.3/conv/Conv"};
  nlohmann::json steps = nlohmann::json::array();
  const double float_map = 0.31;
  const double maps[] = {0.285, 0.298, 0.3065, 0.3081, 0.3089};
  for (int k = 0; k <= 4; ++k) {
    std::vector<std::string> layers(order.begin(), order.begin() + k);
    steps.push_back({{"float_layers", k},
                     {"layers", layers},
                     {"map", maps[k]},
                     {"drop", float_map - maps[k]},
                     {"latency_ms", 12.7 + 0.45 * k},
                     {"batch", 1}});
  }
  return {{"format", "partq.partial_quant"},
          {"version", 1},
          {"model", "models/yolov5n.onnx"},
          {"output", "yolov5n.partial.qdq.onnx"},
          {"sensitivity", "yolov5n.sensitivity.json"},
          {"objective", "balanced"},
          {"max_drop", 0.005},
          {"float_layers_requested", nullptr},
          {"selection", {{"images", "images"}, {"annotations", nullptr}, {"count", 64}, {"metric", "map"}}},
          {"float_map", float_map},
          {"total_layers", 60},
          {"steps", steps},
          {"chosen", steps[2]}};
}

// A budget search as partial_quantize runs it, in evaluation order: full INT8, "add" A, B, C (C meets the
// budget of 0.003), then pruning: "remove B" (within budget: the set becomes {A, C}), "remove A" (over).
// Chosen: {A, C} - 2 float layers, like the "add B" step {A, B}.
inline const std::vector<std::string> kSearchOrder = {"/model.0/conv/Conv", "/model.2/cv1/conv/Conv",
                                                      "/model.8/m/cv2/Conv", "/model.4/cv3/conv/Conv"};

inline nlohmann::json synthetic_search_tradeoff() {
  const auto& o = kSearchOrder;
  const double float_map = 0.3268;
  struct Step {
    std::vector<std::string> layers;
    std::string note;
    double map, latency;
  };
  const std::vector<Step> search = {
      {{}, "full INT8", 0.3075, 295.0},
      {{o[0]}, "add " + o[0], 0.3180, 303.1},
      {{o[0], o[1]}, "add " + o[1], 0.3221, 309.4},
      {{o[0], o[1], o[2]}, "add " + o[2], 0.3251, 316.0},
      {{o[0], o[2]}, "remove " + o[1], 0.3249, 310.2},
      {{o[2]}, "remove " + o[0], 0.3201, 301.7},
  };
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& s : search)
    steps.push_back({{"float_layers", s.layers.size()},
                     {"layers", s.layers},
                     {"note", s.note},
                     {"batch", 8},
                     {"map", s.map},
                     {"drop", float_map - s.map},
                     {"latency_ms", s.latency}});
  return {
      {"format", "partq.partial_quant"},
      {"version", 1},
      {"model", "/models/yolov5n.onnx"},
      {"output", "yolov5n.partial.qdq.onnx"},
      {"sensitivity", "yolov5n.sensitivity.json"},
      {"objective", "accuracy"},
      {"max_drop", 0.003},
      {"float_layers_requested", nullptr},
      {"selection", {{"images", "train2017"}, {"annotations", "a.json"}, {"count", 64}, {"metric", "map"}}},
      {"float_map", float_map},
      {"float_latency_ms", 498.6},
      {"total_layers", 46},
      {"budget_met", true},
      {"steps", steps},
      {"chosen", steps[4]},
      {"seconds", 17.7},
      {"warnings", nlohmann::json::array()}};
}

// `partq quantize --float-layers 2` without a selection set: nothing evaluated.
inline nlohmann::json synthetic_count_tradeoff() {
  return {{"format", "partq.partial_quant"},
          {"version", 1},
          {"model", "/models/yolov5n.onnx"},
          {"objective", "accuracy"},
          {"max_drop", nullptr},
          {"float_layers_requested", 2},
          {"selection", {{"images", ""}, {"annotations", nullptr}, {"count", 0}, {"metric", ""}}},
          {"float_map", -1.0},
          {"float_latency_ms", 0.0},
          {"total_layers", 46},
          {"budget_met", true},
          {"steps", nlohmann::json::array()},
          {"chosen",
           {{"float_layers", 2},
            {"layers", {kSearchOrder[0], kSearchOrder[1]}},
            {"note", "requested"},
            {"batch", 8}}}};
}

inline nlohmann::json synthetic_eval(double map50_95, double map50) {
  return {{"model", "models/yolov5n.onnx"},
          {"preset", "yolov5"},
          {"mAP50_95", map50_95},
          {"mAP50", map50},
          {"stats", std::vector<double>(12, map50_95)},
          {"images", 206},
          {"batch", 1},
          {"inference_ms_per_image", 12.5}};
}

inline nlohmann::json synthetic_bench(int batch, double median_ms) {
  return {{"model", "models/yolov5n.onnx"},
          {"batch", batch},
          {"threads", 2},
          {"runs", 20},
          {"min_ms", median_ms * 0.95},
          {"mean_ms", median_ms * 1.02},
          {"median_ms", median_ms},
          {"p90_ms", median_ms * 1.1},
          {"p99_ms", median_ms * 1.2},
          {"max_ms", median_ms * 1.3},
          {"images_per_s", 1000.0 * batch / median_ms},
          {"ms_per_image", median_ms / batch}};
}

}  // namespace partq::test
