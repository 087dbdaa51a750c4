// A fresh, empty directory per test under the build tree, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace partq {

inline std::filesystem::path make_test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::path(PARTQ_BINARY_DIR) / "test-tmp" /
             (std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace partq
