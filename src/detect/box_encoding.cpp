// Raw versus graph-decoded box columns, read from the graph: the box columns of an output are traced back
// through layout-only nodes to the nodes that compute them. A raw head (YOLOX with decode_in_inference=False)
// ends in Concat(reg_conv, Sigmoid(obj), Sigmoid(cls)): the box columns come from a Conv. A decoded head
// computes them with Mul/Add/Exp... by grid and stride constants (YOLOv5's Detect, YOLOv6's dist2bbox).
#include <partq/detect.hpp>

#include <algorithm>
#include <set>
#include <tuple>

namespace partq {
namespace {

// Nodes that only move data: the box columns pass through them unchanged.
bool is_layout(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Reshape",        "Transpose",        "Concat",    "Slice",    "Split",
      "Flatten",        "Squeeze",          "Unsqueeze", "Identity", "Cast",
      "QuantizeLinear", "DequantizeLinear", "Gather",    "Expand",   "Tile"};
  return kOps.count(op) > 0;
}

bool is_regression(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" || op == "ConvInteger" ||
         op == "QLinearConv" || op == "QLinearMatMul" || op == "MatMulInteger";
}

bool is_arithmetic(const std::string& op) {
  static const std::set<std::string> kOps = {"Add", "Sub", "Mul", "Div", "Exp", "Pow", "Sqrt", "Neg", "Sum"};
  return kOps.count(op) > 0;
}

bool static_shape(const Value* v) {
  return v && v->has_shape && std::all_of(v->shape.begin(), v->shape.end(), [](int64_t d) { return d > 0; });
}

int normalize_axis(int64_t axis, size_t rank) {
  return static_cast<int>(axis < 0 ? axis + static_cast<int64_t>(rank) : axis);
}

std::optional<std::vector<int64_t>> constant_ints(const Value* v) {
  if (!v || !v->initializer) return std::nullopt;
  return v->initializer->to_int64();
}

// Columns [begin, end) of `axis` of a value; axis -1 = the columns were lost (follow every operand).
struct Track {
  const Value* value;
  int axis;
  int64_t begin, end;
  bool operator<(const Track& o) const {
    return std::tie(value, axis, begin, end) < std::tie(o.value, o.axis, o.begin, o.end);
  }
};

class Tracer {
 public:
  void run(Track start) {
    push(start);
    while (!stack_.empty() && steps_ < kMaxSteps) {
      ++steps_;
      const Track t = stack_.back();
      stack_.pop_back();
      visit(t);
    }
  }
  int regression = 0, arithmetic = 0;

 private:
  static constexpr int kMaxSteps = 100000;

  void push(Track t) {
    if (t.begin >= t.end && t.axis >= 0) return;
    if (seen_.insert(t).second) stack_.push_back(t);
  }
  void lost(const Node& node) {  // follow every data operand without tracking columns
    for (size_t i = 0; i < data_inputs(node); ++i)
      if (node.inputs[i]) push({node.inputs[i], -1, 0, 0});
  }
  static size_t data_inputs(const Node& node) {
    const std::string& op = node.op_type;
    if (op == "Concat") return node.inputs.size();
    return std::min<size_t>(1, node.inputs.size());  // the others take shapes / indices after input 0
  }

  void visit(const Track& t) {
    const Value* v = t.value;
    if (v->is_constant() || !v->producer) return;  // constants and graph inputs say nothing
    const Node& node = *v->producer;
    const std::string& op = node.op_type;
    if (is_regression(op)) {
      ++regression;
      return;
    }
    if (!is_layout(op)) {
      if (is_arithmetic(op)) ++arithmetic;
      return;  // Sigmoid, Softmax, ...: neutral
    }
    if (t.axis < 0 || !static_shape(v)) return lost(node);
    const Value* in = node.input(0);
    if (op == "Identity" || op == "Cast" || op == "QuantizeLinear" || op == "DequantizeLinear")
      return push({in, t.axis, t.begin, t.end});
    if (!static_shape(in)) return lost(node);
    if (op == "Transpose") {
      std::vector<int64_t> perm = node.attr_ints("perm");
      if (perm.empty())
        for (size_t k = in->shape.size(); k-- > 0;)
          perm.push_back(static_cast<int64_t>(k));
      if (static_cast<size_t>(t.axis) >= perm.size()) return lost(node);
      return push({in, static_cast<int>(perm[t.axis]), t.begin, t.end});
    }
    if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") {
      // The same axis on the input: same extent and the same number of elements before it.
      int64_t prefix = 1;
      for (int k = 0; k < t.axis; ++k)
        prefix *= v->shape[k];
      int64_t in_prefix = 1;
      for (size_t k = 0; k < in->shape.size(); ++k) {
        if (in_prefix == prefix && in->shape[k] == v->shape[t.axis])
          return push({in, static_cast<int>(k), t.begin, t.end});
        in_prefix *= in->shape[k];
      }
      return lost(node);
    }
    if (op == "Concat") {
      const int axis = normalize_axis(node.attr_int("axis", 0), v->shape.size());
      if (axis != t.axis) {
        for (const Value* operand : node.inputs)
          if (operand) push({operand, t.axis, t.begin, t.end});
        return;
      }
      int64_t offset = 0;
      for (const Value* operand : node.inputs) {
        if (!static_shape(operand) || operand->shape.size() != v->shape.size()) return lost(node);
        const int64_t size = operand->shape[axis];
        const int64_t b = std::max(t.begin, offset), e = std::min(t.end, offset + size);
        if (b < e) push({operand, axis, b - offset, e - offset});
        offset += size;
      }
      return;
    }
    if (op == "Slice") {
      // Opset 10+: starts, ends, axes, steps as inputs; before: attributes.
      std::optional<std::vector<int64_t>> starts, axes, steps;
      if (node.inputs.size() > 1) {
        starts = constant_ints(node.input(1));
        axes = node.input(3) ? constant_ints(node.input(3)) : std::nullopt;
        steps = node.input(4) ? constant_ints(node.input(4)) : std::nullopt;
        if (!starts || (node.input(3) && !axes) || (node.input(4) && !steps)) return lost(node);
      } else {
        starts = node.attr_ints("starts");
        axes = node.attr_ints("axes");
      }
      int64_t start = 0;
      for (size_t k = 0; k < starts->size(); ++k) {
        const int axis =
            axes && !axes->empty() ? normalize_axis(axes->at(k), v->shape.size()) : static_cast<int>(k);
        if (axis != t.axis) continue;
        if (steps && !steps->empty() && steps->at(k) != 1) return lost(node);
        start = starts->at(k) < 0 ? starts->at(k) + in->shape[axis] : starts->at(k);
        start = std::clamp<int64_t>(start, 0, in->shape[axis]);
      }
      return push({in, t.axis, t.begin + start, t.end + start});
    }
    if (op == "Split") {
      const int axis = normalize_axis(node.attr_int("axis", 0), in->shape.size());
      if (axis != t.axis) return push({in, t.axis, t.begin, t.end});
      int64_t offset = 0;
      for (const Value* out : node.outputs) {
        if (out == v) return push({in, axis, t.begin + offset, t.end + offset});
        if (!static_shape(out)) return lost(node);
        offset += out->shape[axis];
      }
      return lost(node);
    }
    lost(node);  // Gather, Expand, Tile: layout, but the columns are not followed
  }

  std::vector<Track> stack_;
  std::set<Track> seen_;
  int steps_ = 0;
};

}  // namespace

const char* box_encoding_name(BoxEncoding encoding) {
  switch (encoding) {
    case BoxEncoding::kUnknown:
      return "unknown";
    case BoxEncoding::kRaw:
      return "raw";
    case BoxEncoding::kDecoded:
      return "decoded";
  }
  return "?";
}

BoxEncoding box_encoding(const Graph& graph, size_t output_index, int box_axis) {
  if (output_index >= graph.outputs.size()) return BoxEncoding::kUnknown;
  const Value* out = graph.outputs[output_index];
  Tracer tracer;
  if (static_shape(out) && !out->shape.empty()) {
    const int axis = normalize_axis(box_axis, out->shape.size());
    if (axis < 0 || axis >= static_cast<int>(out->shape.size()) || out->shape[axis] < 4)
      return BoxEncoding::kUnknown;
    tracer.run({out, axis, 0, 4});
  } else {
    tracer.run({out, -1, 0, 0});
  }
  if (tracer.regression > 0 && tracer.arithmetic == 0) return BoxEncoding::kRaw;
  if (tracer.arithmetic > 0 && tracer.regression == 0) return BoxEncoding::kDecoded;
  return BoxEncoding::kUnknown;
}

}  // namespace partq
