// Graph construction and edits. Every edit keeps producer / consumer edges consistent.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "partq/error.hpp"
#include "partq/ir.hpp"

namespace partq {

Graph::Graph() = default;
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

std::unique_ptr<Graph> Graph::clone() const {
  auto copy = std::make_unique<Graph>();
  copy->name = name;
  copy->opset = opset;
  copy->file_opset = file_opset;
  copy->ir_version = ir_version;
  copy->producer_name = producer_name;
  copy->metadata = metadata;
  std::unordered_map<const Value*, Value*> value_map;
  for (const auto& v : values_) {
    Value* c = copy->add_value(v->name, v->dtype, v->shape, v->has_shape);
    c->initializer = v->initializer;
    value_map[v.get()] = c;
  }
  auto map_values = [&](const std::vector<Value*>& vs) {
    std::vector<Value*> out;
    out.reserve(vs.size());
    for (Value* v : vs)
      out.push_back(v ? value_map.at(v) : nullptr);
    return out;
  };
  for (const auto& n : nodes_) {
    Node* c = copy->add_node(n->op_type, map_values(n->inputs), map_values(n->outputs), n->name);
    c->domain = n->domain;
    c->attrs = n->attrs;
  }
  copy->inputs = map_values(inputs);
  copy->outputs = map_values(outputs);
  copy->size_inputs = size_inputs;
  return copy;
}

Value* Graph::add_value(const std::string& value_name, DType dtype, Shape shape, bool has_shape) {
  if (value_name.empty()) fail("graph '{}': a value needs a name", name);
  if (value_by_name_.count(value_name)) fail("graph '{}': value '{}' already exists", name, value_name);
  auto v = std::make_unique<Value>();
  v->name = value_name;
  v->dtype = dtype;
  v->shape = std::move(shape);
  v->has_shape = has_shape || !v->shape.empty();
  Value* raw = v.get();
  values_.push_back(std::move(v));
  value_by_name_[value_name] = raw;
  return raw;
}

Value* Graph::add_initializer(const std::string& value_name, Tensor tensor) {
  Value* v = add_value(value_name, tensor.dtype, tensor.shape, true);
  v->initializer = std::make_shared<const Tensor>(std::move(tensor));
  return v;
}

Value* Graph::find_value(const std::string& value_name) const {
  auto it = value_by_name_.find(value_name);
  return it == value_by_name_.end() ? nullptr : it->second;
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (!value_by_name_.count(base)) return base;
  for (size_t i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!value_by_name_.count(candidate)) return candidate;
  }
}

Node* Graph::add_node(const std::string& op_type, const std::vector<Value*>& node_inputs,
                      const std::vector<Value*>& node_outputs, const std::string& node_name) {
  std::string final_name = node_name.empty() ? unique_node_name(op_type) : node_name;
  if (node_by_name_.count(final_name)) fail("graph '{}': node '{}' already exists", name, final_name);
  for (Value* out : node_outputs) {
    if (!out) fail("node '{}' ({}): outputs must not be null", final_name, op_type);
    if (out->producer)
      fail("node '{}' ({}): output '{}' is already produced by node '{}'", final_name, op_type, out->name,
           out->producer->name);
    if (out->initializer)
      fail("node '{}' ({}): output '{}' is an initializer", final_name, op_type, out->name);
  }
  auto node = std::make_unique<Node>();
  node->name = final_name;
  node->op_type = op_type;
  node->inputs = node_inputs;
  node->outputs = node_outputs;
  Node* raw = node.get();
  for (Value* in : node_inputs)
    if (in) in->consumers.push_back(raw);
  for (Value* out : node_outputs)
    out->producer = raw;
  nodes_.push_back(std::move(node));
  node_by_name_[final_name] = raw;
  return raw;
}

Node* Graph::find_node(const std::string& node_name) const {
  auto it = node_by_name_.find(node_name);
  return it == node_by_name_.end() ? nullptr : it->second;
}

std::string Graph::unique_node_name(const std::string& base) const {
  if (!node_by_name_.count(base)) return base;
  for (size_t i = 1;; ++i) {
    std::string candidate = base + "_" + std::to_string(i);
    if (!node_by_name_.count(candidate)) return candidate;
  }
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size());
  for (const auto& v : values_)
    out.push_back(v.get());
  return out;
}

namespace {

// Removes one entry of `node` from v->consumers (one entry stands for one use).
void drop_one_use(Value* v, Node* node) {
  auto it = std::find(v->consumers.begin(), v->consumers.end(), node);
  if (it != v->consumers.end()) v->consumers.erase(it);
}

}  // namespace

void Graph::set_input(Node* node, size_t index, Value* value) {
  if (index >= node->inputs.size()) node->inputs.resize(index + 1, nullptr);
  if (Value* old = node->inputs[index]) drop_one_use(old, node);
  node->inputs[index] = value;
  if (value) value->consumers.push_back(node);
  // Trailing omitted inputs carry no meaning; keep the list short so exports stay canonical.
  while (!node->inputs.empty() && node->inputs.back() == nullptr)
    node->inputs.pop_back();
}

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  std::vector<Node*> users = from->consumers;
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  for (Node* user : users) {
    for (Value*& in : user->inputs) {
      if (in != from) continue;
      in = to;
      if (to) to->consumers.push_back(user);
    }
  }
  from->consumers.clear();
  std::replace(outputs.begin(), outputs.end(), from, to);
}

void Graph::erase_node(Node* node) {
  for (Value* in : node->inputs)
    if (in) drop_one_use(in, node);
  for (Value* out : node->outputs)
    if (out && out->producer == node) out->producer = nullptr;
  node_by_name_.erase(node->name);
  auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& n) { return n.get() == node; });
  if (it != nodes_.end()) nodes_.erase(it);
}

void Graph::remove_unused_values() {
  std::unordered_set<const Value*> io(inputs.begin(), inputs.end());
  io.insert(outputs.begin(), outputs.end());
  std::erase_if(values_, [&](const std::unique_ptr<Value>& v) {
    const bool unused = !v->producer && v->consumers.empty() && !io.count(v.get());
    if (unused) value_by_name_.erase(v->name);
    return unused;
  });
}

}  // namespace partq
