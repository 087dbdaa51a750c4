#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <opencv2/imgcodecs.hpp>

#include <fstream>

#include "temp_dir.hpp"

namespace partq {
namespace {

// Writes a solid-colour PNG (lossless) whose blue channel encodes `tag`, so a batch slot tells which image
// landed there.
std::string write_tagged(const testing::TempDir& dir, const std::string& name, int tag, int w = 40,
                         int h = 30) {
  const std::string path = dir.file(name);
  cv::imwrite(path, cv::Mat(h, w, CV_8UC3, cv::Scalar(tag, 50, 60)));
  return path;
}

// The blue value of image n of a YOLOX-profile batch (BGR kept, unscaled: channel 0 = blue), at (0, 0).
float blue_of(const Batch& b, size_t n) {
  return b.data[n * 3 * b.shape[2] * b.shape[3]];
}

BatchLoaderOptions yolox_options(int batch_size) {
  BatchLoaderOptions options;
  options.batch_size = batch_size;
  options.input_w = 64;
  options.input_h = 64;
  options.profile = PreprocessProfile::kYoloxTopLeft;
  return options;
}

TEST(BatchLoader, SkipsUnreadableAndMissingFilesWithAWarning) {
  testing::TempDir dir;
  ImageList list;
  list.entries.push_back({write_tagged(dir, "a.png", 10), 1});
  std::ofstream(dir.file("broken.jpg")) << "not an image";
  list.entries.push_back({dir.file("broken.jpg"), 2});
  list.entries.push_back({dir.file("missing.jpg"), 3});
  list.entries.push_back({write_tagged(dir, "b.png", 20), 4});
  list.entries.push_back({write_tagged(dir, "c.png", 30), 5});

  std::vector<std::string> warned;
  BatchLoaderOptions options = yolox_options(2);
  options.on_skip = [&](const std::string& path, const std::string&) { warned.push_back(path); };
  BatchLoader loader(list, options);

  Batch batch;
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.image_ids, (std::vector<int64_t>{1, 4}));  // the skipped images' places are filled
  EXPECT_EQ(batch.shape, (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_FLOAT_EQ(blue_of(batch, 0), 10.0f);
  EXPECT_FLOAT_EQ(blue_of(batch, 1), 20.0f);
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.image_ids, (std::vector<int64_t>{5}));
  EXPECT_EQ(batch.paths, (std::vector<std::string>{dir.file("c.png")}));
  EXPECT_EQ(batch.shape, (std::vector<int64_t>{2, 3, 64, 64}));  // padded to the batch size with zeros
  EXPECT_FLOAT_EQ(blue_of(batch, 0), 30.0f);
  EXPECT_FLOAT_EQ(blue_of(batch, 1), 0.0f);
  EXPECT_FALSE(loader.next(batch));

  EXPECT_EQ(warned, (std::vector<std::string>{dir.file("broken.jpg"), dir.file("missing.jpg")}));
  ASSERT_EQ(loader.skipped().size(), 2u);
  EXPECT_EQ(loader.skipped()[1].first, dir.file("missing.jpg"));
  EXPECT_NE(loader.skipped()[1].second.find("missing.jpg"), std::string::npos);
}

TEST(BatchLoader, KeepsListOrderAcrossWorkers) {
  testing::TempDir dir;
  ImageList list;
  for (int i = 0; i < 11; ++i) {
    // Different sizes so decode times differ between workers.
    list.entries.push_back(
        {write_tagged(dir, "img" + std::to_string(i) + ".png", 10 * i + 5, 20 + 37 * i, 30), i});
  }
  BatchLoaderOptions options = yolox_options(3);
  options.workers = 3;
  options.prefetch_batches = 1;
  options.pad_last_batch = false;
  BatchLoader loader(list, options);
  Batch batch;
  std::vector<int64_t> seen;
  std::vector<size_t> sizes;
  while (loader.next(batch)) {
    sizes.push_back(batch.size());
    EXPECT_EQ(batch.shape[0], static_cast<int64_t>(batch.size()));
    EXPECT_EQ(batch.data.size(), batch.size() * 3 * 64 * 64);
    for (size_t n = 0; n < batch.size(); ++n) {
      EXPECT_FLOAT_EQ(blue_of(batch, n), 10.0f * batch.image_ids[n] + 5);
      seen.push_back(batch.image_ids[n]);
    }
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 2}));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_TRUE(loader.skipped().empty());
}

TEST(BatchLoader, StopsEarlyWithoutHanging) {
  testing::TempDir dir;
  ImageList list;
  for (int i = 0; i < 8; ++i)
    list.entries.push_back({write_tagged(dir, std::to_string(i) + ".png", i), i});
  BatchLoader loader(list, yolox_options(1));
  Batch batch;
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.image_ids[0], 0);
  // The destructor stops the workers while they still have images to decode.
}

TEST(BatchLoader, EmptyListAndBadOptions) {
  BatchLoader loader(ImageList{}, yolox_options(4));
  Batch batch;
  EXPECT_FALSE(loader.next(batch));
  EXPECT_THROW(BatchLoader(ImageList{}, yolox_options(0)), Error);
}

}  // namespace
}  // namespace partq
