// Image width/height from the file header, without decoding the pixels.
#pragma once

#include <string>

namespace partq {

struct ImageSize {
  int width = 0;
  int height = 0;
};

// Reads the stored (not EXIF-rotated) size of a JPEG, PNG or BMP from its header; other or unusual files are
// decoded with OpenCV. Throws partq::Error naming the file when it cannot be read as an image.
ImageSize probe_image_size(const std::string& path);

}  // namespace partq
