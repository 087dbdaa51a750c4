// partq's image input path: decode (OpenCV), preprocess with the profile a model family was trained with
// (letterbox), and batch with prefetching so the engine never waits on JPEG decoding.
//
//   ImageList list = ImageList::from_directory("photos/");
//   BatchLoader loader(list, {.batch_size = 8, .input_w = 640, .input_h = 640,
//                             .profile = PreprocessProfile::kYolov5Letterbox});
//   Batch batch;
//   while (loader.next(batch)) { /* batch.data is NCHW f32, batch.letterboxes map boxes back */ }
#pragma once

#include <partq/coco.hpp>

#include <opencv2/core.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace partq {

// How an image becomes the model input. Each reproduces the upstream code bit for bit (same OpenCV calls).
enum class PreprocessProfile {
  // Ultralytics utils/augmentations.py letterbox(auto=False, scaleup=True): aspect-preserving resize
  // (INTER_LINEAR), centred padding with 114, BGR->RGB, CHW, values /255.
  kYolov5Letterbox,
  // YOLOX data_augment.py preproc: resize to (int(w*r), int(h*r)) (INTER_LINEAR), pasted at the top-left of a
  // 114 canvas, BGR kept, CHW, values 0..255.
  kYoloxTopLeft,
  // DAMO-YOLO tools/demo.py: the same resize and top-left paste on a 0 canvas, RGB, CHW, values 0..255.
  kDamoyoloTopLeft,
  // Ultralytics RT-DETR (RTDETRDataset.load_image, LetterBox(scale_fill=True)): stretched to the input size,
  // aspect ratio not kept (cv2.resize to (w, h), INTER_LINEAR), BGR->RGB, CHW, values /255.
  kUltralyticsStretch,
  // PaddleDetection PP-YOLOE eval reader: Resize(keep_ratio=False, interp=2), i.e. cv2.resize with fx = w/w0,
  // fy = h/h0 and INTER_CUBIC, then RGB, CHW, values /255 (NormalizeImage with mean 0, std 1).
  kPpyoloeStretch,
};

const char* profile_name(PreprocessProfile profile);
// The profile called `name` (profile_name's spelling). Throws Error listing the names for an unknown one.
PreprocessProfile profile_by_name(const std::string& name);
std::vector<std::string> profile_names();

// How an original image was placed into the model input: input = original * scale + pad.
// Boxes map back with original = (input - pad) / scale.
struct Letterbox {
  float scale = 1;
  float pad_x = 0;  // the letterbox's un-rounded dw (Ultralytics' ratio_pad); 0 for the top-left paste
  float pad_y = 0;
  int orig_w = 0;
  int orig_h = 0;
  float scale_y = 0;  // the vertical scale of a stretch (aspect ratio not kept); 0 = `scale`

  float vertical_scale() const { return scale_y > 0 ? scale_y : scale; }
};

// Resizes and pads a BGR 8-bit image to input_w x input_h as `profile` does; the result is still 8-bit BGR
// HWC (useful to look at). Throws Error for an empty image or a non-positive size.
cv::Mat letterbox_image(const cv::Mat& bgr, PreprocessProfile profile, int input_w, int input_h,
                        Letterbox* info);

// Writes the model input of one image (3 x input_h x input_w floats, CHW) into `out_chw`, channel order and
// value range per profile. `out_chw.size()` must be 3*input_w*input_h (Error otherwise).
Letterbox preprocess(const cv::Mat& bgr, PreprocessProfile profile, int input_w, int input_h,
                     std::span<float> out_chw);

// Reads an image as cv2.imread(path) does (BGR, 8-bit, EXIF orientation applied). Throws Error naming the
// file when it is missing or cannot be decoded.
cv::Mat read_image(const std::string& path);

// The images to run, in a fixed order.
struct ImageEntry {
  std::string path;
  int64_t image_id = 0;
};

struct ImageList {
  std::vector<ImageEntry> entries;

  // Every image file (jpg, jpeg, png, bmp, webp, tif, tiff; any case) in `dir`, not recursive, sorted by
  // file name. image_id is the numeric file stem when the stem is all digits (COCO: 000000000139.jpg ->
  // 139), else the position in the sorted list -- the same rule as load_yolo_labels() (coco_io.hpp). For a
  // labelled dataset prefer from_coco(load_yolo_labels(...)), which uses that dataset's ids by construction.
  // `limit` > 0 keeps the first `limit`. Error if `dir` is not a directory.
  static ImageList from_directory(const std::string& dir, size_t limit = 0);
  // The dataset's images in dataset order, each at images_dir/file_name with the dataset's image id (files
  // are not checked here: see existing(); the loader skips a missing one with a warning).
  static ImageList from_coco(const CocoDataset& dataset, const std::string& images_dir, size_t limit = 0);

  // A seeded Fisher-Yates shuffle of the entries, then the first `n` (all when fewer). mt19937_64's output
  // sequence is fixed by the standard, and the index is drawn with a plain modulo rather than
  // std::uniform_int_distribution (whose algorithm differs between standard libraries), so a seed names the
  // same sample everywhere.
  ImageList sample(size_t n, uint64_t seed) const;
  // The entries whose file exists: annotations often list more images than a directory copied out of the
  // dataset holds, and those are left out rather than read and skipped one by one.
  ImageList existing() const;
  size_t size() const { return entries.size(); }
};

// One batch of preprocessed images. Per-image vectors hold only the real images (size()); the tensor
// may be padded with zero images up to the loader's batch size (BatchLoaderOptions::pad_last_batch).
struct Batch {
  std::vector<int64_t> shape;  // NCHW: {N, 3, input_h, input_w}
  std::vector<float> data;     // dense, row-major
  std::vector<Letterbox> letterboxes;
  std::vector<int64_t> image_ids;
  std::vector<std::string> paths;

  size_t size() const { return image_ids.size(); }
};

// Called (on the consumer's thread, in image order) for each image that could not be read.
using SkipFn = std::function<void(const std::string& path, const std::string& reason)>;

struct BatchLoaderOptions {
  int batch_size = 1;
  int input_w = 640;
  int input_h = 640;
  PreprocessProfile profile = PreprocessProfile::kYolov5Letterbox;
  int workers = 2;             // decode + preprocess threads
  int prefetch_batches = 2;    // how many batches the workers may run ahead of the consumer
  bool pad_last_batch = true;  // a short last batch keeps N = batch_size (engines are specialised to it)
  SkipFn on_skip;              // empty: print "warning: skipping <path>: <reason>" to stderr
};

// Decodes and preprocesses the images of an ImageList on worker threads, ahead of the consumer, and hands
// them out in list order, batch_size images at a time. An image that cannot be read is skipped (reported
// through on_skip and skipped()), never fatal; the following images fill its place in the batch.
// Not copyable; the destructor stops and joins the workers. The list is copied.
class BatchLoader {
 public:
  BatchLoader(ImageList list, BatchLoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Fills `batch` with the next batch; false when every image has been handed out.
  bool next(Batch& batch);

  // Paths skipped so far (in list order) with the reason.
  const std::vector<std::pair<std::string, std::string>>& skipped() const { return skipped_; }
  size_t total_images() const { return list_.size(); }

 private:
  struct Decoded {
    bool ok = false;
    std::string error;
    std::vector<float> chw;
    Letterbox letterbox;
  };
  void work();

  ImageList list_;
  BatchLoaderOptions options_;
  size_t window_ = 0;  // images the workers may decode ahead of the consumer
  std::mutex mutex_;
  std::condition_variable produced_;
  std::condition_variable consumed_;
  size_t next_claim_ = 0;    // next image a worker will take
  size_t next_consume_ = 0;  // next image the consumer wants
  std::map<size_t, Decoded> ready_;
  bool stop_ = false;
  std::vector<std::pair<std::string, std::string>> skipped_;
  std::vector<std::thread> workers_;
};

}  // namespace partq
