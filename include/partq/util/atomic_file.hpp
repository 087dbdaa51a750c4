// Writing output files so that a failed or interrupted run never leaves a half-written file behind:
// the bytes go to `<path>.tmp.<pid>` in the same directory (so the final rename stays on one file system,
// where POSIX rename is atomic), which is flushed, closed and renamed over `path`.
// On any failure the temporary file is removed and partq::Error names `path`.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace partq {

void write_file_atomic(const std::string& path, std::string_view bytes);

// `writer` streams the content; if it throws, the temporary file is removed and the exception propagates
// unchanged (a partq::Error stays a partq::Error); a stream failure becomes a partq::Error naming `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// The whole file as bytes; partq::Error naming `path` if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace partq
