// partq reports every user-facing failure (bad file, unsupported op, wrong shape, bad flag value) as a
// partq::Error carrying one complete, human-readable line that names the file / node / op involved.
// The library never calls exit(); only cli/ turns an Error into a message and a non-zero exit code.
// Broken internal invariants (bugs) use assert instead.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace partq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws partq::Error with a fmt-formatted message: fail("{}: node '{}' has no input", path, name).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace partq
