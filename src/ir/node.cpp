// Typed attribute access on Node.
#include "partq/error.hpp"
#include "partq/ir.hpp"

namespace partq {

namespace {

const char* attr_kind(const AttrValue& v) {
  static constexpr const char* kNames[] = {"int", "float", "string", "ints", "floats", "strings", "tensor"};
  return kNames[v.index()];
}

template <typename T>
const T* typed_attr(const Node& node, const std::string& key, const char* wanted) {
  auto it = node.attrs.find(key);
  if (it == node.attrs.end()) return nullptr;
  if (const T* v = std::get_if<T>(&it->second)) return v;
  fail("node '{}' ({}): attribute '{}' is {}, expected {}", node.name, node.op_type, key,
       attr_kind(it->second), wanted);
}

}  // namespace

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  const int64_t* v = typed_attr<int64_t>(*this, key, "int");
  return v ? *v : fallback;
}

float Node::attr_float(const std::string& key, float fallback) const {
  const float* v = typed_attr<float>(*this, key, "float");
  return v ? *v : fallback;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const std::string* v = typed_attr<std::string>(*this, key, "string");
  return v ? *v : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const auto* v = typed_attr<std::vector<int64_t>>(*this, key, "ints");
  return v ? *v : fallback;
}

std::vector<float> Node::attr_floats(const std::string& key, std::vector<float> fallback) const {
  const auto* v = typed_attr<std::vector<float>>(*this, key, "floats");
  return v ? *v : fallback;
}

const Tensor* Node::attr_tensor(const std::string& key) const {
  return typed_attr<Tensor>(*this, key, "tensor");
}

}  // namespace partq
