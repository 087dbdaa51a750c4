// Models written for default-domain opsets 18..22 (and IR versions 9..12) -> the opset-17 / IR-8 forms that
// libonnx 1.12, which partq checks and shape-infers with, knows.
//
// Why a rewrite and not a refusal: current exporters (torch 2.x, the Ultralytics export, onnx.helper) write
// opsets above 17 and IR versions above 8, so refusing them would turn away many detectors exported today.
// Between opset 17 and 22 most ops only gained element types (float8, int4, bfloat16); the few that changed
// form or meaning are rewritten below when the opset-17 form means the same, and refused, naming the node,
// when it does not. The op version lists come from onnx/defs/operator_sets.h (OpSet_Onnx_ver18..22).
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx_convert.hpp"
#include "partq/error.hpp"

namespace partq::detail {

namespace {

using onnx::AttributeProto;
using onnx::NodeProto;

// IR 9..12 only added element types (float8, int4, float4, float8e8m0) and fields that do not change what
// a graph computes (function overloads, multi-device configuration); the checker rejects any of those types.
constexpr int64_t kCheckerIrVersion = 8;
constexpr int64_t kMaxIrVersion = 12;

// Ops added or changed in opsets 18..22 that have no opset-17 form partq rewrites to (none of them is an op
// the engine runs in any opset).
const std::set<std::string>& ops_without_opset17_form() {
  static const std::set<std::string> ops = {
      "CenterCropPad",      "Col2Im",       "BitwiseAnd",         "BitwiseOr",
      "BitwiseXor",         "BitwiseNot",   "GroupNormalization", "OptionalGetElement",
      "OptionalHasElement", "DeformConv",   "AffineGrid",         "ImageDecoder",
      "RegexFullMatch",     "StringConcat", "StringSplit",        "DFT"};
  return ops;
}

const std::set<std::string>& reduce_ops_with_axes_input_since_18() {
  static const std::set<std::string> ops = {"ReduceMean",   "ReduceMax",       "ReduceMin",
                                            "ReduceProd",   "ReduceL1",        "ReduceL2",
                                            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  return ops;
}

class Downgrade {
 public:
  Downgrade(onnx::ModelProto& model, const std::string& label, int64_t opset)
      : model_(model), label_(label), opset_(opset) {
    for (const auto& init : model.graph().initializer())
      constants_[init.name()] = &init;
    for (const auto& n : model.graph().node())
      if (n.op_type() == "Constant" && n.output_size() == 1) remember_constant_ints(n);
    for (const auto& v : model.graph().input())
      names_.insert(v.name());
    for (const auto& n : model.graph().node())
      for (const auto& out : n.output())
        names_.insert(out);
  }

  void run() {
    auto* nodes = model_.mutable_graph()->mutable_node();
    std::vector<NodeProto> rewritten;
    rewritten.reserve(nodes->size());
    for (int i = 0; i < nodes->size(); ++i) {
      NodeProto& n = *nodes->Mutable(i);
      context_ = fmt::format("{}: node '{}' ({})", label_,
                             n.name().empty() ? fmt::format("#{}", i) : n.name(), n.op_type());
      for (const auto& a : n.attribute())
        if (a.type() == AttributeProto::GRAPH || a.type() == AttributeProto::GRAPHS)
          fail("{}: attribute '{}' holds a subgraph; control flow (If/Loop/Scan) is not supported", context_,
               a.name());
      if (!n.domain().empty() && n.domain() != "ai.onnx") {
        rewritten.push_back(std::move(n));
        continue;
      }
      if (n.op_type() == "Mish") {
        expand_mish(n, rewritten);
        continue;
      }
      if (n.op_type() == "Gelu") {
        expand_gelu(n, rewritten);
        continue;
      }
      rewrite(n);
      rewritten.push_back(std::move(n));
    }
    nodes->Clear();
    for (auto& n : rewritten)
      *nodes->Add() = std::move(n);
  }

 private:
  void rewrite(NodeProto& n) {
    const std::string& op = n.op_type();
    if (ops_without_opset17_form().count(op))
      fail(
          "{}: {} in its opset-{} form is not supported (partq reads opset 18..22 models through their "
          "opset-17 forms, and this op has none)",
          context_, op, opset_);
    if (reduce_ops_with_axes_input_since_18().count(op)) return rewrite_reduce(n);
    if (op == "Split") return rewrite_split(n);
    if (op == "Pad") return rewrite_pad(n);
    if (op == "Resize") return rewrite_resize(n);
    if (op == "GridSample") return rewrite_grid_sample(n);
    if (op == "AveragePool" && opset_ >= 19) return drop_default(n, "dilations", "dilations other than 1");
    if (op == "LpPool") return drop_default(n, "ceil_mode", "ceil_mode 1");
    if ((op == "Cast" || op == "CastLike") && opset_ >= 19) return remove_attribute(n, "saturate");
    if (op == "QuantizeLinear" || op == "DequantizeLinear") return rewrite_quantize_linear(n);
    if (op == "ScatterND" || op == "ScatterElements") {
      const AttributeProto* r = find_attribute(n, "reduction");
      if (r && (r->s() == "max" || r->s() == "min"))
        fail("{}: reduction '{}' (opset 18) is not supported", context_, r->s());
    }
  }

  // Opset 18 moved the axes of every Reduce op but ReduceSum from an attribute to an input and gave them
  // noop_with_empty_axes.
  void rewrite_reduce(NodeProto& n) {
    const AttributeProto* noop_attr = find_attribute(n, "noop_with_empty_axes");
    const bool noop = noop_attr && noop_attr->i() != 0;
    remove_attribute(n, "noop_with_empty_axes");
    std::vector<int64_t> axes;
    if (n.input_size() > 1 && !n.input(1).empty()) axes = constant_ints(n.input(1), "axes");
    while (n.input_size() > 1)
      n.mutable_input()->RemoveLast();
    if (axes.empty() && noop) {
      n.set_op_type("Identity");
      n.clear_attribute();
      return;
    }
    if (axes.empty()) return;  // reduce over all axes, the opset-17 default
    AttributeProto* a = n.add_attribute();
    a->set_name("axes");
    a->set_type(AttributeProto::INTS);
    for (int64_t axis : axes)
      a->add_ints(axis);
  }

  // Opset 18's num_outputs splits into equal parts (the last one smaller if the size does not divide);
  // opset 17 splits into as many equal parts as there are outputs and shape inference refuses sizes that do
  // not divide, so the rewrite keeps the meaning or fails at load.
  void rewrite_split(NodeProto& n) {
    const AttributeProto* num = find_attribute(n, "num_outputs");
    if (!num) return;
    if (num->i() != n.output_size())
      fail("{}: num_outputs is {} but the node has {} outputs", context_, num->i(), n.output_size());
    remove_attribute(n, "num_outputs");
  }

  void rewrite_pad(NodeProto& n) {
    if (n.input_size() > 3 && !n.input(3).empty())
      fail("{}: the axes input of Pad (opset 18) is not supported; pad every axis instead", context_);
    const AttributeProto* mode = find_attribute(n, "mode");
    if (mode && mode->s() == "wrap") fail("{}: Pad mode 'wrap' (opset 19) is not supported", context_);
  }

  void rewrite_resize(NodeProto& n) {
    drop_default(n, "antialias", "antialias");
    if (find_attribute(n, "axes"))
      fail("{}: the axes attribute of Resize (opset 18) is not supported; resize every axis instead",
           context_);
    const AttributeProto* policy = find_attribute(n, "keep_aspect_ratio_policy");
    if (policy && policy->s() != "stretch")
      fail("{}: keep_aspect_ratio_policy '{}' (opset 18) is not supported", context_, policy->s());
    remove_attribute(n, "keep_aspect_ratio_policy");
    const AttributeProto* mode = find_attribute(n, "coordinate_transformation_mode");
    if (mode && mode->s() == "half_pixel_symmetric")
      fail("{}: coordinate_transformation_mode 'half_pixel_symmetric' (opset 19) is not supported", context_);
  }

  // Opset 19 added saturate (float8 only), opset 21 block quantization and QuantizeLinear's output_dtype.
  void rewrite_quantize_linear(NodeProto& n) {
    remove_attribute(n, "saturate");
    drop_default(n, "block_size", "block quantization (block_size)");
    const AttributeProto* out = find_attribute(n, "output_dtype");
    if (!out || n.op_type() != "QuantizeLinear") return;
    const int64_t dtype = out->i();
    const bool has_zero_point = n.input_size() > 2 && !n.input(2).empty();
    remove_attribute(n, "output_dtype");
    if (has_zero_point || dtype == 0 || dtype == onnx::TensorProto::UINT8) return;
    if (dtype != onnx::TensorProto::INT8)
      fail("{}: output_dtype {} without a zero point is not supported (uint8 and int8 are)", context_, dtype);
    // Opset 17 takes the output type from the zero point: an int8 zero says int8.
    onnx::TensorProto* zero = model_.mutable_graph()->add_initializer();
    zero->set_name(unique_name(n.output(0) + "_zero_point"));
    zero->set_data_type(onnx::TensorProto::INT8);
    zero->add_int32_data(0);
    while (n.input_size() < 2)
      n.add_input("");
    n.add_input(zero->name());
  }

  // Mish (opset 18) is x * tanh(softplus(x)), which opset 17 writes with three nodes.
  void expand_mish(NodeProto& n, std::vector<NodeProto>& out) {
    const std::string base = n.name().empty() ? n.output(0) : n.name();
    const std::string softplus = unique_name(base + "/softplus");
    const std::string tanh = unique_name(base + "/tanh");
    out.push_back(make_node("Softplus", {n.input(0)}, softplus, base + "/Softplus"));
    out.push_back(make_node("Tanh", {softplus}, tanh, base + "/Tanh"));
    out.push_back(make_node("Mul", {n.input(0), tanh}, n.output(0), base));
  }

  // Gelu (opset 20) as the nodes torch exports it as below opset 20: 0.5 x (1 + erf(x / sqrt 2)), or with
  // approximate = "tanh", 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
  void expand_gelu(NodeProto& n, std::vector<NodeProto>& out) {
    const AttributeProto* a = find_attribute(n, "approximate");
    const std::string approximate = a ? a->s() : "none";
    if (approximate != "none" && approximate != "tanh")
      fail("{}: approximate '{}' (none or tanh)", context_, approximate);
    const std::string base = n.name().empty() ? n.output(0) : n.name();
    const std::string& x = n.input(0);
    auto constant = [&](const std::string& what, float v) {
      const std::string name = unique_name(base + "/" + what);
      NodeProto c = make_node("Constant", {}, name, name);
      AttributeProto* attr = c.add_attribute();
      attr->set_name("value");
      attr->set_type(AttributeProto::TENSOR);
      attr->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
      attr->mutable_t()->add_float_data(v);
      out.push_back(std::move(c));
      return name;
    };
    auto node = [&](const std::string& op, const std::vector<std::string>& inputs) {
      const std::string name = unique_name(base + "/" + op);
      out.push_back(make_node(op, inputs, name, name));
      return name;
    };
    std::string inner;
    if (approximate == "none") {
      inner = node("Erf", {node("Div", {x, constant("sqrt2", std::sqrt(2.f))})});
    } else {
      const std::string cube = node("Mul", {node("Mul", {x, x}), x});
      const std::string sum = node("Add", {x, node("Mul", {cube, constant("c", 0.044715f)})});
      inner = node("Tanh", {node("Mul", {sum, constant("k", std::sqrt(2.f / 3.14159265358979f))})});
    }
    const std::string scaled = node("Mul", {x, node("Add", {inner, constant("one", 1.f)})});
    out.push_back(make_node("Mul", {scaled, constant("half", 0.5f)}, n.output(0), base));
  }

  // GridSample-20 names its modes linear / cubic (bilinear / bicubic in GridSample-16) and allows any rank;
  // the 4-D form is GridSample-16.
  void rewrite_grid_sample(NodeProto& n) {
    if (opset_ < 20) return;
    for (auto& a : *n.mutable_attribute())
      if (a.name() == "mode" && (a.s() == "linear" || a.s() == "cubic")) a.set_s("bi" + a.s());
  }

  static NodeProto make_node(const std::string& op, const std::vector<std::string>& inputs,
                             const std::string& output, const std::string& name) {
    NodeProto node;
    node.set_op_type(op);
    node.set_name(name);
    for (const auto& in : inputs)
      node.add_input(in);
    node.add_output(output);
    return node;
  }

  // Removes an attribute that only may keep its default (0 / all ones); anything else is refused.
  void drop_default(NodeProto& n, const std::string& name, const std::string& what) {
    const AttributeProto* a = find_attribute(n, name);
    if (!a) return;
    bool is_default = a->i() == 0;
    if (a->type() == AttributeProto::INTS) {
      is_default = true;
      for (int64_t v : a->ints())
        is_default = is_default && v == 1;
    }
    if (!is_default) fail("{}: {} (opset {}) is not supported", context_, what, opset_);
    remove_attribute(n, name);
  }

  // Copies the small integer tensor of a Constant node (axes are one): the nodes move while they are
  // rewritten.
  void remember_constant_ints(const NodeProto& n) {
    for (const auto& a : n.attribute()) {
      onnx::TensorProto t;
      if (a.name() == "value" && a.type() == AttributeProto::TENSOR &&
          (a.t().data_type() == onnx::TensorProto::INT64 || a.t().data_type() == onnx::TensorProto::INT32) &&
          a.t().dims_size() <= 1 && (a.t().dims_size() == 0 || a.t().dims(0) <= 64)) {
        t = a.t();
      } else if (a.name() == "value_ints" && a.type() == AttributeProto::INTS) {
        t.set_data_type(onnx::TensorProto::INT64);
        t.add_dims(a.ints_size());
        for (int64_t v : a.ints())
          t.add_int64_data(v);
      } else {
        continue;
      }
      constant_copies_[n.output(0)] = std::move(t);
    }
  }

  std::vector<int64_t> constant_ints(const std::string& value, const std::string& what) {
    if (const auto copy = constant_copies_.find(value); copy != constant_copies_.end())
      return tensor_from_proto(copy->second, context_).to_int64();
    const auto it = constants_.find(value);
    if (it == constants_.end())
      fail(
          "{}: its {} input '{}' is computed at run time; partq needs it constant to read an opset-{} "
          "model",
          context_, what, value, opset_);
    return tensor_from_proto(*it->second, context_).to_int64();
  }

  std::string unique_name(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k)
      name = fmt::format("{}_{}", base, k);
    names_.insert(name);
    return name;
  }

  static const AttributeProto* find_attribute(const NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }

  static void remove_attribute(NodeProto& n, const std::string& name) {
    auto* attrs = n.mutable_attribute();
    for (int i = attrs->size() - 1; i >= 0; --i)
      if (attrs->Get(i).name() == name) attrs->DeleteSubrange(i, 1);
  }

  onnx::ModelProto& model_;
  const std::string& label_;
  const int64_t opset_;
  std::map<std::string, const onnx::TensorProto*> constants_;  // initializers
  std::map<std::string, onnx::TensorProto> constant_copies_;   // small integer Constant nodes
  std::set<std::string> names_;
  std::string context_;
};

}  // namespace

int64_t default_domain_opset(const onnx::ModelProto& model) {
  int64_t opset = -1;
  for (const auto& imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx") opset = imp.version();
  return opset;
}

void downgrade_to_checker_versions(onnx::ModelProto& model, const std::string& label) {
  if (model.ir_version() > kMaxIrVersion)
    fail("{}: ONNX IR version {} is not supported (partq reads IR versions up to {})", label,
         model.ir_version(), kMaxIrVersion);
  if (model.ir_version() > kCheckerIrVersion) model.set_ir_version(kCheckerIrVersion);
  const int64_t opset = default_domain_opset(model);
  if (opset <= kCheckerOpset) return;
  if (opset > kMaxOpset)
    fail("{}: default-domain opset {} is not supported (partq accepts 1..{})", label, opset, kMaxOpset);
  Downgrade(model, label, opset).run();
  for (auto& imp : *model.mutable_opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx") imp.set_version(kCheckerOpset);
}

}  // namespace partq::detail
