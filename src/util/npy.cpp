// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   "\x93NUMPY" major minor | header length (uint16 LE for 1.x, uint32 LE for 2.x/3.x) | header | data
// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
// padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
//
// Only the header-inline part of partq::Tensor is used here, so partq_util does not link partq_ir (which
// may itself use partq_util to write files).
#include "partq/util/npy.hpp"

#include "partq/error.hpp"
#include "partq/util/atomic_file.hpp"

#include <fmt/ranges.h>

#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <optional>

namespace partq {

namespace {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

constexpr std::string_view kMagic = "\x93NUMPY";

struct NpyType {
  DType dtype;
  std::string_view code;  // type character + item size, as in the descr after the byte-order mark
  size_t item_size;
};

constexpr std::array<NpyType, 8> kTypes{{
    {DType::kFloat32, "f4", 4},
    {DType::kFloat64, "f8", 8},
    {DType::kFloat16, "f2", 2},
    {DType::kInt64, "i8", 8},
    {DType::kInt32, "i4", 4},
    {DType::kInt8, "i1", 1},
    {DType::kUInt8, "u1", 1},
    {DType::kBool, "b1", 1},
}};

const NpyType* find_type(DType dtype) {
  for (const auto& t : kTypes)
    if (t.dtype == dtype) return &t;
  return nullptr;
}

// The three header fields, parsed from the dict literal by a tiny tokenizer (strings, True/False, tuples
// of integers), which is all numpy ever writes there.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        header.descr = parse_string();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        seen_shape = true;
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    if (!seen_descr || !seen_order || !seen_shape) bad("missing 'descr', 'fortran_order' or 'shape'");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: malformed .npy header ({} at offset {}): {}", name_, what, pos_, text_);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool parse_bool() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  Shape parse_shape() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      int64_t dim = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (dim > (int64_t{1} << 48)) bad("dimension too large");
        dim = dim * 10 + (text_[pos_++] - '0');
      }
      // numpy writes Python longs as e.g. "3L" in files made by Python 2.
      if (peek() == 'L') ++pos_;
      shape.push_back(dim);
      skip_space();
      if (peek() == ',') ++pos_;
    }
    ++pos_;
    return shape;
  }

  std::string_view text_;
  const std::string& name_;
  size_t pos_ = 0;
};

uint32_t read_le(std::string_view bytes, size_t offset, size_t size) {
  uint32_t v = 0;
  for (size_t i = 0; i < size; ++i)
    v |= uint32_t(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  return v;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) fail("{}: not a .npy file (bad magic)", name);
  int major = static_cast<unsigned char>(bytes[6]);
  int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3) fail("{}: unsupported .npy format version {}.{}", name, major, minor);
  size_t len_size = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_size) fail("{}: truncated .npy header", name);
  size_t header_len = read_le(bytes, 8, len_size);
  size_t data_offset = 8 + len_size + header_len;
  if (bytes.size() < data_offset) fail("{}: truncated .npy header ({} bytes announced)", name, header_len);

  NpyHeader header = HeaderParser(bytes.substr(8 + len_size, header_len), name).parse();
  if (header.fortran_order)
    fail("{}: fortran_order=True arrays are not supported; save a C-order array", name);
  const std::string& descr = header.descr;
  if (descr.size() < 2) fail("{}: unsupported dtype '{}'", name, descr);
  char order = descr[0];
  if (order == '>') fail("{}: big-endian dtype '{}' is not supported", name, descr);
  if (order != '<' && order != '|' && order != '=') fail("{}: unsupported dtype '{}'", name, descr);
  std::string_view code = std::string_view(descr).substr(1);
  const NpyType* type = nullptr;
  for (const auto& t : kTypes)
    if (t.code == code) type = &t;
  if (type == nullptr) fail("{}: unsupported dtype '{}' (supported: f4 f8 f2 i8 i4 i1 u1 b1)", name, descr);

  size_t numel = 1;
  for (int64_t d : header.shape) {
    if (d != 0 && numel > (size_t{1} << 48) / static_cast<size_t>(d)) {
      fail("{}: .npy shape ({}) is too large", name, fmt::join(header.shape, ", "));
    }
    numel *= static_cast<size_t>(d);
  }
  size_t data_size = numel * type->item_size;
  size_t available = bytes.size() - data_offset;
  if (available < data_size) {
    fail("{}: truncated .npy data: shape {} of {} needs {} bytes, the file has {}", name,
         fmt::join(header.shape, "x"), descr, data_size, available);
  }
  if (available > data_size) {
    fail("{}: .npy file has {} bytes after the data of shape {} (corrupt?)", name, available - data_size,
         fmt::join(header.shape, "x"));
  }

  Tensor tensor;
  tensor.dtype = type->dtype;
  tensor.shape = header.shape;
  tensor.bytes.resize(data_size);
  if (data_size > 0) std::memcpy(tensor.bytes.data(), bytes.data() + data_offset, data_size);
  return tensor;
}

std::string serialize_npy(const Tensor& tensor) {
  const NpyType* type = find_type(tensor.dtype);
  if (type == nullptr)
    fail("cannot write a .npy of this dtype (DType enum value {})", static_cast<int>(tensor.dtype));
  size_t numel = 1;
  for (int64_t d : tensor.shape) {
    if (d < 0) fail("cannot write a .npy with unknown dimension in shape");
    numel *= static_cast<size_t>(d);
  }
  if (numel * type->item_size != tensor.bytes.size()) {
    fail("cannot write a .npy: tensor holds {} bytes, its shape needs {}", tensor.bytes.size(),
         numel * type->item_size);
  }
  std::string shape;
  for (int64_t d : tensor.shape)
    shape += fmt::format("{}, ", d);
  if (tensor.shape.size() > 1) shape.resize(shape.size() - 2);  // (3,) keeps its comma, (2, 3) does not
  if (tensor.shape.size() == 1) shape.resize(shape.size() - 1);
  char order = type->item_size == 1 ? '|' : '<';
  std::string dict =
      fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': ({}), }}", order, type->code, shape);
  // Version 1.0 holds a header of up to 65535 bytes; longer ones (huge ranks) need 2.0.
  auto padded_total = [&](size_t prefix) { return (prefix + dict.size() + 1 + 63) / 64 * 64; };
  int major = padded_total(10) - 10 <= 65535 ? 1 : 2;
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = padded_total(prefix);
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string out(kMagic);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(static_cast<char>((dict.size() >> (8 * i)) & 0xff));
  out += dict;
  out.append(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
  return out;
}

Tensor read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

void write_npy(const std::string& path, const Tensor& tensor) {
  std::string bytes;
  try {
    bytes = serialize_npy(tensor);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  write_file_atomic(path, bytes);
}

}  // namespace partq
