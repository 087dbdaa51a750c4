// The inputs besides the image that a detector exported with its post-processing reads, all [N,2]:
//  - RT-DETR / D-FINE / DEIM export_onnx.py's orig_target_sizes (width, height): their deploy scripts feed
//    the original image size so that boxes come out in original pixels;
//  - PaddleDetection's im_shape (height, width of the resized image) and scale_factor (scale_y, scale_x, by
//    which the boxes are divided to reach original pixels).
// partq feeds the input's own size and a scale of 1, which gives boxes in input pixels, and maps them back
// through the resize as it does for every head: the same boxes, with one preprocessing and decoding path for
// all families.
#include "partq/error.hpp"
#include "partq/passes.hpp"
#include "pass_util.hpp"

#include <array>
#include <optional>
#include <vector>

namespace partq {

namespace {

enum class SizeKind { kWidthHeight, kHeightWidth, kUnitScale };

struct KnownSizeInput {
  const char* name_part;
  SizeKind kind;
};

constexpr std::array<KnownSizeInput, 3> kKnown = {{{"target_size", SizeKind::kWidthHeight},
                                                   {"im_shape", SizeKind::kHeightWidth},
                                                   {"scale_factor", SizeKind::kUnitScale}}};

std::optional<SizeKind> kind_of(const Value& v) {
  const bool number = v.dtype == DType::kInt64 || v.dtype == DType::kInt32 || v.dtype == DType::kFloat32;
  if (!number || !v.has_shape || v.shape.size() != 2 || v.shape[1] != 2) return std::nullopt;
  for (const KnownSizeInput& known : kKnown)
    if (v.name.find(known.name_part) != std::string::npos) return known.kind;
  return std::nullopt;
}

const Value* image_input(const Graph& graph) {
  for (const Value* v : graph.inputs)
    if (v->has_shape && v->shape.size() == 4 && !graph.size_inputs.count(v->name)) return v;
  return nullptr;
}

}  // namespace

bool mark_size_inputs(Graph& graph) {
  if (graph.inputs.size() < 2 || !image_input(graph)) return false;
  bool marked = false;
  for (const Value* v : graph.inputs)
    if (kind_of(*v)) marked |= graph.size_inputs.insert(v->name).second;
  return marked;
}

std::string size_input_meaning(const Value& input) {
  switch (kind_of(input).value_or(SizeKind::kUnitScale)) {
    case SizeKind::kWidthHeight:
      return "the image's width and height";
    case SizeKind::kHeightWidth:
      return "the image's height and width";
    case SizeKind::kUnitScale:
      break;
  }
  return "a scale of 1";
}

Tensor size_input_value(const Graph& graph, const Value& input) {
  const Value* image = image_input(graph);
  const std::optional<SizeKind> kind = kind_of(input);
  if (!image || !kind)
    fail(
        "graph input '{}' {} is not a size partq can feed (an image input and a [N,2] target_size, im_shape "
        "or scale_factor)",
        input.name, shape_str(input.shape));
  const int64_t height = image->shape[2], width = image->shape[3];
  if (height < 1 || width < 1 || shape_numel(input.shape) < 0)
    fail("graph input '{}' {}: cannot give it the size of image input '{}' {}", input.name,
         shape_str(input.shape), image->name, shape_str(image->shape));
  const std::array<int64_t, 2> row = *kind == SizeKind::kWidthHeight   ? std::array<int64_t, 2>{width, height}
                                     : *kind == SizeKind::kHeightWidth ? std::array<int64_t, 2>{height, width}
                                                                       : std::array<int64_t, 2>{1, 1};
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < input.shape[0]; ++i)
    rows.insert(rows.end(), row.begin(), row.end());
  return detail::cast_to(Tensor::from_int64(input.shape, rows), input.dtype);
}

}  // namespace partq
