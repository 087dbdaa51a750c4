// set_input_size: give an export with a dynamic image height / width a fixed one.
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"

namespace partq {

void set_input_size(Graph& graph, int64_t height, int64_t width) {
  if (height < 1 || width < 1) fail("set_input_size: the size must be positive, got {}x{}", height, width);
  int images = 0;
  for (Value* v : graph.inputs) {
    if (v->is_constant() || !v->has_shape || v->shape.size() != 4) continue;
    ++images;
    for (const auto& [dim, size] : {std::pair{size_t{2}, height}, std::pair{size_t{3}, width}}) {
      if (v->shape[dim] > 0 && v->shape[dim] != size)
        fail(
            "set_input_size: input '{}' {} is fixed at {}x{}; its head's constants are made for that size, "
            "so "
            "export the model again at {}x{} instead",
            v->name, shape_str(v->shape), v->shape[2], v->shape[3], height, width);
      v->shape[dim] = size;
    }
  }
  if (images == 0) fail("set_input_size: graph '{}' has no 4D image input", graph.name);
  infer_shapes(graph);
}

}  // namespace partq
