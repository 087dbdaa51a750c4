// NumPy .npy files: the exchange format with ONNX Runtime (tools/ort/ort.js) and with Python users.
//
// Supported: format versions 1.0, 2.0 and 3.0; little-endian (or byte-order-free) dtypes f4, f8, f2, i8, i4,
// i1, u1 and b1; C order. Anything else (fortran_order True, big-endian, other dtypes, a truncated file) is a
// partq::Error naming the file. Writing always produces version 1.0 (or 2.0 if the header would not fit).
#pragma once

#include "partq/ir.hpp"

#include <string>
#include <string_view>

namespace partq {

Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& tensor);  // atomic, see atomic_file.hpp

// The same on in-memory bytes; `name` is used in error messages in place of a path.
Tensor parse_npy(std::string_view bytes, const std::string& name);
std::string serialize_npy(const Tensor& tensor);

}  // namespace partq
