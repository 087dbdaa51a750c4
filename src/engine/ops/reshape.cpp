// Ops that only reinterpret the dims of a plain tensor: Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout. The output shares the input's bytes (an alias); an NHWC input is first reordered to plain.
#include <algorithm>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

std::vector<int64_t> axes_of(const Lowering& lw) {
  if (lw.has_input(1)) return lw.require_constant(1, "axes").to_int64();
  return lw.node.attr_ints("axes");
}

}  // namespace

void lower_reshape(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const Shape in = lw.value(x).shape;
  std::vector<int64_t> target =
      lw.has_input(1) ? lw.require_constant(1, "the target shape").to_int64() : lw.node.attr_ints("shape");
  const bool allowzero = lw.node.attr_int("allowzero", 0) != 0;
  Shape out(target.begin(), target.end());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowzero) {
      if (i >= in.size())
        lw.invalid("target {} copies dim {} the input {} lacks", shape_str(out), i, shape_str(in));
      out[i] = in[i];
    }
    if (out[i] == -1) {
      if (infer >= 0) lw.invalid("target {} has two -1 dims", shape_str(out));
      infer = static_cast<int>(i);
    } else {
      known *= out[i];
    }
  }
  const int64_t numel = shape_numel(in);
  if (infer >= 0) out[infer] = known ? numel / known : 0;
  if (shape_numel(out) != numel)
    lw.invalid("cannot reshape {} to {}", shape_str(in), shape_str(Shape(target.begin(), target.end())));
  lw.alias_output(0, x, out);
}

void lower_flatten(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const Shape in = lw.value(x).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = lw.node.attr_int("axis", 1);
  if (axis < -rank || axis > rank) lw.invalid("axis {} out of range", axis);
  if (axis < 0) axis += rank;
  lw.alias_output(0, x, {product(in, 0, axis), product(in, axis, in.size())});
}

void lower_squeeze(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const Shape in = lw.value(x).shape;
  std::vector<int64_t> axes = axes_of(lw);
  std::vector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i)
      drop[i] = in[i] == 1;
  } else {
    for (int64_t a : axes) {
      int64_t ax = lw.axis(a, static_cast<int64_t>(in.size()));
      if (in[ax] != 1) lw.invalid("cannot squeeze dim {} of size {}", ax, in[ax]);
      drop[ax] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  lw.alias_output(0, x, out);
}

void lower_unsqueeze(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const Shape in = lw.value(x).shape;
  std::vector<int64_t> axes = axes_of(lw);
  const int64_t rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    int64_t ax = lw.axis(a, rank);
    if (inserted[ax]) lw.invalid("axis {} given twice", a);
    inserted[ax] = true;
  }
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(inserted[i] ? 1 : in[k++]);
  lw.alias_output(0, x, out);
}

void lower_identity(Lowering& lw) {
  const Node& n = lw.node;
  if (n.op_type == "Dropout") {
    const Tensor* training = lw.constant(2);
    if (training && training->to_int64().at(0) != 0) lw.unsupported("training_mode=1");
    if (lw.has_input(2) && !training) lw.unsupported("training_mode computed at run time");
  }
  int x = lw.as_plain(lw.input(0));
  lw.alias_output(0, x, lw.value(x).shape);
  if (n.op_type == "Dropout" && n.outputs.size() > 1 && n.outputs[1] && !n.outputs[1]->name.empty()) {
    Tensor mask(DType::kBool, lw.value(x).shape);  // inference: nothing is dropped
    std::fill(mask.bytes.begin(), mask.bytes.end(), std::byte{1});
    lw.define_constant_output(1, std::move(mask));
  }
}

}  // namespace partq::engine
