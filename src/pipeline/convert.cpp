#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>

namespace partq {

void convert_model(const ConvertOptions& options) {
  // Only the batch and the image size are re-specialised: the file stays as close to the original as
  // possible, so the folding passes of load_model are deliberately not applied.
  auto graph = load_onnx(options.model);
  if (options.batch < 0) fail("--batch must be positive, got {}", options.batch);
  if ((options.height > 0) != (options.width > 0) || options.height < 0 || options.width < 0)
    fail("--input-size needs a positive height and width, got {}x{}", options.height, options.width);
  if (options.height > 0) set_input_size(*graph, options.height, options.width);
  if (options.batch > 0) set_batch(*graph, options.batch);
  save_onnx(*graph, options.output);
}

}  // namespace partq
