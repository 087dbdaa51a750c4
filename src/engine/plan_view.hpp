// A QuantPlan reduced to what the engine needs, as plain data, so the compiler does not depend on the
// quantization module's types.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace partq {
struct QuantPlan;
}

namespace partq::engine {

struct PlanView {
  std::vector<std::string> int8_nodes, float_nodes;
  std::map<std::string, float> scales;     // tensor -> scale (group rule applied)
  std::map<std::string, int> zero_points;  // tensor -> uint8 zero point, for asymmetric tensors only
  std::map<std::string, std::vector<std::string>> consumers;
  int weight_max_code = 127;  // QuantPlan::weight_max_code
};

PlanView view_plan(const QuantPlan& plan, const std::map<std::string, float>& amax,
                   const std::map<std::string, float>& lower_bounds);

}  // namespace partq::engine
