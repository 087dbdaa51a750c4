// The target-size input of a detector exported with its DETR post-processor (RT-DETR / D-FINE / DEIM
// export_onnx.py: images [N,3,H,W] and orig_target_sizes [N,2] as width, height, int64). Their deploy scripts
// feed the original image size so that boxes come out in original pixels; partq feeds the input's own size,
// which gives boxes in input pixels, and maps them back through the resize as it does for every head: the
// same boxes, with one preprocessing and decoding path for all families.
#include "partq/error.hpp"
#include "partq/passes.hpp"

namespace partq {

namespace {

const Value* image_input(const Graph& graph) {
  for (const Value* v : graph.inputs)
    if (v->has_shape && v->shape.size() == 4 && !graph.image_size_inputs.count(v->name)) return v;
  return nullptr;
}

bool reads_a_size(const Value& v) {
  const bool number = v.dtype == DType::kInt64 || v.dtype == DType::kInt32 || v.dtype == DType::kFloat32;
  return number && v.has_shape && v.shape.size() == 2 && v.shape[1] == 2 &&
         v.name.find("target_size") != std::string::npos;
}

}  // namespace

bool mark_image_size_inputs(Graph& graph) {
  if (graph.inputs.size() < 2 || !image_input(graph)) return false;
  bool marked = false;
  for (const Value* v : graph.inputs)
    if (reads_a_size(*v)) marked |= graph.image_size_inputs.insert(v->name).second;
  return marked;
}

Tensor image_size_input_value(const Graph& graph, const Value& input) {
  const Value* image = image_input(graph);
  if (!image) fail("graph input '{}' is the size of an image input the graph does not have", input.name);
  const int64_t height = image->shape[2], width = image->shape[3];
  if (height < 1 || width < 1 || shape_numel(input.shape) < 0 || input.shape.size() != 2 ||
      input.shape[1] != 2)
    fail("graph input '{}' {}: cannot give it the size of image input '{}' {}", input.name,
         shape_str(input.shape), image->name, shape_str(image->shape));
  Tensor value(input.dtype, input.shape);
  for (int64_t row = 0; row < input.shape[0]; ++row) {
    switch (input.dtype) {
      case DType::kInt64:
        value.as<int64_t>()[2 * row] = width, value.as<int64_t>()[2 * row + 1] = height;
        break;
      case DType::kInt32:
        value.as<int32_t>()[2 * row] = static_cast<int32_t>(width);
        value.as<int32_t>()[2 * row + 1] = static_cast<int32_t>(height);
        break;
      case DType::kFloat32:
        value.as<float>()[2 * row] = static_cast<float>(width);
        value.as<float>()[2 * row + 1] = static_cast<float>(height);
        break;
      default:
        fail("graph input '{}' is {}, expected an integer or float32 size", input.name,
             dtype_name(input.dtype));
    }
  }
  return value;
}

}  // namespace partq
