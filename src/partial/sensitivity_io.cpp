// The partq.sensitivity file (docs/sensitivity.md), its CSV twin and the console table.
#include <partq/error.hpp>
#include <partq/sensitivity.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace partq {

namespace {

constexpr const char* kFormat = "partq.sensitivity";
constexpr int kVersion = 1;

std::string csv_quoted(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

nlohmann::json to_json(const SensitivityReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSensitivity& l : r.layers) {
    nlohmann::json j = {{"name", l.name},
                        {"nodes", l.nodes},
                        {"op_type", l.op_type},
                        {"detail", l.detail},
                        {"value", l.value},
                        {"sensitivity", l.sensitivity},
                        {"cone_fraction", l.cone_fraction},
                        {"rank", l.rank}};
    if (r.naive_measured) j["naive_value"] = l.naive_value;
    layers.push_back(std::move(j));
  }
  const double speedup = r.sweep_seconds > 0 ? r.naive_seconds / r.sweep_seconds : 0;
  return {{"format", kFormat},
          {"version", kVersion},
          {"model", r.model},
          {"model_fingerprint", r.model_fingerprint},
          {"calib", r.calib},
          {"calibration_method", r.calibration_method},
          {"mode", r.mode},
          {"metric", r.metric},
          {"activations", r.activations},
          {"weights", r.weights},
          {"higher_is_better", true},
          {"images",
           {{"dir", r.images},
            {"annotations", r.annotations.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.annotations)},
            {"count", r.files.size()},
            {"seed", r.seed},
            {"batch", r.batch},
            {"files", r.files}}},
          {"baseline", {{"float", r.baseline_float}, {"int8", r.baseline_int8}}},
          {"layers", layers},
          {"timing",
           {{"seconds", r.seconds},
            {"sweep_seconds", r.sweep_seconds},
            {"sweep_create_seconds", r.sweep_create_seconds},
            {"sweep_run_seconds", r.sweep_run_seconds},
            {"sweep_score_seconds", r.sweep_score_seconds},
            {"naive_seconds", r.naive_seconds},
            {"naive_measured", r.naive_measured},
            {"speedup", speedup},
            {"forward_fraction", r.forward_fraction}}},
          {"cached_bytes", r.cached_bytes},
          {"notes", r.notes}};
}

SensitivityReport sensitivity_from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object() || j.value("format", "") != kFormat)
    fail("{}: not a partq sensitivity file (format '{}' expected)", label, kFormat);
  if (json_field<int>(j, "version", label) != kVersion)
    fail("{}: unsupported sensitivity file version {}", label, j.at("version").dump());
  SensitivityReport r;
  r.model = json_field<std::string>(j, "model", label);
  r.model_fingerprint = json_field<std::string>(j, "model_fingerprint", label);
  r.calib = j.value("calib", "");
  r.calibration_method = j.value("calibration_method", "");
  r.mode = json_field<std::string>(j, "mode", label);
  r.metric = json_field<std::string>(j, "metric", label);
  r.activations = j.value("activations", "symmetric");
  r.weights = j.value("weights", "8-bit");
  const auto images = json_field<nlohmann::json>(j, "images", label);
  r.images = images.value("dir", "");
  if (images.contains("annotations") && images["annotations"].is_string())
    r.annotations = images["annotations"].get<std::string>();
  r.files = images.value("files", std::vector<std::string>{});
  r.seed = images.value("seed", uint64_t{0});
  r.batch = images.value("batch", 0);
  const auto baseline = json_field<nlohmann::json>(j, "baseline", label);
  r.baseline_float = json_field<double>(baseline, "float", label + " baseline");
  r.baseline_int8 = json_field<double>(baseline, "int8", label + " baseline");
  for (const auto& l : json_field<nlohmann::json>(j, "layers", label)) {
    const std::string where = label + " layer";
    LayerSensitivity s{.name = json_field<std::string>(l, "name", where),
                       .nodes = json_field<std::vector<std::string>>(l, "nodes", where),
                       .op_type = l.value("op_type", ""),
                       .detail = l.value("detail", ""),
                       .value = json_field<double>(l, "value", where),
                       .sensitivity = json_field<double>(l, "sensitivity", where),
                       .naive_value = l.value("naive_value", 0.0),
                       .cone_fraction = l.value("cone_fraction", 0.0),
                       .rank = l.value("rank", 0)};
    r.layers.push_back(std::move(s));
  }
  if (j.contains("timing")) {
    const auto& t = j["timing"];
    r.seconds = t.value("seconds", 0.0);
    r.sweep_seconds = t.value("sweep_seconds", 0.0);
    r.sweep_create_seconds = t.value("sweep_create_seconds", 0.0);
    r.sweep_run_seconds = t.value("sweep_run_seconds", 0.0);
    r.sweep_score_seconds = t.value("sweep_score_seconds", 0.0);
    r.naive_seconds = t.value("naive_seconds", 0.0);
    r.naive_measured = t.value("naive_measured", false);
    r.forward_fraction = t.value("forward_fraction", 0.0);
  }
  r.cached_bytes = j.value("cached_bytes", int64_t{0});
  r.notes = j.value("notes", std::vector<std::string>{});
  return r;
}

void write_sensitivity(const std::string& path, const SensitivityReport& r) {
  write_json_file(path, to_json(r));
}

SensitivityReport read_sensitivity(const std::string& path) {
  return sensitivity_from_json(read_json_file(path), path);
}

void write_sensitivity_csv(const std::string& path, const SensitivityReport& r) {
  std::string out = "rank,layer,op_type,detail,nodes,value,sensitivity,cone_fraction\n";
  for (const LayerSensitivity& l : r.layers) {
    std::string nodes;
    for (const std::string& n : l.nodes)
      nodes += (nodes.empty() ? "" : " ") + n;
    out += fmt::format("{},{},{},{},{},{:.6g},{:.6g},{:.4f}\n", l.rank, csv_quoted(l.name), l.op_type,
                       csv_quoted(l.detail), csv_quoted(nodes), l.value, l.sensitivity, l.cone_fraction);
  }
  write_file_atomic(path, out);
}

std::string format_sensitivity(const SensitivityReport& r, size_t max_rows) {
  std::string out =
      fmt::format("{} sensitivity ({}, metric {}) on {} images: float {:.4f}, full INT8 {:.4f}\n", r.model,
                  r.mode, r.metric, r.files.size(), r.baseline_float, r.baseline_int8);
  out += fmt::format("  {:>4}  {:<40} {:<22} {:>10} {:>12} {:>6}\n", "rank", "layer", "detail", "value",
                     "sensitivity", "cone");
  for (size_t i = 0; i < r.layers.size() && i < max_rows; ++i) {
    const LayerSensitivity& l = r.layers[i];
    out += fmt::format("  {:>4}  {:<40} {:<22} {:>10.4f} {:>12.4g} {:>5.0f}%\n", l.rank, l.name, l.detail,
                       l.value, l.sensitivity, 100 * l.cone_fraction);
  }
  if (r.layers.size() > max_rows) out += fmt::format("  ... {} more\n", r.layers.size() - max_rows);
  const double speedup = r.sweep_seconds > 0 ? r.naive_seconds / r.sweep_seconds : 0;
  out += fmt::format(
      "sweep {:.1f} s for {} layers (compile {:.1f} s, run {:.1f} s, score {:.1f} s); naive sweep {:.1f} s "
      "({}) -> {:.2f}x; recorded tensors "
      "{:.0f} MiB; total {:.1f} s\n",
      r.sweep_seconds, r.layers.size(), r.sweep_create_seconds, r.sweep_run_seconds, r.sweep_score_seconds,
      r.naive_seconds, r.naive_measured ? "measured" : "estimated", speedup,
      static_cast<double>(r.cached_bytes) / (1 << 20), r.seconds);
  return out;
}

}  // namespace partq
