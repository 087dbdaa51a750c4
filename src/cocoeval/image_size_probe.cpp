// Header parsing is ~1000x cheaper than decoding: loading a 5000-image YOLO folder stays well under a second.
#include "image_size_probe.hpp"

#include <cstdint>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <vector>

#include "partq/error.hpp"

namespace partq {
namespace {

uint32_t big_endian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | p[i];
  return v;
}

uint32_t little_endian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

std::optional<ImageSize> probe_png(const std::vector<unsigned char>& h) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (h.size() < 24 || !std::equal(signature, signature + 8, h.begin())) return std::nullopt;
  if (h[12] != 'I' || h[13] != 'H' || h[14] != 'D' || h[15] != 'R') return std::nullopt;
  return ImageSize{static_cast<int>(big_endian(&h[16], 4)), static_cast<int>(big_endian(&h[20], 4))};
}

std::optional<ImageSize> probe_bmp(const std::vector<unsigned char>& h) {
  if (h.size() < 26 || h[0] != 'B' || h[1] != 'M') return std::nullopt;
  const uint32_t dib_size = little_endian(&h[14], 4);
  if (dib_size == 12) {  // BITMAPCOREHEADER: 16-bit sizes
    return ImageSize{static_cast<int>(little_endian(&h[18], 2)), static_cast<int>(little_endian(&h[20], 2))};
  }
  const auto width = static_cast<int32_t>(little_endian(&h[18], 4));
  const auto height = static_cast<int32_t>(little_endian(&h[22], 4));  // negative: top-down rows
  return ImageSize{width, height < 0 ? -height : height};
}

// Walks the JPEG marker segments up to the first start-of-frame marker, which holds the size.
std::optional<ImageSize> probe_jpeg(std::ifstream& in) {
  unsigned char b[8];
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(b), 2) || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  while (in) {
    int c = in.get();
    if (c != 0xFF) return std::nullopt;
    while (c == 0xFF)
      c = in.get();  // fill bytes
    if (c == EOF) return std::nullopt;
    const int marker = c;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no payload
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;           // end / scan before any frame
    if (!in.read(reinterpret_cast<char*>(b), 2)) return std::nullopt;
    const uint32_t length = big_endian(b, 2);
    if (length < 2) return std::nullopt;
    const bool start_of_frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (start_of_frame) {
      if (length < 7 || !in.read(reinterpret_cast<char*>(b), 5)) return std::nullopt;
      return ImageSize{static_cast<int>(big_endian(&b[3], 2)), static_cast<int>(big_endian(&b[1], 2))};
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return std::nullopt;
}

}  // namespace

ImageSize probe_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open image", path);
  std::vector<unsigned char> header(32);
  in.read(reinterpret_cast<char*>(header.data()), static_cast<std::streamsize>(header.size()));
  header.resize(static_cast<size_t>(in.gcount()));
  in.clear();

  std::optional<ImageSize> size = probe_png(header);
  if (!size) size = probe_bmp(header);
  if (!size) size = probe_jpeg(in);
  if (size && size->width > 0 && size->height > 0) return *size;

  const cv::Mat image = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  if (image.empty()) fail("{}: not a readable image", path);
  return ImageSize{image.cols, image.rows};
}

}  // namespace partq
