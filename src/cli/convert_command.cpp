#include <partq/error.hpp>
#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "cli_common.hpp"

namespace partq::cli {

namespace {

// "640" or "480x640" (height x width).
std::pair<int64_t, int64_t> parse_image_size(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  try {
    size_t used = 0;
    const int64_t h = std::stoll(text.substr(0, x), &used);
    if (used != (x == std::string::npos ? text.size() : x)) throw std::invalid_argument(text);
    if (x == std::string::npos) return {h, h};
    const std::string rest = text.substr(x + 1);
    const int64_t w = std::stoll(rest, &used);
    if (used != rest.size()) throw std::invalid_argument(text);
    return {h, w};
  } catch (const std::exception&) {
    fail("--input-size '{}': expected HxW (e.g. 640x640) or one number", text);
  }
}

}  // namespace

void register_convert(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Rewrite a model: re-specialise a fixed-batch export to another "
      "batch (e.g. for runtimes that need a static batch), or fix the image "
      "size of an export with dynamic height and width. A model of opset 18..22 is written "
      "in its opset-17 forms (for runtimes that stop at opset 17, such as TensorRT 8.5)");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_option("-o,--output", options->output, "Output ONNX file")->required();
  cmd->add_option("--batch", options->batch, "New batch size (0 = keep)");
  auto size = std::make_shared<std::string>();
  cmd->add_option(
      "--input-size", *size,
      "Image size HxW (or one number for a square) for an export whose image height and width are "
      "dynamic");
  add_common_flags(*cmd, global);
  cmd->callback([options, size, &global] {
    check_outputs(global, {options->output});
    if (!size->empty()) std::tie(options->height, options->width) = parse_image_size(*size);
    convert_model(*options);
    if (!global.quiet) fmt::print("wrote {}\n", options->output);
    write_json_result(global, {{"model", options->model},
                               {"output", options->output},
                               {"batch", options->batch},
                               {"height", options->height},
                               {"width", options->width}});
  });
}

}  // namespace partq::cli
