// The quantization facts the PTQ jobs need, as plain data: the engine-side jobs (calibrate.cpp,
// qdq_model.cpp) include this; ptq_plan.cpp is the one file that talks to partq_quant.
#pragma once

#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace partq::ptq {

struct PlanFacts {
  std::vector<std::string> activations;  // quantized tensors, plan order
  std::vector<std::string> int8_nodes;   // nodes the plan runs int8
  int float_nodes = 0;                   // quantizable nodes left float
  int scale_groups = 0;
};

// plan_quantization(graph, {.keep_first_conv_float}).
PlanFacts plan_facts(const Graph& graph, bool keep_first_conv_float);

// The tensors to calibrate: the union of the full-INT8 plan's and the --keep-first-conv-float plan's
// activations (so one calibration file serves both), full plan order first.
std::vector<std::string> calibration_tensors(const Graph& graph);

// group_amax(plan, amax) for the plan with `keep_first_conv_float`: every tensor of a scale group gets the
// group's largest amax. Error naming the tensors without a usable amax.
std::map<std::string, float> shared_amax(const Graph& graph, bool keep_first_conv_float,
                                         const std::map<std::string, float>& amax);

// insert_qdq for the plan with `keep_first_conv_float` (group rule applied there; `lower_bounds` as there),
// weights at `weight_max_code` (PlacementOptions).
std::unique_ptr<Graph> qdq_graph(const Graph& graph, bool keep_first_conv_float,
                                 const std::map<std::string, float>& amax,
                                 const std::map<std::string, float>& lower_bounds, int weight_max_code);

// describe_plan / to_json of the plan: read from the Q/DQ nodes when the graph has any, else planned.
struct PlanDescription {
  bool from_qdq = false;
  std::string text;
  nlohmann::json json;
};
PlanDescription describe(const Graph& graph, bool keep_first_conv_float);

// model_fingerprint(graph).
std::string fingerprint(const Graph& graph);

// A Q/DQ model (read_qdq) as plain data.
struct QdqFacts {
  std::unique_ptr<Graph> graph;  // float graph
  std::vector<std::string> int8_nodes;
  std::map<std::string, float> activation_scales;             // per tensor
  std::map<std::string, int> activation_zero_points;          // uint8 zero points of asymmetric tensors
  std::map<std::string, std::vector<std::string>> consumers;  // per tensor: the nodes reading it quantized
  std::map<std::string, WeightScales> weight_scales;          // per quantized weight: the file's scales
};
bool graph_has_qdq(const Graph& graph);
// Errors (a Q/DQ pattern partq cannot read) are prefixed with `path`, the file the graph came from.
QdqFacts read_qdq_facts(const Graph& graph, const std::string& path);

}  // namespace partq::ptq
