// COCO / YOLO readers and the results writer, on the real val2017 subset and on small hand-written files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "partq/coco_eval.hpp"
#include "partq/coco_io.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;
const std::string kCocoDir = std::string(PARTQ_SHARED_DIR) + "/data/coco";
const std::string kValJson = kCocoDir + "/annotations/instances_val2017_subset.json";

// A fresh scratch folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ =
        fs::temp_directory_path() /
        fmt::format("partq_cocoeval_{}_{}", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                    static_cast<long>(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name, const std::string& text = "") const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no partq::Error thrown)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Coco80, MatchesTheOfficialCategoryList) {
  const CocoDataset gt = load_coco_annotations(kValJson);
  ASSERT_EQ(gt.categories.size(), 80u);
  for (size_t k = 0; k < 80; ++k) {
    EXPECT_EQ(coco80_category_ids()[k], gt.categories[k].id) << k;
    EXPECT_EQ(std::string(coco80_names()[k]), gt.categories[k].name) << k;
  }
}

TEST(CocoAnnotations, LoadsTheVal2017Subset) {
  const CocoDataset gt = load_coco_annotations(kValJson);
  EXPECT_EQ(gt.images.size(), 206u);
  EXPECT_EQ(gt.annotations.size(), 1786u);
  size_t crowd = 0;
  for (const CocoAnnotation& a : gt.annotations)
    crowd += a.iscrowd;
  EXPECT_EQ(crowd, 21u);
  // First image and first annotation as stored in the file.
  EXPECT_EQ(gt.images[0].id, 139);
  EXPECT_EQ(gt.images[0].file_name, "000000000139.jpg");
  EXPECT_EQ(gt.images[0].width, 640);
  EXPECT_EQ(gt.images[0].height, 426);
  const CocoAnnotation& a = gt.annotations[0];
  EXPECT_EQ(a.id, 26547);
  EXPECT_EQ(a.image_id, 139);
  EXPECT_EQ(a.category_id, 64);
  EXPECT_EQ(a.bbox, (std::array<double, 4>{236.98, 142.51, 24.7, 69.5}));
  EXPECT_EQ(a.area, 531.8071000000001);
  EXPECT_FALSE(a.iscrowd);
}

TEST(CocoAnnotations, BadFilesGiveOneLineErrorsNamingTheFile) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope.json").string();
  EXPECT_TRUE(contains(error_of([&] { load_coco_annotations(missing); }), missing));

  const std::string broken = dir.file("broken.json", "{\"images\": [");
  const std::string e1 = error_of([&] { load_coco_annotations(broken); });
  EXPECT_TRUE(contains(e1, broken) && contains(e1, "not valid JSON")) << e1;

  const std::string no_annotations = dir.file("no_ann.json", R"({"images": [], "categories": []})");
  const std::string e2 = error_of([&] { load_coco_annotations(no_annotations); });
  EXPECT_TRUE(contains(e2, no_annotations) && contains(e2, "\"annotations\"")) << e2;

  const std::string bad_box =
      dir.file("bad_box.json",
               R"({"images": [{"id": 1, "width": 5, "height": 5}], "categories": [{"id": 1}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]})");
  const std::string e3 = error_of([&] { load_coco_annotations(bad_box); });
  EXPECT_TRUE(contains(e3, "annotations[0].bbox")) << e3;
}

TEST(CocoDetections, SaveThenLoadRoundTripsExactly) {
  TempDir dir;
  const std::vector<Detection> dts = {{139, 1, {0.1f, 2.5f, 1e-7f, 639.999f}, 0.123456789f},
                                      {285, 90, {100.f, 200.f, 3.f, 4.f}, 1.f}};
  const std::string path = (dir.path() / "dets.json").string();
  save_coco_detections(path, dts);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const std::vector<Detection> back = load_coco_detections(path);
  ASSERT_EQ(back.size(), dts.size());
  for (size_t i = 0; i < dts.size(); ++i) {
    EXPECT_EQ(back[i].image_id, dts[i].image_id);
    EXPECT_EQ(back[i].category_id, dts[i].category_id);
    EXPECT_EQ(back[i].bbox, dts[i].bbox);
    EXPECT_EQ(back[i].score, dts[i].score);
  }
  // Empty list is a valid results file.
  save_coco_detections(path, {});
  EXPECT_TRUE(load_coco_detections(path).empty());
}

TEST(CocoDetections, ReloadedGoldenFileEvaluatesTheSame) {
  // Writing detections and reading them back must not move any stat (the writer's shortest float text
  // reads back to the same numbers the evaluator used).
  TempDir dir;
  const CocoDataset gt = load_coco_annotations(kValJson);
  const std::vector<Detection> dts = load_coco_detections(kCocoDir + "/reference/detections_a.json");
  const std::string path = (dir.path() / "again.json").string();
  save_coco_detections(path, dts);
  EXPECT_EQ(evaluate_coco(gt, load_coco_detections(path)).stats, evaluate_coco(gt, dts).stats);
}

TEST(CocoDetections, BadResultsFilesAreErrors) {
  TempDir dir;
  const std::string not_list = dir.file("obj.json", R"({"image_id": 1})");
  EXPECT_TRUE(contains(error_of([&] { load_coco_detections(not_list); }), "JSON list"));
  const std::string no_score =
      dir.file("no_score.json", R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}])");
  const std::string e = error_of([&] { load_coco_detections(no_score); });
  EXPECT_TRUE(contains(e, no_score) && contains(e, "\"score\"")) << e;
  const std::string broken = dir.file("broken.json", "[{");
  EXPECT_TRUE(contains(error_of([&] { load_coco_detections(broken); }), "not valid JSON"));
  EXPECT_TRUE(contains(error_of([&] {
                         save_coco_detections(dir.file("nan.json"), {{1, 1, {NAN, 0, 1, 1}, 1}});
                       }),
                       "non-finite"));
}

TEST(YoloLabels, Val2017LabelsMatchTheCocoAnnotations) {
  const CocoDataset coco = load_coco_annotations(kValJson);
  const CocoDataset yolo = load_yolo_labels(kCocoDir + "/images/val2017", kCocoDir + "/labels/val2017");
  ASSERT_EQ(yolo.images.size(), 206u);
  EXPECT_EQ(yolo.annotations.size(), 1765u);  // the 1786 minus the 21 crowd boxes
  EXPECT_EQ(yolo.categories.size(), 80u);

  std::map<int64_t, CocoImage> coco_images;
  for (const CocoImage& image : coco.images)
    coco_images[image.id] = image;
  for (const CocoImage& image : yolo.images) {
    ASSERT_TRUE(coco_images.count(image.id)) << image.file_name;
    EXPECT_EQ(image.width, coco_images[image.id].width) << image.file_name;  // header probe == JSON size
    EXPECT_EQ(image.height, coco_images[image.id].height) << image.file_name;
    EXPECT_EQ(image.file_name, coco_images[image.id].file_name);
  }
  // Every YOLO box is one of its image's non-crowd COCO boxes of the same category, up to the 6-decimal
  // normalisation (< 0.01 px on a 640 px image).
  for (const CocoAnnotation& y : yolo.annotations) {
    bool found = false;
    for (const CocoAnnotation& c : coco.annotations) {
      if (c.image_id != y.image_id || c.category_id != y.category_id || c.iscrowd) continue;
      bool close = true;
      for (size_t k = 0; k < 4; ++k)
        close = close && std::abs(c.bbox[k] - y.bbox[k]) < 0.01;
      found = found || close;
    }
    EXPECT_TRUE(found) << "image " << y.image_id << " category " << y.category_id;
    EXPECT_NEAR(y.area, y.bbox[2] * y.bbox[3], 1e-9);
  }
}

// A minimal valid 24-bit BMP of the given size (bottom-up rows padded to 4 bytes).
std::string bmp_file(int width, int height) {
  const int row = (width * 3 + 3) / 4 * 4;
  const int size = 54 + row * height;
  std::string b(static_cast<size_t>(size), '\0');
  const auto put = [&](int at, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      b[static_cast<size_t>(at + i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  b[0] = 'B';
  b[1] = 'M';
  put(2, static_cast<uint32_t>(size), 4);
  put(10, 54, 4);
  put(14, 40, 4);
  put(18, static_cast<uint32_t>(width), 4);
  put(22, static_cast<uint32_t>(height), 4);
  put(26, 1, 2);
  put(28, 24, 2);
  return b;
}

// PNG signature + IHDR chunk: enough for the header probe (which never decodes pixels).
std::string png_header(uint32_t width, uint32_t height) {
  std::string p = "\x89PNG\r\n\x1a\n";
  p += std::string("\0\0\0\x0d", 4) + "IHDR";
  for (uint32_t v : {width, height}) {
    for (int i = 3; i >= 0; --i)
      p += static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  p += std::string("\x08\x02\0\0\0", 5) + std::string(4, '\0');
  return p;
}

TEST(YoloLabels, SmallFolderWithNamedImages) {
  TempDir images, labels;
  images.file("b_cat.bmp", bmp_file(200, 100));
  images.file("a_dog.png", png_header(64, 32));
  images.file("notes.txt", "not an image");
  // a_dog: class 0 (person) centred box half the image; b_cat: class 79 (toothbrush, id 90); blank line ok.
  labels.file("a_dog.txt", "0 0.5 0.5 0.5 0.5\n");
  labels.file("b_cat.txt", "\n79 0.25 0.5 0.1 0.2\n");
  const CocoDataset d = load_yolo_labels(images.path().string(), labels.path().string());
  ASSERT_EQ(d.images.size(), 2u);
  // Non-numeric stems: ids are positions in file-name order.
  EXPECT_EQ(d.images[0].file_name, "a_dog.png");
  EXPECT_EQ(d.images[0].id, 1);
  EXPECT_EQ(d.images[0].width, 64);
  EXPECT_EQ(d.images[0].height, 32);
  EXPECT_EQ(d.images[1].id, 2);
  EXPECT_EQ(d.images[1].width, 200);
  EXPECT_EQ(d.images[1].height, 100);
  ASSERT_EQ(d.annotations.size(), 2u);
  EXPECT_EQ(d.annotations[0].category_id, 1);
  EXPECT_EQ(d.annotations[0].bbox, (std::array<double, 4>{16, 8, 32, 16}));
  EXPECT_EQ(d.annotations[0].area, 512);
  EXPECT_EQ(d.annotations[1].image_id, 2);
  EXPECT_EQ(d.annotations[1].category_id, 90);
  EXPECT_NEAR(d.annotations[1].bbox[0], 40, 1e-9);
  EXPECT_NEAR(d.annotations[1].bbox[1], 40, 1e-9);
  EXPECT_NEAR(d.annotations[1].bbox[2], 20, 1e-9);
  EXPECT_NEAR(d.annotations[1].bbox[3], 20, 1e-9);
}

TEST(YoloLabels, BadLabelsAreErrorsNamingFileAndLine) {
  TempDir images, labels;
  images.file("000000000007.bmp", bmp_file(8, 8));
  const std::string label = labels.file("000000000007.txt", "0 0.5 0.5 0.1 0.1\n80 0.5 0.5 0.1 0.1\n");
  const std::string e1 = error_of([&] { load_yolo_labels(images.path().string(), labels.path().string()); });
  EXPECT_TRUE(contains(e1, label + ":2") && contains(e1, "0..79")) << e1;

  labels.file("000000000007.txt", "0 0.5 0.5 0.1\n");
  const std::string e2 = error_of([&] { load_yolo_labels(images.path().string(), labels.path().string()); });
  EXPECT_TRUE(contains(e2, label + ":1")) << e2;

  // Numeric stem -> image id 7; a missing label file means no objects.
  fs::remove(label);
  const CocoDataset d = load_yolo_labels(images.path().string(), labels.path().string());
  ASSERT_EQ(d.images.size(), 1u);
  EXPECT_EQ(d.images[0].id, 7);
  EXPECT_TRUE(d.annotations.empty());

  const std::string e3 = error_of([&] { load_yolo_labels("/nonexistent/images", labels.path().string()); });
  EXPECT_TRUE(contains(e3, "/nonexistent/images")) << e3;
}

}  // namespace
}  // namespace partq
