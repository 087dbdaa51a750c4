// model_fingerprint: FNV-1a 64 over what identifies a model to a calibration: graph I/O, every node (name,
// op, inputs, outputs) in order and every initializer's name, dtype, shape and bytes.
#include <fmt/format.h>

#include "partq/quant.hpp"

namespace partq {
namespace {

class Fnv1a64 {
 public:
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void text(const std::string& s) {
    bytes(s.data(), s.size());
    bytes("\0", 1);  // separator, so ("ab","c") != ("a","bc")
  }
  void number(int64_t v) { bytes(&v, sizeof v); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string model_fingerprint(const Graph& graph) {
  Fnv1a64 h;
  for (const Value* v : graph.inputs) {
    h.text(v->name);
    for (int64_t d : v->shape)
      h.number(d);
  }
  for (const Value* v : graph.outputs)
    h.text(v->name);
  for (const auto& n : graph.nodes()) {
    h.text(n->op_type);
    h.text(n->name);
    for (const Value* v : n->inputs)
      h.text(v ? v->name : "");
    for (const Value* v : n->outputs)
      h.text(v->name);
  }
  for (const Value* v : graph.values()) {
    if (!v->initializer) continue;
    h.text(v->name);
    h.number(static_cast<int64_t>(v->initializer->dtype));
    for (int64_t d : v->initializer->shape)
      h.number(d);
    h.bytes(v->initializer->bytes.data(), v->initializer->bytes.size());
  }
  return fmt::format("fnv1a64:{:016x}", h.value());
}

}  // namespace partq
