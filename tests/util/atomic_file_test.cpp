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

TEST(AtomicFile, WritableChecksAcceptWhatCanBeWrittenAndNameWhatCannot) {
  auto dir = make_test_dir();
  write_file_atomic((dir / "a-file").string(), std::string_view("x"));
  EXPECT_NO_THROW(check_writable_file((dir / "new.json").string()));
  EXPECT_NO_THROW(check_writable_file((dir / "a-file").string())) << "an existing file is replaced";
  EXPECT_NO_THROW(check_writable_directory(dir.string()));
  EXPECT_NO_THROW(check_writable_directory((dir / "x" / "y").string())) << "made by create_directories";
  auto error_of = [](auto check, const fs::path& path) -> std::string {
    try {
      check(path.string());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const fs::path under_missing = dir / "missing" / "out.json", under_file = dir / "a-file" / "out";
  EXPECT_NE(error_of(check_writable_file, under_missing).find("does not exist"), std::string::npos);
  EXPECT_NE(error_of(check_writable_file, dir).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of(check_writable_directory, under_file).find(under_file.string()), std::string::npos);
  EXPECT_NE(error_of(check_writable_directory, dir / "a-file").find("not a directory"), std::string::npos);
  EXPECT_EQ(count_entries(dir), 1u) << "checking makes nothing";
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
