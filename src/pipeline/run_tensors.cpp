#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/util/npy.hpp>

#include <fmt/format.h>

namespace partq {

RunReport run_tensors(const RunOptions& options) {
  PreparedModel model = prepare_model(options.model);  // FP32, or a Q/DQ model run in INT8
  auto& graph = model.graph;
  graph->size_inputs.clear();  // raw tensors: every input as the caller gives it (a target size too)
  if (options.inputs.size() != graph->inputs.size())
    fail("{} takes {} input(s), {} given", options.model, graph->inputs.size(), options.inputs.size());
  std::vector<Tensor> inputs;
  for (const std::string& path : options.inputs)
    inputs.push_back(read_npy(path));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value* expected = graph->inputs[i];
    if (inputs[i].dtype != expected->dtype)
      fail("{}: input '{}' must be {}, the file holds {}", options.inputs[i], expected->name,
           dtype_name(expected->dtype), dtype_name(inputs[i].dtype));
    if (inputs[i].shape.size() != expected->shape.size())
      fail("{}: input '{}' has shape {}, the model expects {}", options.inputs[i], expected->name,
           shape_str(inputs[i].shape), shape_str(expected->shape));
  }
  const int64_t batch = inputs.front().shape.empty() ? 1 : inputs.front().shape.front();
  EngineOptions engine_options = model.engine_options;
  engine_options.threads = options.threads;
  engine_options.batch = batch;
  auto engine = Engine::create(*graph, engine_options);
  graph.reset();
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].shape != engine->inputs()[i].shape)
      fail("{}: input '{}' has shape {}, the model expects {}", options.inputs[i], engine->inputs()[i].name,
           shape_str(inputs[i].shape), shape_str(engine->inputs()[i].shape));

  RunReport report;
  Stopwatch watch;
  std::vector<Tensor> outputs = engine->run(inputs);
  report.milliseconds = watch.elapsed_ms();
  report.outputs = engine->outputs();
  for (size_t i = 0; i < outputs.size(); ++i) {
    report.files.push_back(fmt::format("{}.{}.npy", options.output_prefix, i));
    write_npy(report.files.back(), outputs[i]);
  }
  return report;
}

}  // namespace partq
