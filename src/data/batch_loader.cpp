// Prefetching batch loader. Workers claim images in list order and decode + preprocess them into a
// per-image slot; the consumer takes slots strictly in list order, so batches are deterministic no matter
// which worker finishes first. Workers never run more than `window_` images ahead of the consumer, which
// bounds memory to about (prefetch_batches + 1) batches.
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace partq {

BatchLoader::BatchLoader(ImageList list, BatchLoaderOptions options)
    : list_(std::move(list)), options_(std::move(options)) {
  if (options_.batch_size <= 0)
    fail("batch loader: batch size must be positive, got {}", options_.batch_size);
  if (options_.input_w <= 0 || options_.input_h <= 0)
    fail("batch loader: bad input size {}x{}", options_.input_w, options_.input_h);
  const int workers = std::max(1, options_.workers);
  window_ = static_cast<size_t>(options_.batch_size) * (std::max(0, options_.prefetch_batches) + 1);
  window_ = std::max(window_, static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i)
    workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  consumed_.notify_all();
  for (std::thread& t : workers_)
    t.join();
}

void BatchLoader::work() {
  const size_t plane = static_cast<size_t>(options_.input_w) * options_.input_h;
  for (;;) {
    size_t index;
    {
      std::unique_lock lock(mutex_);
      consumed_.wait(lock, [&] {
        return stop_ || next_claim_ >= list_.size() || next_claim_ < next_consume_ + window_;
      });
      if (stop_ || next_claim_ >= list_.size()) return;
      index = next_claim_++;
    }
    Decoded decoded;
    try {
      const cv::Mat img = read_image(list_.entries[index].path);
      decoded.chw.resize(3 * plane);
      decoded.letterbox = preprocess(img, options_.profile, options_.input_w, options_.input_h, decoded.chw);
      decoded.ok = true;
    } catch (const std::exception& e) {  // partq::Error, cv::Exception, bad_alloc: skip, never crash
      decoded.ok = false;
      decoded.chw.clear();
      decoded.error = e.what();
    }
    {
      std::lock_guard lock(mutex_);
      ready_.emplace(index, std::move(decoded));
    }
    produced_.notify_all();
  }
}

bool BatchLoader::next(Batch& batch) {
  const size_t plane = static_cast<size_t>(options_.input_w) * options_.input_h;
  const size_t image_floats = 3 * plane;
  batch.letterboxes.clear();
  batch.image_ids.clear();
  batch.paths.clear();
  batch.data.clear();
  batch.data.reserve(static_cast<size_t>(options_.batch_size) * image_floats);
  while (batch.size() < static_cast<size_t>(options_.batch_size)) {
    Decoded decoded;
    size_t index;
    {
      std::unique_lock lock(mutex_);
      if (next_consume_ >= list_.size()) break;
      index = next_consume_;
      produced_.wait(lock, [&] { return ready_.count(index) > 0; });
      auto it = ready_.find(index);
      decoded = std::move(it->second);
      ready_.erase(it);
      ++next_consume_;
    }
    consumed_.notify_all();
    const ImageEntry& entry = list_.entries[index];
    if (!decoded.ok) {
      skipped_.emplace_back(entry.path, decoded.error);
      if (options_.on_skip)
        options_.on_skip(entry.path, decoded.error);
      else
        fmt::print(stderr, "warning: skipping {}: {}\n", entry.path, decoded.error);
      continue;
    }
    batch.data.insert(batch.data.end(), decoded.chw.begin(), decoded.chw.end());
    batch.letterboxes.push_back(decoded.letterbox);
    batch.image_ids.push_back(entry.image_id);
    batch.paths.push_back(entry.path);
  }
  if (batch.size() == 0) {
    batch.shape.clear();
    return false;
  }
  const size_t n = options_.pad_last_batch ? static_cast<size_t>(options_.batch_size) : batch.size();
  batch.data.resize(n * image_floats, 0.0f);
  batch.shape = {static_cast<int64_t>(n), 3, options_.input_h, options_.input_w};
  return true;
}

}  // namespace partq
