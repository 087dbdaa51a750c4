#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <opencv2/imgcodecs.hpp>

#include <fstream>

#include "temp_dir.hpp"

namespace partq {
namespace {

void touch(const std::string& path) {
  std::ofstream(path) << "x";
}

TEST(ImageList, DirectoryIsSortedAndFiltered) {
  testing::TempDir dir;
  touch(dir.file("000000000139.jpg"));
  touch(dir.file("000000000002.JPG"));
  touch(dir.file("notes.txt"));
  touch(dir.file("zebra.png"));
  const ImageList list = ImageList::from_directory(dir.path().string());
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.entries[0].path, dir.file("000000000002.JPG"));
  EXPECT_EQ(list.entries[0].image_id, 2);
  EXPECT_EQ(list.entries[1].image_id, 139);
  EXPECT_EQ(list.entries[2].path, dir.file("zebra.png"));
  EXPECT_EQ(list.entries[2].image_id, 2);  // not numeric: its position in the sorted list

  const ImageList first = ImageList::from_directory(dir.path().string(), 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first.entries[1].image_id, 139);
}

TEST(ImageList, MissingDirectoryIsAnError) {
  EXPECT_THROW(ImageList::from_directory("/nonexistent/partq/images"), Error);
}

TEST(ImageList, FromCocoKeepsDatasetOrderAndIds) {
  CocoDataset ds;
  ds.images = {
      {.id = 42, .file_name = "b.jpg"}, {.id = 7, .file_name = "a.jpg"}, {.id = 9, .file_name = "c.jpg"}};
  const ImageList list = ImageList::from_coco(ds, "/imgs", 2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.entries[0].path, "/imgs/b.jpg");
  EXPECT_EQ(list.entries[0].image_id, 42);
  EXPECT_EQ(list.entries[1].image_id, 7);
}

TEST(ImageList, ExistingKeepsTheListedFilesThatAreThereInOrder) {
  testing::TempDir dir;
  for (const char* name : {"a.jpg", "c.jpg"})
    std::ofstream(dir.file(name)) << "x";
  std::filesystem::create_directories(dir.file("d.jpg"));  // a directory is not an image file
  CocoDataset ds;
  ds.images = {{.id = 3, .file_name = "c.jpg"},
               {.id = 2, .file_name = "b.jpg"},
               {.id = 1, .file_name = "a.jpg"},
               {.id = 4, .file_name = "d.jpg"}};
  const ImageList list = ImageList::from_coco(ds, dir.path().string()).existing();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.entries[0].image_id, 3);
  EXPECT_EQ(list.entries[1].image_id, 1);
}

TEST(ReadImage, MissingAndCorruptFilesAreErrorsNamingTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.jpg")) << "this is not a jpeg";
  try {
    read_image(dir.file("bad.jpg"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jpg"), std::string::npos);
  }
  EXPECT_THROW(read_image(dir.file("missing.jpg")), Error);
}

}  // namespace
}  // namespace partq
