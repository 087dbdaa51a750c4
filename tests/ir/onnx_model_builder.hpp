// Writes small ONNX models straight as protobuf, for the forms partq's own exporter never writes (opsets
// newer than libonnx 1.12 knows, IR versions above 8).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace partq::test {

class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int64_t opset, int64_t ir_version = 10) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("partq-test");
    auto* imp = model_.add_opset_import();
    imp->set_domain("");
    imp->set_version(opset);
    model_.mutable_graph()->set_name("g");
  }

  void input(const std::string& name, std::initializer_list<int64_t> dims) {
    set_type(model_.mutable_graph()->add_input(), name, onnx::TensorProto::FLOAT, dims);
  }
  void output(const std::string& name, std::initializer_list<int64_t> dims,
              int32_t elem_type = onnx::TensorProto::FLOAT) {
    set_type(model_.mutable_graph()->add_output(), name, elem_type, dims);
  }

  onnx::NodeProto& node(const std::string& op, std::initializer_list<std::string> inputs,
                        std::initializer_list<std::string> outputs, const std::string& name = "") {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& in : inputs)
      n->add_input(in);
    for (const auto& out : outputs)
      n->add_output(out);
    return *n;
  }

  void ints(const std::string& name, std::initializer_list<int64_t> values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values)
      t->add_int64_data(v);
  }
  void floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  }

  void int8s(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int8_t>& values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT8);
    for (int64_t d : dims)
      t->add_dims(d);
    t->set_raw_data(std::string(values.begin(), values.end()));
  }

  static void attr(onnx::NodeProto& n, const std::string& name, int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, std::initializer_list<int64_t> values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values)
      a->add_ints(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& name, const std::string& value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }

  onnx::ModelProto& model() { return model_; }
  std::string bytes() const { return model_.SerializeAsString(); }

 private:
  static void set_type(onnx::ValueInfoProto* v, const std::string& name, int32_t elem_type,
                       std::initializer_list<int64_t> dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }

  onnx::ModelProto model_;
};

}  // namespace partq::test
