// The engine's op registry: op type -> lowering function, generated from ops.def (one list, no hand-kept
// switch).
#pragma once

#include <span>
#include <string_view>

#include "../lowering.hpp"

namespace partq::engine {

using LowerFn = void (*)(Lowering&);

struct OpEntry {
  std::string_view op_type;
  LowerFn lower;
};

#define PARTQ_OP(type, fn) void fn(Lowering&);
#include "ops.def"
#undef PARTQ_OP

std::span<const OpEntry> op_table();
const OpEntry* find_op(std::string_view op_type);  // null if the engine has no lowering for it

}  // namespace partq::engine
