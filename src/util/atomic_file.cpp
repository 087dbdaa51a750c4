#include "partq/util/atomic_file.hpp"

#include "partq/error.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace partq {

namespace {

// Removes the temporary file unless release() was called (after the successful rename).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  if (path.empty()) fail("cannot write a file with an empty path");
  const std::string tmp = path + ".tmp." + std::to_string(static_cast<long>(getpid()));
  TempFileGuard guard(tmp);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot create temporary file {}: {}", path, tmp, std::strerror(errno));
    writer(out);
    out.flush();
    if (!out) fail("{}: write failed: {}", path, std::strerror(errno));
    out.close();
    if (out.fail()) fail("{}: closing the temporary file failed: {}", path, std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    fail("{}: cannot rename {} into place: {}", path, tmp, std::strerror(errno));
  }
  guard.release();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path,
                    [bytes](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

namespace {

namespace fs = std::filesystem;

// Where files would be made for `path`: its parent, or "." for a bare name.
fs::path directory_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

void require_writable_directory(const std::string& path, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: cannot write here: {} is not a directory{}", path, dir.string(),
         fs::exists(dir, ec) ? "" : " (it does not exist)");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail("{}: cannot write here: directory {}: {}", path, dir.string(), std::strerror(errno));
}

}  // namespace

void check_writable_file(const std::string& path) {
  if (path.empty()) fail("an empty output path");
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{}: is a directory, not a file to write", path);
  require_writable_directory(path, directory_of(path));
}

void check_writable_directory(const std::string& path) {
  if (path.empty()) fail("an empty output directory");
  std::error_code ec;
  fs::path dir = fs::path(path).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) fail("{}: exists and is not a directory", path);
  while (!dir.empty() && !fs::exists(dir, ec))
    dir = dir.parent_path();
  require_writable_directory(path, dir.empty() ? fs::path(".") : dir);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) fail("{}: read failed", path);
  return std::move(content).str();
}

}  // namespace partq
