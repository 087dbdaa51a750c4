// partq calibrate: one FP32 pass over sampled images with an observer (HistogramCalibrator) tapped onto every
// activation tensor the quantization plan quantizes; every method's amax comes from that one pass.
#include <partq/calibration.hpp>
#include <partq/data.hpp>
#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/quant_calib_file.hpp>
#include <partq/util/progress.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ptq_plan.hpp"

namespace partq {
namespace {

constexpr CalibrationMethod kAllMethods[] = {CalibrationMethod::kMax, CalibrationMethod::kEntropy,
                                             CalibrationMethod::kPercentile, CalibrationMethod::kMse};
constexpr int kOverheadBatches = 2;  // batches timed with and without observers

void check_options(const CalibrateOptions& o) {
  if (o.output.empty()) fail("no output file given (-o MODEL.calib.json)");
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
  if (o.num_images < 1) fail("--num-images must be at least 1, got {}", o.num_images);
  if (!std::isfinite(o.percentile) || o.percentile <= 0 || o.percentile > 100)
    fail("--percentile must be in (0, 100], got {}", o.percentile);
  parse_calibration_method(o.method);  // Error listing the valid names
  if (!std::filesystem::is_directory(o.images)) fail("{}: not a directory of images", o.images);
}

// The observers: one histogram per tensor, fed through engine taps (or directly, for the graph input).
class Observers {
 public:
  Observers(const std::vector<std::string>& tensors, const CalibrateOptions& o) {
    // The taps run between the engine's steps, when its threads are idle: the histograms use as many.
    const int threads = o.threads > 0 ? o.threads : hardware_threads();
    for (const std::string& t : tensors)
      calibrators_.push_back(std::make_unique<HistogramCalibrator>(
          CalibratorOptions{.tensor_name = t,
                            .method = parse_calibration_method(o.method),
                            .percentile = o.percentile,
                            .threads = threads}));
  }

  // Taps every tensor; a value the engine fused away cannot be tapped (Error from set_tap).
  void attach(Engine& engine) {
    for (auto& calib : calibrators_) {
      HistogramCalibrator* c = calib.get();
      engine.set_values_tap(c->options().tensor_name,
                            [this, c](const std::string&, std::span<const float> values, const Shape&) {
                              if (paused_) return;
                              // A padded last batch carries zero images after the real ones: observe the real
                              // images only.
                              const size_t per_image = values.size() / static_cast<size_t>(engine_batch_);
                              c->collect(values.first(per_image * real_images_));
                            });
    }
  }

  void set_batch(int64_t engine_batch, size_t real_images) {
    engine_batch_ = engine_batch;
    real_images_ = real_images;
  }
  // While paused the taps stay set (the engine still hands the tensors over) but nothing is recorded.
  void pause(bool paused) { paused_ = paused; }
  const std::vector<std::unique_ptr<HistogramCalibrator>>& calibrators() const { return calibrators_; }

 private:
  std::vector<std::unique_ptr<HistogramCalibrator>> calibrators_;
  int64_t engine_batch_ = 1;
  size_t real_images_ = 0;
  bool paused_ = false;
};

void fill_input(const Batch& batch, Tensor& input) {
  if (input.shape != batch.shape) input = Tensor(DType::kFloat32, batch.shape);
  std::memcpy(input.bytes.data(), batch.data.data(), batch.data.size() * sizeof(float));
}

std::string batch_label(const Batch& batch) {
  std::vector<std::string> names;
  for (const std::string& p : batch.paths)
    names.push_back(std::filesystem::path(p).filename().string());
  return fmt::format("{}", fmt::join(names, ", "));
}

// The chosen method's amax per tensor, every method's amax (for the file), and what went wrong.
struct AmaxResults {
  std::map<std::string, float> chosen;
  nlohmann::json by_method = nlohmann::json::object();
  std::vector<std::string> no_data;  // tensors that saw only zeros (or nothing)
  std::vector<std::string> warnings;
};

// Every method's result for every tensor, computed in parallel: entropy and mse cost ~10 ms per tensor
// (O(bins^2)), seconds for a whole model on one core. compute_amax is const and each task reads one
// calibrator only, so the calibrators can be shared read-only between the threads.
std::vector<std::array<CalibrationResult, 4>> all_results(const Observers& observers, int threads) {
  const auto& calibrators = observers.calibrators();
  std::vector<std::array<CalibrationResult, 4>> results(calibrators.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < calibrators.size(); i = next++)
      for (size_t m = 0; m < std::size(kAllMethods); ++m)
        results[i][m] = calibrators[i]->compute_amax(kAllMethods[m]);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread& t : pool)
    t.join();
  return results;
}

AmaxResults compute_amax(const Observers& observers, CalibrationMethod method, int threads) {
  AmaxResults results;
  for (CalibrationMethod m : kAllMethods)
    results.by_method[std::string(calibration_method_name(m))] = nlohmann::json::object();
  const auto all = all_results(observers, threads);
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& tensor = observers.calibrators()[i]->options().tensor_name;
    const CalibrationResult* chosen = nullptr;
    const CalibrationResult* max = nullptr;
    for (size_t m = 0; m < std::size(kAllMethods); ++m) {
      const CalibrationResult& r = all[i][m];
      if (r.ok()) results.by_method[std::string(calibration_method_name(kAllMethods[m]))][tensor] = r.amax;
      if (kAllMethods[m] == method) chosen = &r;
      if (kAllMethods[m] == CalibrationMethod::kMax) max = &r;
    }
    if (chosen->ok()) {
      results.chosen[tensor] = chosen->amax;
    } else if (chosen->issue == CalibrationIssue::kNoData || chosen->issue == CalibrationIssue::kAllZeros ||
               !max->ok()) {
      results.no_data.push_back(tensor);
    } else {
      // The method found no usable threshold (e.g. the percentile falls into the zero bin) although the
      // tensor has a range: its max is a real, if loose, amax.
      results.chosen[tensor] = max->amax;
      results.warnings.push_back(
          fmt::format("{}; using its max ({:.6g}) instead", chosen->message, max->amax));
    }
  }
  return results;
}

}  // namespace

double CalibrationReport::observer_overhead_percent() const {
  if (ms_per_batch_with_observers < 0 || ms_per_batch_without_observers <= 0) return 0;
  return 100.0 * (ms_per_batch_with_observers - ms_per_batch_without_observers) /
         ms_per_batch_without_observers;
}

CalibrationReport calibrate_model(const CalibrateOptions& o) {
  check_options(o);
  const CalibrationMethod method = parse_calibration_method(o.method);
  const ImageList all = ImageList::from_directory(o.images);
  if (all.size() == 0)
    fail(
        "{}: no image files (jpg, jpeg, png, bmp, webp, tif) in this directory; calibration needs sample "
        "images like the ones the model will see",
        o.images);
  auto graph = load_model(o.model);
  if (ptq::graph_has_qdq(*graph))
    fail(
        "{}: the model is already quantized (it has QuantizeLinear / DequantizeLinear nodes); calibrate its "
        "FP32 model",
        o.model);
  const Preset preset = resolve_preset(*graph, o.preset);
  const std::vector<std::string> tensors = ptq::calibration_tensors(*graph);
  if (tensors.empty())
    fail("{}: the model has no quantizable layer (Conv, ConvTranspose, Gemm, MatMul)", o.model);

  CalibrationReport report{.model = o.model, .output = o.output, .method = o.method, .preset = preset.name};
  report.images_available = static_cast<int64_t>(all.size());
  const ImageList sample = all.sample(o.num_images, o.seed);
  report.images_sampled = static_cast<int64_t>(sample.size());
  if (sample.size() < o.num_images)
    report.notes.push_back(fmt::format("{} has only {} images (asked for {}): calibrating on all of them",
                                       o.images, sample.size(), o.num_images));
  report.batch = static_cast<int>(std::min<size_t>(static_cast<size_t>(o.batch), sample.size()));

  auto engine = Engine::create(*graph, {.threads = o.threads, .batch = report.batch});
  Observers observers(tensors, o);
  try {
    observers.attach(*engine);
  } catch (const Error&) {
    // A tensor the fused engine never materialises (an activation folded into its conv that the plan
    // quantizes): observe the unfused graph instead (same values, a little slower).
    engine = Engine::create(*graph, {.threads = o.threads, .batch = report.batch, .fuse = false});
    observers.attach(*engine);
  }
  report.tensors = static_cast<int64_t>(tensors.size());

  BatchLoaderOptions loading;
  loading.batch_size = report.batch;
  loading.input_w = preset.input_w;
  loading.input_h = preset.input_h;
  loading.profile = preset.profile;
  if (o.quiet) loading.on_skip = [](const std::string&, const std::string&) {};
  BatchLoader loader(sample, loading);
  Progress progress("calibrate", report.images_sampled, {.quiet = o.quiet});
  Stopwatch wall;
  Batch batch;
  std::vector<Tensor> inputs(1), outputs;
  double with_ms = 0, without_ms = 0;
  int timed = 0;
  for (int index = 0; loader.next(batch); ++index) {
    fill_input(batch, inputs[0]);
    observers.set_batch(report.batch, batch.size());
    // The overhead compares the steady state of both: the same batch without taps and with the observers,
    // each after its one-time setup (page faults, kernel selection; with taps, the engine's per-tensor tap
    // buffers, which clear_taps() drops). Batch 0 runs plain first, batch 1 plain after the observed run.
    const bool measure = o.measure_overhead && index < kOverheadBatches;
    auto run_plain = [&] {
      engine->clear_taps();
      Stopwatch plain;
      engine->run(inputs, outputs);
      without_ms += plain.elapsed_ms();
      observers.attach(*engine);
    };
    if (measure && index == 0) {
      engine->clear_taps();
      engine->run(inputs, outputs);
      run_plain();
      observers.pause(true);
      engine->run(inputs, outputs);
      observers.pause(false);
    }
    Stopwatch observed;
    try {
      engine->run(inputs, outputs);
    } catch (const Error& e) {
      fail("{} (calibration batch {}: {})", e.what(), index, batch_label(batch));
    }
    if (measure) with_ms += observed.elapsed_ms(), ++timed;
    if (measure && index > 0) run_plain();
    report.images_used += static_cast<int64_t>(batch.size());
    progress.advance(static_cast<int64_t>(batch.size()));
  }
  progress.finish();
  report.seconds = wall.elapsed_s();
  for (const auto& [path, reason] : loader.skipped())
    report.skipped.push_back(path);
  if (report.images_used == 0)
    fail("{}: none of the {} sampled images could be read", o.images, report.images_sampled);
  if (timed > 0) {
    report.ms_per_batch_with_observers = with_ms / timed;
    report.ms_per_batch_without_observers = without_ms / timed;
  }

  AmaxResults amax = compute_amax(observers, method, o.threads > 0 ? o.threads : hardware_threads());
  if (!amax.no_data.empty()) {
    const size_t shown = std::min<size_t>(amax.no_data.size(), 5);
    fail(
        "{} tensor(s) saw only zeros over the {} calibration images, so no scale can be derived for them "
        "(blank images, or a dead layer?): {}{}",
        amax.no_data.size(), report.images_used,
        fmt::join(amax.no_data.begin(), amax.no_data.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
        amax.no_data.size() > shown ? ", ..." : "");
  }
  report.warnings = std::move(amax.warnings);
  report.amax = amax.chosen;

  CalibrationTable table;
  table.method = o.method;
  table.num_images = report.images_used;
  table.model = std::filesystem::path(o.model).filename().string();
  table.model_fingerprint = ptq::fingerprint(*graph);
  nlohmann::json sampled = nlohmann::json::array();
  for (const ImageEntry& e : sample.entries)
    sampled.push_back(std::filesystem::path(e.path).filename().string());
  table.settings = {{"percentile", o.percentile},           {"seed", o.seed},        {"batch", report.batch},
                    {"num_images_requested", o.num_images}, {"preset", preset.name}, {"images", sampled},
                    {"amax_by_method", amax.by_method}};
  table.amax = amax.chosen;
  write_calibration(o.output, table);
  if (!o.trt_cache.empty())
    write_trt_calibration_cache(o.trt_cache, ptq::shared_amax(*graph, o.keep_first_conv_float, table.amax),
                                {.calibrator = method == CalibrationMethod::kMax ? TrtCalibrator::kMinMax
                                                                                 : TrtCalibrator::kEntropy2});
  return report;
}

nlohmann::json to_json(const CalibrationReport& r) {
  return {
      {"model", r.model},
      {"output", r.output},
      {"method", r.method},
      {"preset", r.preset},
      {"images_available", r.images_available},
      {"images_sampled", r.images_sampled},
      {"images_used", r.images_used},
      {"skipped_images", r.skipped},
      {"tensors", r.tensors},
      {"batch", r.batch},
      {"seconds", r.seconds},
      {"ms_per_batch_with_observers", r.ms_per_batch_with_observers},
      {"ms_per_batch_without_observers", r.ms_per_batch_without_observers},
      {"observer_overhead_percent",
       r.ms_per_batch_with_observers >= 0 ? nlohmann::json(r.observer_overhead_percent()) : nlohmann::json()},
      {"notes", r.notes},
      {"warnings", r.warnings},
      {"amax", r.amax}};
}

}  // namespace partq
