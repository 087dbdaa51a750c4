// read_qdq: a Q/DQ ONNX model (partq's or another tool's) -> float graph + the quantization it describes.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "graph_queries.hpp"
#include "partq/error.hpp"
#include "partq/quant_qdq.hpp"
#include "partq/quant_weights.hpp"
#include "union_find.hpp"

namespace partq {
namespace {

bool is_q(const Node& n) {
  return n.op_type == "QuantizeLinear";
}
bool is_dq(const Node& n) {
  return n.op_type == "DequantizeLinear";
}

// Scale, zero point and axis of a QuantizeLinear / DequantizeLinear, checked against partq's convention.
QuantParams read_params(const Node& n) {
  const Value* scale = n.input(1);
  const Value* zp = n.input(2);
  if (!scale || !scale->is_constant() || scale->initializer->dtype != DType::kFloat32)
    fail("{} '{}': its scale must be a constant float32 tensor", n.op_type, n.name);
  QuantParams p{scale->initializer->to_float(), {}, -1};
  if (scale->initializer->shape.size() > 1)
    fail("{} '{}': scale of shape {} (only scalars or 1-D per-channel scales are supported)", n.op_type,
         n.name, shape_str(scale->initializer->shape));
  if (scale->initializer->shape.size() == 1) p.axis = n.attr_int("axis", 1);
  if (!zp) {
    // QuantizeLinear without a zero point produces uint8 (zero point 0); DequantizeLinear without one reads
    // its input's type.
    const Value* in = n.input(0);
    if (is_q(n) || (in && in->dtype == DType::kUInt8)) p.zero_points = {0};
  } else if (zp->is_constant() && zp->initializer->dtype == DType::kUInt8) {
    p.zero_points = zp->initializer->to_int64();
    if (p.zero_points.size() != 1)
      fail("{} '{}': {} uint8 zero points; partq reads one per tensor", n.op_type, n.name,
           p.zero_points.size());
  } else {
    if (!zp->is_constant()) fail("{} '{}': its zero point must be a constant", n.op_type, n.name);
    if (zp->initializer->dtype != DType::kInt8 && zp->initializer->dtype != DType::kInt32)
      fail("{} '{}': zero point of type {} is not supported (int8 or uint8 expected)", n.op_type, n.name,
           dtype_name(zp->initializer->dtype));
    for (int64_t z : zp->initializer->to_int64())
      if (z != 0)
        fail(
            "{} '{}': int8 zero point {} is not supported; partq reads symmetric int8 (zero point 0) or "
            "uint8 "
            "with a zero point",
            n.op_type, n.name, z);
  }
  for (float s : p.scales)
    if (!(s > 0) || !std::isfinite(s))
      fail("{} '{}': scale {} is not a positive number", n.op_type, n.name, s);
  return p;
}

bool same_params(const QuantParams& a, const QuantParams& b) {
  return a.scales == b.scales && a.zero_points == b.zero_points && a.axis == b.axis;
}

// The DequantizeLinear output becomes a float initializer holding `tensor` (keeps its name and its
// consumers).
void make_initializer(Graph& g, Node* dq, Tensor tensor) {
  Value* out = dq->outputs[0];
  g.erase_node(dq);
  out->dtype = DType::kFloat32;
  out->shape = tensor.shape;
  out->has_shape = true;
  out->initializer = std::make_shared<const Tensor>(std::move(tensor));
}

struct Reader {
  Graph& g;
  QdqModel& model;
  std::map<const Value*, std::set<const Node*>> quantized_consumers;
  int64_t max_weight_code = -1;  // the largest |code| of any int8 weight (-1: none)

  void saw_weight_codes(const Tensor& q) {
    for (int64_t c : q.to_int64())
      max_weight_code = std::max(max_weight_code, c < 0 ? -c : c);
  }

  void check_q(const Node& q) {
    const Value* out = q.outputs[0];
    if (std::find(g.outputs.begin(), g.outputs.end(), out) != g.outputs.end())
      fail("QuantizeLinear '{}': its int8 output '{}' is a graph output (not supported)", q.name, out->name);
    for (const Node* c : out->consumers)
      if (!is_dq(*c))
        fail("QuantizeLinear '{}' feeds {} '{}', not a DequantizeLinear (integer-only ops are not supported)",
             q.name, c->op_type, c->name);
  }

  void read_dq(Node* dq) {
    Value* in = dq->input(0);
    // The QuantizeLinear of a pair is checked first, so that its problems name it.
    if (in && in->producer && is_q(*in->producer)) read_params(*in->producer);
    const QuantParams params = read_params(*dq);
    Value* out = dq->outputs[0];
    if (in && in->is_constant()) {
      const DType t = in->initializer->dtype;
      if (t != DType::kInt8 && t != DType::kInt32)
        fail("DequantizeLinear '{}': initializer '{}' is {}; int8 weights (or int32 biases) expected",
             dq->name, in->name, dtype_name(t));
      if (params.asymmetric())
        fail("DequantizeLinear '{}': initializer '{}' has a uint8 zero point; int8 weights expected",
             dq->name, in->name);
      if (t == DType::kInt8) {
        model.weight_params[out->name] = params;
        saw_weight_codes(*in->initializer);
      }
      make_initializer(g, dq, dequantize_weight(*in->initializer, params));
      return;
    }
    Node* q = in ? in->producer : nullptr;
    if (!q || !is_q(*q))
      fail(
          "DequantizeLinear '{}' reads '{}', which is neither a QuantizeLinear output nor an int8 "
          "initializer",
          dq->name, in ? in->name : "");
    if (!same_params(read_params(*q), params))
      fail("QuantizeLinear '{}' and DequantizeLinear '{}' use different scales or zero points", q->name,
           dq->name);
    Value* x = q->input(0);
    if (x->is_constant() && params.asymmetric())
      fail("QuantizeLinear '{}': weight '{}' is quantized to uint8; partq reads symmetric int8 weights",
           q->name, x->name);
    if (x->is_constant()) {
      // A float weight quantized in the graph: keep the values ONNX Runtime would compute.
      if (x->initializer->dtype != DType::kFloat32)
        fail("QuantizeLinear '{}': weight '{}' is {}, not float32", q->name, x->name,
             dtype_name(x->initializer->dtype));
      model.weight_params[out->name] = params;
      const Tensor codes = quantize_weight(*x->initializer, params);
      saw_weight_codes(codes);
      make_initializer(g, dq, dequantize_weight(codes, params));
      return;
    }
    if (params.per_channel() && params.scales.size() > 1)
      fail(
          "QuantizeLinear '{}': per-channel quantization of activation '{}' is not supported (per tensor "
          "only)",
          q->name, x->name);
    const QuantParams per_tensor{{params.scales.at(0)}, params.zero_points, -1};
    if (auto it = model.activation_params.find(x->name); it != model.activation_params.end()) {
      if (!same_params(it->second, per_tensor))
        fail("QuantizeLinear '{}': tensor '{}' is quantized twice with different scales or zero points",
             q->name, x->name);
    } else {
      model.activation_params[x->name] = per_tensor;
    }
    if (std::find(g.outputs.begin(), g.outputs.end(), out) != g.outputs.end())
      fail("DequantizeLinear '{}': its output '{}' is a graph output (not supported)", dq->name, out->name);
    for (Node* c : std::vector<Node*>(out->consumers)) {
      if (!is_q(*c)) quantized_consumers[x].insert(c);  // a requantizing Q is erased below
      for (size_t i = 0; i < c->inputs.size(); ++i)
        if (c->inputs[i] == out) g.set_input(c, i, x);
    }
    g.erase_node(dq);
  }
};

void build_plan(const Graph& g, QdqModel& model,
                const std::map<const Value*, std::set<const Node*>>& consumers) {
  QuantPlan& plan = model.plan;
  std::unordered_map<const Node*, size_t> node_index;
  for (const auto& n : g.nodes())
    node_index.emplace(n.get(), node_index.size());
  auto reads_quantized = [&](const Value* v, const Node* n) {
    auto it = consumers.find(v);
    return it != consumers.end() && it->second.count(n);
  };

  for (const auto& n : g.nodes()) {
    if (!quant_detail::is_quantizable_op(*n)) continue;
    const auto inputs = quant_detail::quantizable_inputs(*n);
    const Value* data = n->input(inputs.data_index);
    const Value* weight = n->input(inputs.weight_index);
    QuantNode q{.name = n->name, .op_type = n->op_type, .weight_axis = inputs.weight_axis};
    if (data) q.data_input = data->name;
    if (weight && weight->is_constant()) q.weight = weight->name;
    const bool data_q = data && reads_quantized(data, n.get());
    const bool weight_q = weight && model.weight_params.count(weight->name);
    if (weight_q && model.weight_params.at(weight->name).per_channel())
      q.weight_axis = model.weight_params.at(weight->name).axis;
    q.precision = data_q && weight_q ? Precision::kInt8 : Precision::kFloat32;
    if (!data_q && !weight_q)
      q.reason = "not quantized in the Q/DQ model";
    else if (!data_q)
      q.reason = "data input not quantized in the Q/DQ model";
    else if (!weight_q)
      q.reason = "weight not quantized in the Q/DQ model";
    plan.nodes.push_back(std::move(q));
  }

  std::vector<const Value*> order;
  for (const Value* v : g.inputs)
    if (consumers.count(v)) order.push_back(v);
  for (const auto& n : g.nodes())
    for (const Value* v : n->outputs)
      if (consumers.count(v)) order.push_back(v);
  std::unordered_map<const Value*, size_t> position;
  for (const Value* v : order)
    position.emplace(v, position.size());

  // Scale groups: a Concat / MaxPool / Resize reading quantized inputs, with a quantized output, all on one
  // scale.
  quant_detail::UnionFind sets(order.size());
  for (const auto& n : g.nodes()) {
    if (n->op_type != "Concat" && n->op_type != "MaxPool" && n->op_type != "Resize") continue;
    const Value* out = n->outputs[0];
    if (!position.count(out)) continue;
    const size_t limit = n->op_type == "Concat" ? n->inputs.size() : 1;
    for (size_t i = 0; i < limit; ++i) {
      const Value* in = n->input(i);
      if (in && position.count(in) && reads_quantized(in, n.get()) &&
          same_params(model.activation_params.at(in->name), model.activation_params.at(out->name)))
        sets.unite(position.at(in), position.at(out));
    }
  }
  std::map<size_t, int> group_id;
  for (size_t i = 0; i < order.size(); ++i) {
    auto [it, fresh] = group_id.try_emplace(sets.find(i), static_cast<int>(group_id.size()));
    QuantActivation a{.tensor = order[i]->name, .group = it->second};
    std::vector<const Node*> readers(consumers.at(order[i]).begin(), consumers.at(order[i]).end());
    std::sort(readers.begin(), readers.end(),
              [&](const Node* x, const Node* y) { return node_index.at(x) < node_index.at(y); });
    for (const Node* r : readers)
      a.consumers.push_back(r->name);
    plan.activations.push_back(std::move(a));
  }
  const auto decode = quant_detail::head_decode_nodes(g);
  for (const auto& n : g.nodes())
    if (decode.count(n.get())) plan.decode_nodes.push_back(n->name);
  plan.model_fingerprint = model_fingerprint(g);
}

}  // namespace

bool has_qdq(const Graph& graph) {
  return std::any_of(graph.nodes().begin(), graph.nodes().end(),
                     [](const auto& n) { return is_q(*n) || is_dq(*n); });
}

QdqModel read_qdq(const Graph& graph) {
  QdqModel model;
  model.graph = graph.clone();
  Graph& g = *model.graph;
  Reader reader{g, model, {}};

  std::vector<Node*> qs, dqs;
  for (const auto& n : g.nodes()) {
    if (!is_q(*n) && !is_dq(*n)) continue;
    if (!n->domain.empty() && n->domain != "ai.onnx")
      fail("{} '{}' is in domain '{}'; only the default ONNX domain is supported", n->op_type, n->name,
           n->domain);
    (is_q(*n) ? qs : dqs).push_back(n.get());
  }
  for (Node* q : qs)
    reader.check_q(*q);
  for (Node* dq : dqs)
    reader.read_dq(dq);  // topological order: a chained pair sees its input already read
  for (Node* q : qs)
    g.erase_node(q);
  g.remove_unused_values();
  g.verify();
  build_plan(g, model, reader.quantized_consumers);
  // Weights whose codes all stay within the reduced range were quantized for it (partq --reduce-range, ONNX
  // Runtime reduce_range): a re-export of the plan (QAT) keeps them 7-bit.
  if (reader.max_weight_code >= 0 && reader.max_weight_code <= kReducedRangeMaxCode)
    model.plan.weight_max_code = kReducedRangeMaxCode;
  return model;
}

}  // namespace partq
