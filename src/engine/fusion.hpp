// Which activations the compiler folds into the Conv that feeds them (a oneDNN eltwise post-op), decided on
// the graph before lowering. Only when the conv output has no other use, so no observable value disappears
// except the fused intermediates (reported by the Engine if someone taps them).
#pragma once

#include <map>

#include "lowering.hpp"

namespace partq::engine {

// Conv node -> the activation it absorbs. Patterns: Conv→Relu/LeakyRelu/Clip/HardSwish/Sigmoid/Tanh/Elu and
// Conv→{Sigmoid, Mul} (SiLU, lowered to eltwise_swish), and Conv→Reshape→Transpose→Sigmoid (a detection
// head: the sigmoid moves into the conv, the data movement then carries activated values).
std::map<const Node*, FusedActivation> plan_fusions(const Graph& graph);

}  // namespace partq::engine
