// The precision a node runs in: one type shared by the quantization plan (quant.hpp) and the engine's
// per-node precision plan (engine.hpp).
#pragma once

namespace partq {

enum class Precision { kFloat32, kInt8 };

}  // namespace partq
