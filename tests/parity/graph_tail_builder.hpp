// Appends nodes to a loaded Graph, for tests that give a real network (yolov5n) another head: the ops an
// exporter would write after it.
#pragma once

#include <partq/ir.hpp>

#include <map>
#include <string>
#include <vector>

namespace partq::test {

class TailBuilder {
 public:
  explicit TailBuilder(Graph& g) : g_(g) {}
  Value* ints(std::vector<int64_t> v) {
    return g_.add_initializer(g_.unique_value_name("ints"),
                              Tensor::from_int64({static_cast<int64_t>(v.size())}, v));
  }
  Value* int_scalar(int64_t v) {
    return g_.add_initializer(g_.unique_value_name("int"), Tensor::from_int64({}, std::vector<int64_t>{v}));
  }
  Value* scalar(float f) {
    Tensor t(DType::kFloat32, {});
    t.as<float>()[0] = f;
    return g_.add_initializer(g_.unique_value_name("scalar"), std::move(t));
  }
  std::vector<Value*> ops(const std::string& type, std::vector<Value*> inputs, int outputs = 1,
                          std::map<std::string, AttrValue> attrs = {}) {
    const std::string name = g_.unique_node_name("tail_" + type);
    std::vector<Value*> outs;
    for (int i = 0; i < outputs; ++i)
      outs.push_back(g_.add_value(g_.unique_value_name(name + "_out")));
    g_.add_node(type, inputs, outs, name)->attrs = std::move(attrs);
    return outs;
  }
  Value* op(const std::string& type, std::vector<Value*> inputs,
            std::map<std::string, AttrValue> attrs = {}) {
    return ops(type, std::move(inputs), 1, std::move(attrs))[0];
  }
  Value* columns(Value* x, int64_t from, int64_t to) {  // x[..., from:to]
    return op("Slice", {x, ints({from}), ints({to}), ints({2})});
  }

 private:
  Graph& g_;
};

}  // namespace partq::test
