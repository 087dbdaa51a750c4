// ReduceMean / ReduceSum / ReduceMax / ReduceMin / ReduceSumSquare on f32, read in the input's own layout
// (an NHWC activation is not reordered first); the output is plain. Axes come from the attribute (before
// opset 18; ReduceSum before 13) or from the second input.
#include <algorithm>
#include <limits>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

enum class Reduction { kMean, kSum, kMax, kMin, kSumSquare };

struct ReduceGeometry {
  Shape kept_dims, reduced_dims;          // sizes of the dims kept / reduced, in ONNX order
  Strides kept_strides, reduced_strides;  // their input strides
  int64_t reduced_count = 1;
  Reduction op = Reduction::kSum;
};

// One output's reduction: the last reduced dim (after lower_reduce merged the contiguous ones: usually the
// only one) read as a strided run, the other reduced dims stepped through, the operation fixed at compile
// time so that the run vectorises.
template <Reduction R>
float reduce_one(const ReduceGeometry& g, const float* x) {
  float acc = R == Reduction::kMax   ? -std::numeric_limits<float>::infinity()
              : R == Reduction::kMin ? std::numeric_limits<float>::infinity()
                                     : 0.f;
  const size_t r = g.reduced_dims.size();
  const int64_t inner = r ? g.reduced_dims[r - 1] : 1, stride = r ? g.reduced_strides[r - 1] : 0;
  const int64_t runs = inner ? g.reduced_count / inner : 0;
  for (int64_t k = 0; k < runs; ++k) {
    int64_t off = 0, rem = k;  // the run's index in the outer reduced dims, last fastest
    for (size_t d = r - 1; d-- > 0;) {
      off += (rem % g.reduced_dims[d]) * g.reduced_strides[d];
      rem /= g.reduced_dims[d];
    }
    const float* run = x + off;
    for (int64_t j = 0; j < inner; ++j) {
      const float v = run[j * stride];
      if constexpr (R == Reduction::kMax)
        acc = std::max(acc, v);
      else if constexpr (R == Reduction::kMin)
        acc = std::min(acc, v);
      else if constexpr (R == Reduction::kSumSquare)
        acc += v * v;
      else
        acc += v;
    }
  }
  return R == Reduction::kMean ? acc / static_cast<float>(g.reduced_count) : acc;
}

template <Reduction R>
void run_reduce(const ReduceGeometry& g, const float* x, float* y) {
  const int64_t outputs = shape_numel(g.kept_dims);
  parallel_for(outputs, [&](int64_t o) {
    int64_t off = 0, rem = o;
    for (size_t d = g.kept_dims.size(); d-- > 0;) {
      off += (rem % g.kept_dims[d]) * g.kept_strides[d];
      rem /= g.kept_dims[d];
    }
    y[o] = reduce_one<R>(g, x + off);
  });
}

void run_reduce(const ReduceGeometry& g, const float* x, float* y) {
  switch (g.op) {
    case Reduction::kMax:
      return run_reduce<Reduction::kMax>(g, x, y);
    case Reduction::kMin:
      return run_reduce<Reduction::kMin>(g, x, y);
    case Reduction::kSumSquare:
      return run_reduce<Reduction::kSumSquare>(g, x, y);
    case Reduction::kMean:
      return run_reduce<Reduction::kMean>(g, x, y);
    case Reduction::kSum:
      return run_reduce<Reduction::kSum>(g, x, y);
  }
}

}  // namespace

void lower_reduce(Lowering& lw) {
  const std::string& op = lw.node.op_type;
  const int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  if (xv.dtype != DType::kFloat32) lw.unsupported("input type {}", dtype_name(xv.dtype));
  const int64_t rank = static_cast<int64_t>(xv.shape.size());
  const bool axes_input = op == "ReduceSum" ? lw.opset() >= 13 : lw.opset() >= 18;
  std::vector<int64_t> axes;
  if (axes_input) {
    if (lw.has_input(1)) axes = lw.require_constant(1, "axes").to_int64();
  } else {
    axes = lw.node.attr_ints("axes");
  }
  const bool keepdims = lw.node.attr_int("keepdims", 1) != 0;
  if (axes.empty() && lw.node.attr_int("noop_with_empty_axes", 0) != 0) {
    // No axes and noop: the input unchanged.
    lw.alias_output(0, lw.as_plain(x), xv.shape);
    return;
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes)
    reduced[lw.axis(a, rank)] = true;

  ReduceGeometry g;
  g.op = op == "ReduceMean"  ? Reduction::kMean
         : op == "ReduceMax" ? Reduction::kMax
         : op == "ReduceMin" ? Reduction::kMin
         : op == "ReduceSum" ? Reduction::kSum
                             : Reduction::kSumSquare;
  const Strides strides = value_strides(xv);
  Shape out;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      g.reduced_dims.push_back(xv.shape[d]);
      g.reduced_strides.push_back(strides[d]);
      g.reduced_count *= xv.shape[d];
      if (keepdims) out.push_back(1);
    } else {
      g.kept_dims.push_back(xv.shape[d]);
      g.kept_strides.push_back(strides[d]);
      out.push_back(xv.shape[d]);
    }
  }
  // Reduced dims that are contiguous with each other in memory merge into one (all of them, for a dense
  // tensor reduced over its trailing dims): reduce_one reads the last as a run.
  for (size_t i = g.reduced_dims.size(); i-- > 1;)
    if (g.reduced_strides[i - 1] == g.reduced_strides[i] * g.reduced_dims[i]) {
      g.reduced_dims[i - 1] *= g.reduced_dims[i];
      g.reduced_strides[i - 1] = g.reduced_strides[i];
      g.reduced_dims.erase(g.reduced_dims.begin() + i);
      g.reduced_strides.erase(g.reduced_strides.begin() + i);
    }
  if (g.reduced_count == 0 &&
      (g.op == Reduction::kMax || g.op == Reduction::kMin || g.op == Reduction::kMean))
    lw.invalid("{} over an empty set of elements", op);
  const int y = lw.define_output(0, DType::kFloat32, out, Layout::kPlain);
  add_kernel(lw, op, {x}, {y}, "reduce", [g](ExecContext& ctx, const KernelStep& s) {
    run_reduce(g, ctx.data<float>(s.inputs[0]), ctx.data<float>(s.outputs[0]));
  });
}

}  // namespace partq::engine
