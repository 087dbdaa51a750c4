// promote_float16: a half-precision export (Ultralytics `--half`, onnxconverter's float16 conversion) becomes
// the float32 model it was made from, up to the float16 rounding of its weights.
#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10;

Tensor to_float32(const Tensor& t) {
  return Tensor::from_float(t.shape, t.to_float());
}

}  // namespace

bool promote_float16(Graph& graph) {
  bool changed = false;
  for (const auto& n : graph.nodes()) {
    for (auto& [key, attr] : n->attrs)
      if (auto* t = std::get_if<Tensor>(&attr); t && t->dtype == DType::kFloat16) {
        attr = to_float32(*t);  // Constant value, ConstantOfShape value
        changed = true;
      }
    for (const char* key : {"to", "dtype"})  // Cast, and the generators that take an output type
      if (n->has_attr(key) && n->attr_int(key, 0) == kOnnxFloat16) {
        n->attrs[key] = kOnnxFloat;
        changed = true;
      }
  }
  std::vector<Value*> values;
  for (const auto& n : graph.nodes())
    for (const auto* list : {&n->inputs, &n->outputs})
      for (Value* v : *list)
        if (v) values.push_back(v);
  values.insert(values.end(), graph.inputs.begin(), graph.inputs.end());
  values.insert(values.end(), graph.outputs.begin(), graph.outputs.end());
  for (Value* v : values) {
    if (v->initializer && v->initializer->dtype == DType::kFloat16) {
      v->initializer = std::make_shared<const Tensor>(to_float32(*v->initializer));
      changed = true;
    }
    if (v->dtype == DType::kFloat16) {
      v->dtype = DType::kFloat32;
      changed = true;
    }
  }
  return changed;
}

}  // namespace partq
