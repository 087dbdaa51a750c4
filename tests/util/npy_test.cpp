#include "partq/util/npy.hpp"
#include "partq/error.hpp"
#include "partq/util/atomic_file.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

namespace partq {
namespace {

using namespace std::string_literals;

// A .npy 1.0 file byte by byte as numpy writes it for np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4'):
// a 59-character dict padded with spaces and '\n' to a header of 118 (0x76) bytes, so the data starts at 128.
std::string numpy_f4_2x3() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  dict += std::string(58, ' ') + "\n";
  std::string file = "\x93NUMPY\x01\x00\x76\x00"s + dict;
  // 1..6 as little-endian IEEE-754 float32, written out by hand.
  const unsigned char data[] = {0, 0, 0x80, 0x3f, 0, 0, 0,    0x40, 0, 0, 0x40, 0x40,
                                0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40, 0, 0, 0xc0, 0x40};
  file.append(reinterpret_cast<const char*>(data), sizeof data);
  return file;
}

std::string header_only(const std::string& dict, int major = 1) {
  std::string h = dict + "\n";
  std::string file = "\x93NUMPY"s;
  file.push_back(static_cast<char>(major));
  file.push_back('\0');
  size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i)
    file.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
  return file + h;
}

std::string error_of(const std::string& bytes) {
  try {
    parse_npy(bytes, "x.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Npy, ParsesHandWrittenNumpyFile) {
  Tensor t = parse_npy(numpy_f4_2x3(), "hand.npy");
  EXPECT_EQ(t.dtype, DType::kFloat32);
  EXPECT_EQ(t.shape, (Shape{2, 3}));
  auto v = t.as<float>();
  ASSERT_EQ(v.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(v[i], float(i + 1));
}

TEST(Npy, SerializeMatchesNumpyBytes) {
  Tensor t;
  t.dtype = DType::kFloat32;
  t.shape = {2, 3};
  t.bytes.resize(24);
  float values[] = {1, 2, 3, 4, 5, 6};
  std::memcpy(t.bytes.data(), values, sizeof values);
  EXPECT_EQ(serialize_npy(t), numpy_f4_2x3());
}

TEST(Npy, ParsesVersion2And3HeadersAndOneDimShapes) {
  // uint8 data, shape (3,), header with a 4-byte length (2.0) and utf-8 (3.0).
  for (int major : {2, 3}) {
    std::string file =
        header_only("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", major) + "\x07\x08\x09";
    Tensor t = parse_npy(file, "v.npy");
    EXPECT_EQ(t.dtype, DType::kUInt8);
    EXPECT_EQ(t.shape, (Shape{3}));
    EXPECT_EQ(t.as<uint8_t>()[2], 9);
  }
}

TEST(Npy, ParsesScalarAndKeyOrder) {
  std::string file =
      header_only("{'shape': (), 'fortran_order': False, 'descr': '<i8'}") + "\x2a\0\0\0\0\0\0\0"s;
  Tensor t = parse_npy(file, "s.npy");
  EXPECT_EQ(t.dtype, DType::kInt64);
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(t.as<int64_t>()[0], 42);
}

TEST(Npy, RoundTripsEveryDtypeThroughAFile) {
  auto dir = make_test_dir();
  struct Case {
    DType dtype;
    size_t item;
  };
  for (Case c :
       {Case{DType::kFloat32, 4}, Case{DType::kFloat64, 8}, Case{DType::kInt64, 8}, Case{DType::kInt32, 4},
        Case{DType::kInt8, 1}, Case{DType::kUInt8, 1}, Case{DType::kBool, 1}}) {
    Tensor t;
    t.dtype = c.dtype;
    t.shape = {2, 1, 3};
    t.bytes.resize(6 * c.item);
    for (size_t i = 0; i < t.bytes.size(); ++i)
      t.bytes[i] = std::byte(c.dtype == DType::kBool ? i % 2 : i * 7);
    auto path = (dir / "t.npy").string();
    write_npy(path, t);
    std::string bytes = read_file(path);
    EXPECT_EQ((bytes.size() - t.bytes.size()) % 64, 0u) << "data must start 64-byte aligned";
    Tensor back = read_npy(path);
    EXPECT_EQ(back.dtype, t.dtype);
    EXPECT_EQ(back.shape, t.shape);
    EXPECT_EQ(back.bytes, t.bytes);
  }
  std::filesystem::remove_all(dir);
}

TEST(Npy, RejectsFortranOrder) {
  auto msg = error_of(header_only("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }") + "abcd");
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fortran_order"), std::string::npos) << msg;
}

TEST(Npy, RejectsBigEndian) {
  auto msg = error_of(header_only("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }") + "abcd");
  EXPECT_NE(msg.find("big-endian"), std::string::npos) << msg;
}

TEST(Npy, RejectsUnsupportedDtype) {
  auto msg = error_of(header_only("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }") + "abcdefgh");
  EXPECT_NE(msg.find("unsupported dtype '<c8'"), std::string::npos) << msg;
}

TEST(Npy, RejectsTruncatedDataAndHeader) {
  std::string full = numpy_f4_2x3();
  auto msg = error_of(full.substr(0, full.size() - 1));
  EXPECT_NE(msg.find("truncated .npy data"), std::string::npos) << msg;
  msg = error_of(full.substr(0, 40));
  EXPECT_NE(msg.find("truncated .npy header"), std::string::npos) << msg;
  msg = error_of("\x93NUMPY\x01"s);
  EXPECT_NE(msg.find("not a .npy file"), std::string::npos) << msg;
}

TEST(Npy, RejectsBadMagicAndMalformedHeader) {
  EXPECT_NE(error_of("PK\x03\x04 this is a zip file").find("not a .npy file"), std::string::npos);
  auto msg = error_of(header_only("{'descr': '<f4', 'shape': (1,), }") + "abcd");
  EXPECT_NE(msg.find("malformed .npy header"), std::string::npos) << msg;
}

TEST(Npy, RejectsShapesWhoseSizeOverflows) {
  auto msg = error_of(
      header_only("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"));
  EXPECT_NE(msg.find("too large"), std::string::npos) << msg;
}

TEST(Npy, WriteRejectsBytesThatDoNotMatchTheShape) {
  Tensor t;
  t.dtype = DType::kFloat32;
  t.shape = {2, 2};
  t.bytes.resize(12);
  try {
    write_npy("/tmp/never-written.npy", t);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp/never-written.npy"), std::string::npos) << e.what();
  }
}

TEST(Npy, MissingFileNamesThePath) {
  try {
    read_npy("/nonexistent/dir/a.npy");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/a.npy"), std::string::npos);
  }
}

}  // namespace
}  // namespace partq
