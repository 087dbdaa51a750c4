// The graph IR every partq module works on: a small, ONNX-shaped dataflow graph.
//
// Ownership: a Graph owns all of its Nodes and Values (stable addresses, held by unique_ptr); everything else
// refers to them by raw pointer, valid until the node/value is erased or the Graph is destroyed.
// Edges are kept consistent by the Graph itself: use add_node / set_input / replace_all_uses / erase_node
// rather than editing Node::inputs or Value::consumers by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace partq {

enum class DType : int8_t { kUndefined, kFloat32, kFloat16, kInt64, kInt32, kInt8, kUInt8, kBool, kFloat64 };

const char* dtype_name(DType t);
size_t dtype_size(DType t);
bool is_floating(DType t);  // float32, float16 or float64

// A dimension of -1 means unknown (dynamic); shapes are in ONNX order (NCHW for images).
using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);    // -1 if any dim is unknown
std::string shape_str(const Shape& shape);  // "[1,3,640,640]"

// A dense, contiguous (row-major) host tensor. Used for initializers, constants and raw I/O.
struct Tensor {
  DType dtype = DType::kUndefined;
  Shape shape;
  std::vector<std::byte> bytes;

  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled

  int64_t numel() const { return shape_numel(shape); }
  template <typename T>
  std::span<T> as() {
    return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  template <typename T>
  std::span<const T> as() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  // Values of an integer tensor (int64/int32/int8/uint8/bool) widened to int64; of a float tensor as float.
  std::vector<int64_t> to_int64() const;
  std::vector<float> to_float() const;

  static Tensor from_float(Shape shape, std::span<const float> values);
  static Tensor from_int64(Shape shape, std::span<const int64_t> values);
  static Tensor scalar_float(float v) { return from_float({}, std::span<const float>(&v, 1)); }
};

class Node;

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;  // empty + !has_shape means unknown rank
  bool has_shape = false;
  Node* producer = nullptr;                   // null for graph inputs and initializers
  std::vector<Node*> consumers;               // one entry per use (a node using it twice appears twice)
  std::shared_ptr<const Tensor> initializer;  // set for weights / constant data

  bool is_constant() const { return initializer != nullptr; }
};

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor>;

class Node {
 public:
  std::string name;  // unique within the graph (import gives unnamed nodes a generated name)
  std::string op_type;
  std::string domain;          // "" for the default ONNX domain
  std::vector<Value*> inputs;  // nullptr stands for an omitted optional input
  std::vector<Value*> outputs;
  std::map<std::string, AttrValue> attrs;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute access; a present attribute of the wrong type is an Error naming the node.
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key, std::vector<float> fallback = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;  // null if absent

  // Input i if present (not omitted and in range), else null.
  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
};

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  std::unique_ptr<Graph> clone() const;  // deep copy (initializer data is shared, it is immutable)

  std::string name;
  int64_t opset = 17;  // default-domain opset of the graph's node forms
  // The opset of the file when it was newer than libonnx 1.12 knows (18..22) and was read through its
  // opset-17 forms (opset is then 17); 0 otherwise.
  int64_t file_opset = 0;
  int64_t ir_version = 8;
  std::string producer_name;
  std::map<std::string, std::string> metadata;  // ONNX metadata_props (e.g. "names", "stride")

  std::vector<Value*> inputs;  // graph inputs that are not initializers
  std::vector<Value*> outputs;
  // Graph inputs partq feeds itself rather than the caller: the image size or scale a detector's exported
  // post-processing reads (RT-DETR / D-FINE / DEIM's orig_target_sizes, PaddleDetection's im_shape and
  // scale_factor), given the image input's own size and a scale of 1 so that the boxes come out in input
  // pixels like every other head's (size_input_value in passes.hpp). The engine and QAT read them as
  // constants; an export keeps them as inputs. Set by mark_size_inputs.
  std::set<std::string> size_inputs;

  // Values
  Value* add_value(const std::string& name, DType dtype = DType::kUndefined, Shape shape = {},
                   bool has_shape = false);
  Value* add_initializer(const std::string& name, Tensor tensor);  // the value carries the tensor
  Value* find_value(const std::string& name) const;                // null if none
  std::string unique_value_name(const std::string& base) const;

  // Nodes (kept in a topological order; add_node appends, so add producers before consumers or call
  // topological_sort afterwards).
  Node* add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                 const std::vector<Value*>& outputs, const std::string& name = "");
  Node* find_node(const std::string& name) const;
  std::string unique_node_name(const std::string& base) const;
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  std::vector<Value*> values() const;

  void set_input(Node* node, size_t index, Value* value);
  // Every use of `from` (node inputs and graph outputs) now uses `to`.
  void replace_all_uses(Value* from, Value* to);
  // Removes the node; its outputs stay as (producer-less) values until remove_unused_values().
  void erase_node(Node* node);
  void remove_unused_values();  // drops values with no producer, no consumer, not graph I/O
  void topological_sort();      // throws Error on a cycle

  // Structural consistency (edges, unique names, topological order); throws Error describing the first
  // problem. Called by tests and after every pass in debug builds.
  void verify() const;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::map<std::string, Value*> value_by_name_;
  std::map<std::string, Node*> node_by_name_;
};

}  // namespace partq
