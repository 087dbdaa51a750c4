#include "partq/util/atomic_file.hpp"
#include "partq/error.hpp"
#include "partq/util/json_file.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

namespace partq {
namespace {

namespace fs = std::filesystem;

size_t count_entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WritesAndReplaces) {
  auto dir = make_test_dir();
  auto path = (dir / "out.txt").string();
  write_file_atomic(path, std::string_view("first"));
  write_file_atomic(path, std::string_view("second"));
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(count_entries(dir), 1u) << "no temporary file may be left";
  fs::remove_all(dir);
}

TEST(AtomicFile, ThrowingWriterLeavesNoFile) {
  auto dir = make_test_dir();
  auto path = (dir / "out.bin").string();
  EXPECT_THROW(write_file_atomic(path,
                                 [](std::ostream& out) {
                                   out << "half of the content";
                                   throw std::runtime_error("writer failed");
                                 }),
               std::runtime_error);
  EXPECT_EQ(count_entries(dir), 0u);
  fs::remove_all(dir);
}

TEST(AtomicFile, ThrowingWriterKeepsThePreviousFile) {
  auto dir = make_test_dir();
  auto path = (dir / "out.bin").string();
  write_file_atomic(path, std::string_view("old"));
  EXPECT_THROW(write_file_atomic(path, [](std::ostream&) { fail("boom"); }), Error);
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(count_entries(dir), 1u);
  fs::remove_all(dir);
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  try {
    write_file_atomic("/nonexistent-partq-dir/out.json", std::string_view("x"));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-partq-dir/out.json"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, RenameOntoADirectoryFailsAndCleansUp) {
  auto dir = make_test_dir();
  fs::create_directories(dir / "target" / "child");  // a non-empty directory cannot be replaced by a file
  auto path = (dir / "target").string();
  EXPECT_THROW(write_file_atomic(path, std::string_view("x")), Error);
  EXPECT_EQ(count_entries(dir), 1u) << "only the directory itself remains";
  fs::remove_all(dir);
}

TEST(JsonFile, WritesPrettyJsonAndReadsItBack) {
  auto dir = make_test_dir();
  auto path = (dir / "r.json").string();
  nlohmann::json value = {{"median_ms", 12.5}, {"batch", 8}};
  write_json_file(path, value);
  EXPECT_EQ(read_file(path), "{\n  \"batch\": 8,\n  \"median_ms\": 12.5\n}\n");
  EXPECT_EQ(read_json_file(path), value);
  write_file_atomic(path, std::string_view("{not json"));
  EXPECT_THROW(read_json_file(path), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace partq
