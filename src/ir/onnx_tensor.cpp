// TensorProto <-> Tensor, and reading serialized TensorProto files (the ONNX node-test data format).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "half.hpp"
#include "onnx_convert.hpp"
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"

namespace partq {
namespace detail {

using onnx::TensorProto;

DType dtype_from_onnx(int32_t elem_type) {
  switch (elem_type) {
    case TensorProto::FLOAT:
      return DType::kFloat32;
    case TensorProto::FLOAT16:
      return DType::kFloat16;
    case TensorProto::INT64:
      return DType::kInt64;
    case TensorProto::INT32:
      return DType::kInt32;
    case TensorProto::INT8:
      return DType::kInt8;
    case TensorProto::UINT8:
      return DType::kUInt8;
    case TensorProto::BOOL:
      return DType::kBool;
    case TensorProto::DOUBLE:
      return DType::kFloat64;
    default:
      return DType::kUndefined;
  }
}

int32_t dtype_to_onnx(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return TensorProto::FLOAT;
    case DType::kFloat16:
      return TensorProto::FLOAT16;
    case DType::kInt64:
      return TensorProto::INT64;
    case DType::kInt32:
      return TensorProto::INT32;
    case DType::kInt8:
      return TensorProto::INT8;
    case DType::kUInt8:
      return TensorProto::UINT8;
    case DType::kBool:
      return TensorProto::BOOL;
    case DType::kFloat64:
      return TensorProto::DOUBLE;
    case DType::kUndefined:
      break;
  }
  return TensorProto::UNDEFINED;
}

namespace {

// Copies a repeated typed field into the tensor's bytes, narrowing to the element type T.
template <typename T, typename Field>
void copy_typed(const Field& field, Tensor& t) {
  auto out = t.as<T>();
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
}

}  // namespace

Tensor tensor_from_proto(const TensorProto& proto, const std::string& context) {
  const std::string label =
      proto.name().empty() ? context : fmt::format("{}: tensor '{}'", context, proto.name());
  if (proto.data_location() == TensorProto::EXTERNAL || proto.external_data_size() > 0)
    fail("{} stores its data in an external file; partq reads only self-contained ONNX files", label);
  if (proto.has_segment()) fail("{} is segmented, which partq does not support", label);
  const DType dtype = dtype_from_onnx(proto.data_type());
  if (dtype == DType::kUndefined)
    fail("{} has element type {}, which partq does not support", label,
         TensorProto::DataType_Name(static_cast<TensorProto::DataType>(proto.data_type())));
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail("{} has a negative dimension in {}", label, shape_str(shape));
  Tensor t(dtype, shape);
  const size_t n = static_cast<size_t>(t.numel());
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != t.bytes.size())
      fail("{}: raw_data holds {} bytes, shape {} x {} needs {}", label, proto.raw_data().size(),
           shape_str(shape), dtype_name(dtype), t.bytes.size());
    std::memcpy(t.bytes.data(), proto.raw_data().data(), t.bytes.size());
    return t;
  }
  auto check_count = [&](int have) {
    if (static_cast<size_t>(have) != n)
      fail("{}: holds {} values, shape {} needs {}", label, have, shape_str(shape), n);
  };
  switch (dtype) {
    case DType::kFloat32:
      check_count(proto.float_data_size());
      copy_typed<float>(proto.float_data(), t);
      break;
    case DType::kFloat64:
      check_count(proto.double_data_size());
      copy_typed<double>(proto.double_data(), t);
      break;
    case DType::kInt64:
      check_count(proto.int64_data_size());
      copy_typed<int64_t>(proto.int64_data(), t);
      break;
    case DType::kInt32:
      check_count(proto.int32_data_size());
      copy_typed<int32_t>(proto.int32_data(), t);
      break;
    case DType::kInt8:
      check_count(proto.int32_data_size());
      copy_typed<int8_t>(proto.int32_data(), t);
      break;
    case DType::kUInt8:
      check_count(proto.int32_data_size());
      copy_typed<uint8_t>(proto.int32_data(), t);
      break;
    case DType::kBool:
      check_count(proto.int32_data_size());
      copy_typed<uint8_t>(proto.int32_data(), t);
      break;
    // float16 values travel as their bit patterns in int32_data.
    case DType::kFloat16:
      check_count(proto.int32_data_size());
      copy_typed<uint16_t>(proto.int32_data(), t);
      break;
    case DType::kUndefined:
      break;
  }
  return t;
}

void tensor_to_proto(const Tensor& tensor, const std::string& name, TensorProto* proto) {
  proto->set_name(name);
  proto->set_data_type(dtype_to_onnx(tensor.dtype));
  for (int64_t d : tensor.shape)
    proto->add_dims(d);
  proto->set_raw_data(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
}

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("{}: no such file", path);
  if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  return std::move(buffer).str();
}

}  // namespace detail

Tensor parse_tensor_pb(std::string_view bytes, const std::string& label) {
  onnx::TensorProto proto;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail("{}: not a valid serialized onnx TensorProto (truncated or corrupt)", label);
  return detail::tensor_from_proto(proto, label);
}

Tensor load_tensor_pb(const std::string& path) {
  return parse_tensor_pb(detail::read_file_bytes(path), path);
}

}  // namespace partq
