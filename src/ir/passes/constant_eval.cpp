// Reference evaluation of the small ops that make up shape subgraphs and head constants (used by
// fold_constants). Plain loops over small tensors; anything not handled returns nullopt.
#include <cmath>
#include <cstring>
#include <numeric>

#include "../onnx_convert.hpp"
#include "partq/error.hpp"
#include "pass_util.hpp"

namespace partq::detail {

namespace {

using Inputs = std::vector<std::shared_ptr<const Tensor>>;
using Result = std::optional<std::vector<Tensor>>;

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= rank)
    fail("node '{}' ({}): axis {} out of range for rank {}", node.name, node.op_type, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Tensor with_shape(const Tensor& t, Shape shape) {
  Tensor out = t;
  out.shape = std::move(shape);
  return out;
}

// Reads an axes list from an attribute (older opsets) or input `index` (newer); empty if neither.
std::vector<int64_t> axes_of(const Node& node, const Inputs& in, size_t index) {
  if (node.has_attr("axes")) return node.attr_ints("axes");
  if (index < in.size() && in[index]) return in[index]->to_int64();
  return {};
}

Result eval_shape(const Tensor& shape_only, const Node& node) {
  const auto rank = static_cast<int64_t>(shape_only.shape.size());
  int64_t start = node.attr_int("start", 0), end = node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<int64_t> dims(shape_only.shape.begin() + start, shape_only.shape.begin() + end);
  return std::vector<Tensor>{Tensor::from_int64({static_cast<int64_t>(dims.size())}, dims)};
}

Result eval_gather(const Node& node, const Tensor& data, const Tensor& indices_t) {
  const auto rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0) return std::nullopt;
  const int64_t axis = normalize_axis(node.attr_int("axis", 0), rank, node);
  std::vector<int64_t> indices = indices_t.to_int64();
  const int64_t dim = data.shape[axis];
  Shape out_shape(data.shape.begin(), data.shape.begin() + axis);
  out_shape.insert(out_shape.end(), indices_t.shape.begin(), indices_t.shape.end());
  out_shape.insert(out_shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  const int64_t outer =
      std::accumulate(data.shape.begin(), data.shape.begin() + axis, int64_t{1}, std::multiplies<>());
  const int64_t inner =
      std::accumulate(data.shape.begin() + axis + 1, data.shape.end(), int64_t{1}, std::multiplies<>());
  const size_t es = dtype_size(data.dtype);
  Tensor out(data.dtype, out_shape);
  size_t pos = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t idx : indices) {
      if (idx < -dim || idx >= dim)
        fail("node '{}' (Gather): index {} out of range for dim {}", node.name, idx, dim);
      if (idx < 0) idx += dim;
      const size_t bytes = static_cast<size_t>(inner) * es;
      std::memcpy(out.bytes.data() + pos,
                  data.bytes.data() + static_cast<size_t>((o * dim + idx) * inner) * es, bytes);
      pos += bytes;
    }
  }
  return std::vector<Tensor>{std::move(out)};
}

Result eval_unsqueeze(const Node& node, const Tensor& data, std::vector<int64_t> axes) {
  const auto out_rank = static_cast<int64_t>(data.shape.size() + axes.size());
  for (int64_t& a : axes)
    a = normalize_axis(a, out_rank, node);
  std::sort(axes.begin(), axes.end());
  Shape shape;
  size_t src = 0, next_axis = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (next_axis < axes.size() && axes[next_axis] == i) {
      shape.push_back(1);
      ++next_axis;
    } else {
      shape.push_back(data.shape[src++]);
    }
  }
  return std::vector<Tensor>{with_shape(data, shape)};
}

Result eval_squeeze(const Node& node, const Tensor& data, std::vector<int64_t> axes) {
  const auto rank = static_cast<int64_t>(data.shape.size());
  for (int64_t& a : axes)
    a = normalize_axis(a, rank, node);
  Shape shape;
  for (int64_t i = 0; i < rank; ++i) {
    const bool listed = std::find(axes.begin(), axes.end(), i) != axes.end();
    if ((axes.empty() && data.shape[i] == 1) || listed) {
      if (data.shape[i] != 1) fail("node '{}' (Squeeze): dim {} is {}, not 1", node.name, i, data.shape[i]);
      continue;
    }
    shape.push_back(data.shape[i]);
  }
  return std::vector<Tensor>{with_shape(data, shape)};
}

Result eval_concat(const Node& node, const Inputs& in) {
  const Tensor& first = *in[0];
  const auto rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) return std::nullopt;
  const int64_t axis = normalize_axis(node.attr_int("axis", 0), rank, node);
  Shape out_shape = first.shape;
  out_shape[axis] = 0;
  for (const auto& t : in) {
    if (!t || t->dtype != first.dtype || t->shape.size() != first.shape.size()) return std::nullopt;
    out_shape[axis] += t->shape[axis];
  }
  const int64_t outer =
      std::accumulate(out_shape.begin(), out_shape.begin() + axis, int64_t{1}, std::multiplies<>());
  Tensor out(first.dtype, out_shape);
  size_t pos = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (const auto& t : in) {
      const size_t chunk = t->bytes.size() / static_cast<size_t>(std::max<int64_t>(outer, 1));
      std::memcpy(out.bytes.data() + pos, t->bytes.data() + static_cast<size_t>(o) * chunk, chunk);
      pos += chunk;
    }
  }
  return std::vector<Tensor>{std::move(out)};
}

Result eval_reshape(const Node& node, const Tensor& data, const Tensor& shape_t) {
  std::vector<int64_t> dims = shape_t.to_int64();
  const bool allow_zero = node.attr_int("allowzero", 0) != 0;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && !allow_zero) {
      if (i >= data.shape.size()) return std::nullopt;
      dims[i] = data.shape[i];
    }
    if (dims[i] == -1) {
      if (infer_at >= 0) return std::nullopt;
      infer_at = static_cast<int64_t>(i);
    } else {
      known *= dims[i];
    }
  }
  if (infer_at >= 0) {
    if (known == 0) return std::nullopt;
    dims[infer_at] = data.numel() / known;
  }
  if (shape_numel(dims) != data.numel())
    fail("node '{}' (Reshape): cannot reshape {} to {}", node.name, shape_str(data.shape), shape_str(dims));
  return std::vector<Tensor>{with_shape(data, dims)};
}

Result eval_slice(const Node& node, const Inputs& in, int64_t opset) {
  const Tensor& data = *in[0];
  const auto rank = static_cast<int64_t>(data.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    starts = node.attr_ints("starts");
    ends = node.attr_ints("ends");
    axes = node.attr_ints("axes");
  } else {
    if (in.size() < 3 || !in[1] || !in[2]) return std::nullopt;
    starts = in[1]->to_int64();
    ends = in[2]->to_int64();
    if (in.size() > 3 && in[3]) axes = in[3]->to_int64();
    if (in.size() > 4 && in[4]) steps = in[4]->to_int64();
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out_shape = data.shape;
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = normalize_axis(axes[k], rank, node);
    const int64_t dim = data.shape[a], s = steps[k];
    if (s == 0) fail("node '{}' (Slice): step 0", node.name);
    int64_t b = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    if (s > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      out_shape[a] = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      out_shape[a] = b > e ? (b - e - s - 1) / -s : 0;
    }
    begin[a] = b;
    step[a] = s;
  }
  Tensor out(data.dtype, out_shape);
  const size_t es = dtype_size(data.dtype);
  const auto in_strides = strides_of(data.shape);
  const int64_t n = out.numel();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += (begin[d] + idx[d] * step[d]) * in_strides[d];
    std::memcpy(out.bytes.data() + static_cast<size_t>(i) * es,
                data.bytes.data() + static_cast<size_t>(src) * es, es);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < out_shape[d]) break;
      idx[d] = 0;
    }
  }
  return std::vector<Tensor>{std::move(out)};
}

// Elementwise Add/Sub/Mul/Div with numpy broadcasting, for same-dtype float32 / int64 / int32 inputs.
Result eval_binary(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype) return std::nullopt;
  const DType dt = a.dtype;
  if (dt != DType::kFloat32 && dt != DType::kInt64 && dt != DType::kInt32) return std::nullopt;
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  auto padded = [&](const Shape& s) {
    Shape p(rank - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  };
  const Shape sa = padded(a.shape), sb = padded(b.shape);
  Shape out_shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (sa[i] != sb[i] && sa[i] != 1 && sb[i] != 1)
      fail("node '{}' ({}): cannot broadcast {} with {}", node.name, node.op_type, shape_str(a.shape),
           shape_str(b.shape));
    out_shape[i] = sa[i] == 1 ? sb[i] : sa[i];
  }
  auto stride_a = strides_of(sa), stride_b = strides_of(sb);
  for (size_t i = 0; i < rank; ++i) {
    if (sa[i] == 1) stride_a[i] = 0;
    if (sb[i] == 1) stride_b[i] = 0;
  }
  const std::string& op = node.op_type;
  Tensor out(dt, out_shape);
  auto run = [&](auto* out_data, const auto* x, const auto* y) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
    std::vector<int64_t> idx(rank, 0);
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) {
      int64_t ia = 0, ib = 0;
      for (size_t d = 0; d < rank; ++d) {
        ia += idx[d] * stride_a[d];
        ib += idx[d] * stride_b[d];
      }
      const T p = x[ia], q = y[ib];
      T r{};
      if (op == "Add")
        r = p + q;
      else if (op == "Sub")
        r = p - q;
      else if (op == "Mul")
        r = p * q;
      else {
        if constexpr (std::is_integral_v<T>) {
          if (q == 0) fail("node '{}' (Div): integer division by zero", node.name);
        }
        r = p / q;
      }
      out_data[i] = r;
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
        if (++idx[d] < out_shape[d]) break;
        idx[d] = 0;
      }
    }
  };
  if (dt == DType::kFloat32)
    run(out.as<float>().data(), a.as<float>().data(), b.as<float>().data());
  else if (dt == DType::kInt64)
    run(out.as<int64_t>().data(), a.as<int64_t>().data(), b.as<int64_t>().data());
  else
    run(out.as<int32_t>().data(), a.as<int32_t>().data(), b.as<int32_t>().data());
  return std::vector<Tensor>{std::move(out)};
}

Result eval_range(const Node& node, const Tensor& start, const Tensor& limit, const Tensor& delta) {
  if (start.dtype == DType::kInt64 || start.dtype == DType::kInt32) {
    const int64_t s = start.to_int64().at(0), l = limit.to_int64().at(0), d = delta.to_int64().at(0);
    if (d == 0) fail("node '{}' (Range): delta 0", node.name);
    const int64_t n = std::max<int64_t>(0, (l - s + d + (d > 0 ? -1 : 1)) / d);
    std::vector<int64_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = s + i * d;
    return std::vector<Tensor>{cast_to(Tensor::from_int64({n}, v), start.dtype)};
  }
  if (start.dtype != DType::kFloat32) return std::nullopt;
  const float s = start.to_float().at(0), l = limit.to_float().at(0), d = delta.to_float().at(0);
  if (d == 0) fail("node '{}' (Range): delta 0", node.name);
  const auto n = static_cast<int64_t>(std::max(0.0, std::ceil((static_cast<double>(l) - s) / d)));
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = s + static_cast<float>(i) * d;
  return std::vector<Tensor>{Tensor::from_float({n}, v)};
}

}  // namespace

Tensor cast_to(const Tensor& t, DType to) {
  Tensor out(to, t.shape);
  switch (to) {
    case DType::kFloat32: {
      auto v = t.to_float();
      std::memcpy(out.bytes.data(), v.data(), out.bytes.size());
      break;
    }
    case DType::kFloat64: {
      auto v = t.to_float();
      auto o = out.as<double>();
      for (size_t i = 0; i < v.size(); ++i)
        o[i] = v[i];
      break;
    }
    default: {
      // Integer targets: float sources truncate toward zero (as C++ and ONNX Runtime do); bool is != 0.
      const bool from_float = is_floating(t.dtype);
      std::vector<int64_t> v;
      if (from_float) {
        for (float f : t.to_float())
          v.push_back(to == DType::kBool ? (f != 0.0f) : static_cast<int64_t>(f));
      } else {
        v = t.to_int64();
        if (to == DType::kBool)
          for (auto& x : v)
            x = x != 0;
      }
      for (size_t i = 0; i < v.size(); ++i) {
        switch (to) {
          case DType::kInt64:
            out.as<int64_t>()[i] = v[i];
            break;
          case DType::kInt32:
            out.as<int32_t>()[i] = static_cast<int32_t>(v[i]);
            break;
          case DType::kInt8:
            out.as<int8_t>()[i] = static_cast<int8_t>(v[i]);
            break;
          case DType::kUInt8:
          case DType::kBool:
            out.as<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
            break;
          default:
            break;
        }
      }
    }
  }
  return out;
}

Result evaluate_constant_node(const Node& node, const Inputs& in, int64_t opset) {
  if (!node.domain.empty()) return std::nullopt;
  const std::string& op = node.op_type;
  auto have = [&](size_t count) {
    if (in.size() < count) return false;
    for (size_t i = 0; i < count; ++i)
      if (!in[i]) return false;
    return true;
  };
  if (op == "Constant") {
    auto t = constant_node_tensor(node);
    if (!t) return std::nullopt;
    return std::vector<Tensor>{std::move(*t)};
  }
  if (op == "Identity" && have(1)) return std::vector<Tensor>{*in[0]};
  if (op == "Shape" && have(1)) return eval_shape(*in[0], node);
  if (op == "Gather" && have(2)) return eval_gather(node, *in[0], *in[1]);
  if (op == "Unsqueeze" && have(1)) return eval_unsqueeze(node, *in[0], axes_of(node, in, 1));
  if (op == "Squeeze" && have(1)) return eval_squeeze(node, *in[0], axes_of(node, in, 1));
  if (op == "Concat" && have(1)) return eval_concat(node, in);
  if (op == "Cast" && have(1)) {
    const DType to = dtype_from_onnx(static_cast<int32_t>(node.attr_int("to", 0)));
    if (to == DType::kUndefined || to == DType::kFloat16) return std::nullopt;
    return std::vector<Tensor>{cast_to(*in[0], to)};
  }
  if (op == "Reshape" && have(2)) return eval_reshape(node, *in[0], *in[1]);
  if (op == "Slice" && have(1)) return eval_slice(node, in, opset);
  if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && have(2))
    return eval_binary(node, *in[0], *in[1]);
  if (op == "Range" && have(3)) return eval_range(node, *in[0], *in[1], *in[2]);
  return std::nullopt;
}

}  // namespace partq::detail
