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

// Error naming `path` unless a file can be written there now: its directory exists and this process may
// create files in it, and `path` is not a directory. Long jobs check their outputs with it before the work,
// so a mistyped destination fails at once instead of after minutes of calibration or sweeping.
void check_writable_file(const std::string& path);
// The same for an output directory: either it is a writable directory, or the nearest existing directory
// above it is writable (so it can be made).
void check_writable_directory(const std::string& path);

// The whole file as bytes; partq::Error naming `path` if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace partq
