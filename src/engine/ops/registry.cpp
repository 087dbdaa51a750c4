#include "registry.hpp"

namespace partq::engine {

namespace {
constexpr OpEntry kOps[] = {
#define PARTQ_OP(type, fn) {#type, fn},
#include "ops.def"
#undef PARTQ_OP
};
}  // namespace

std::span<const OpEntry> op_table() {
  return kOps;
}

const OpEntry* find_op(std::string_view op_type) {
  for (const OpEntry& e : kOps)
    if (e.op_type == op_type) return &e;
  return nullptr;
}

}  // namespace partq::engine
