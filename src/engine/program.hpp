// The compiled form of a graph: runtime values (static shapes, layouts, where their bytes live) and the
// sequence of steps that computes them. Internal to partq_engine.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace partq::engine {

// How a runtime value's bytes are laid out. Plain = dense row-major in ONNX dim order. NHWC = oneDNN `acdb`
// (4D f32 activations between convs stay in the layout the conv kernels prefer, see ONEDNN-NOTES.md).
enum class Layout { kPlain, kNhwc };

struct RtValue {
  std::string name;  // graph value name ("" for values the compiler introduced, e.g. layout twins)
  DType dtype = DType::kFloat32;
  Shape shape;  // static, ONNX order
  Layout layout = Layout::kPlain;
  std::shared_ptr<const Tensor> constant;  // known at compile time (plain layout); no storage then
  int alias_of = -1;  // id of the value whose bytes this one shares (Reshape-like outputs), else -1
  // A strided view inside alias_of's bytes (a Concat input its producers write straight into the Concat
  // output, see Compiler::place_inside): where it starts in them (bytes), and its element strides in ONNX dim
  // order. Empty strides: the layout's dense strides.
  size_t view_offset = 0;
  std::vector<int64_t> strides;
  // A dense copy of a strided view of another value (a Slice): that value, the view's first element and its
  // element strides in ONNX dim order. A consumer that can read the view itself (the image quantizer) reads
  // it there, and the copy's step is dropped when nothing else reads it.
  int copy_of = -1;
  int64_t copy_offset = 0;
  std::vector<int64_t> copy_strides;
  int graph_input = -1;  // index into the graph inputs when the caller provides the bytes
  int storage = -1;  // arena buffer, assigned when compilation finishes (-1: constant, graph input, unused)
  int plain_twin = -1;  // a plain-layout copy of this value, once some consumer asked for one
  int nhwc_twin = -1;   // an NHWC copy of a plain 4D value, once some consumer asked for one
  int twin_of = -1;     // for a layout twin: the value it is a copy of
  // INT8: an s8 value holds round(real / scale) + zero_point (scale > 0; zero_point != 0 only for an
  // asymmetric activation, see int8.hpp); a float value's quantized twins, once asked for.
  float scale = 0.f;
  int zero_point = 0;
  int int8_twin = -1;       // s8 copy (quantize reorder), or -1
  int float_twin = -1;      // f32 copy of an s8 value (dequantize reorder), or -1
  int fakequant_twin = -1;  // f32 quantize->dequantize copy (fake-quant mode), or -1

  size_t bytes() const { return static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype); }
  bool is_constant() const { return constant != nullptr; }
};

inline RtValue make_value(std::string name, DType dtype, Shape shape, Layout layout = Layout::kPlain) {
  RtValue v;
  v.name = std::move(name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.layout = layout;
  return v;
}

// A buffer in the activation arena; several values may share one (aliases such as Reshape outputs).
struct Storage {
  size_t size = 0;
  size_t offset = 0;  // assigned by the memory planner
};

class ExecContext;

// One compiled unit of work: a oneDNN primitive (possibly with fused post-ops) or one of partq's own kernels.
class Step {
 public:
  virtual ~Step() = default;
  virtual void execute(ExecContext& ctx) = 0;
  // Whether the step still works when value `id` (one of its inputs or outputs) becomes the strided view
  // `v` (RtValue::strides): only steps that read the strides when they run say yes.
  virtual bool accepts_view(int id, const RtValue& v) const {
    (void)id;
    (void)v;
    return false;
  }

  std::string op;                  // what runs, e.g. "Conv+Swish", "Reorder", "Resize"
  std::vector<std::string> nodes;  // graph nodes this step implements (fused ones included)
  std::vector<int> inputs;         // value ids read
  std::vector<int> outputs;        // value ids written
  std::string impl;                // oneDNN implementation string, or "partq:<kernel>"
  Precision precision = Precision::kFloat32;
};

// Where values live while steps execute. Steps ask for raw pointers or for dnnl::memory objects (created once
// per value and cached).
class ExecContext {
 public:
  ExecContext(const dnnl::engine& eng, dnnl::stream& stream, const std::deque<RtValue>& values)
      : engine(eng), stream(stream), values_(values), ptrs_(values.size(), nullptr), mems_(values.size()) {}

  const dnnl::engine& engine;
  dnnl::stream& stream;
  int threads = 1;

  const RtValue& value(int id) const { return values_[id]; }
  std::byte* ptr(int id) const { return ptrs_[id]; }
  template <typename T>
  T* data(int id) const {
    return reinterpret_cast<T*>(ptrs_[id]);
  }
  void bind(int id, std::byte* p);  // changes where value `id` lives (graph inputs per run)
  dnnl::memory& mem(int id);        // a dnnl::memory over ptr(id) with the value's layout

 private:
  const std::deque<RtValue>& values_;  // a deque: references stay valid while values are added
  std::vector<std::byte*> ptrs_;
  std::vector<dnnl::memory> mems_;
};

// dnnl descriptors for runtime values.
dnnl::memory::data_type dnnl_dtype(DType t);       // throws Error for types oneDNN has no kernels for
dnnl::memory::dims dnnl_dims(const Shape& shape);  // a rank-0 shape becomes {1}
dnnl::memory::desc md_of(const RtValue& v);
dnnl::memory::desc plain_md(const Shape& shape, DType t);
dnnl::memory::dims plain_strides(const Shape& shape);

}  // namespace partq::engine
