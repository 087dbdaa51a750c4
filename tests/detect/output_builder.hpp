// Builds small synthetic detector outputs row by row.
#pragma once

#include <cstdint>
#include <vector>

namespace partq::testing {

// [1, rows, 5 + classes] (YOLOv5 / YOLOX layout); unset values are 0.
struct RowsOutput {
  int classes = 80;
  std::vector<std::vector<float>> rows;

  // Sets prediction `row` (growing the output as needed): box values, objectness and some class scores.
  void set(size_t row, std::vector<float> box_obj, std::vector<std::pair<int, float>> class_scores) {
    if (rows.size() <= row) rows.resize(row + 1, std::vector<float>(5 + classes, 0.0f));
    for (size_t k = 0; k < box_obj.size(); ++k)
      rows[row][k] = box_obj[k];
    for (auto [c, p] : class_scores)
      rows[row][5 + c] = p;
  }
  void resize(size_t n) { rows.resize(n, std::vector<float>(5 + classes, 0.0f)); }
  std::vector<float> data() const {
    std::vector<float> out;
    for (const auto& r : rows)
      out.insert(out.end(), r.begin(), r.end());
    return out;
  }
  std::vector<int64_t> shape() const { return {1, static_cast<int64_t>(rows.size()), 5 + classes}; }
};

}  // namespace partq::testing
