#include <partq/report.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_report(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<ReportOptions>();
  auto evals = std::make_shared<std::vector<std::string>>();
  auto benches = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write one self-contained HTML page: sensitivity chart, partial-quantization trade-off, summary");
  cmd->add_option("-o,--output", options->output, "The HTML file to write")->required();
  cmd->add_option("--sensitivity", options->sensitivity, "partq.sensitivity JSON (per-layer chart)");
  cmd->add_option("--tradeoff", options->tradeoff,
                  "partq.partial_quant JSON (from `partq quantize --sensitivity ... --json`)");
  cmd->add_option("--eval", *evals,
                  "LABEL=FILE: a `partq eval --json` result (labels: fp32, int8, partial, ...)");
  cmd->add_option("--bench", *benches, "LABEL=FILE: a `partq bench --json` result (any batch sizes)");
  cmd->add_option("--title", options->title, "Page title (default: from the model name)");
  add_common_flags(*cmd, global);
  cmd->callback([options, evals, benches, &global] {
    check_outputs(global, {options->output});
    for (const std::string& e : *evals)
      options->evals.push_back(report::parse_labeled_file(e, "--eval"));
    for (const std::string& b : *benches)
      options->benches.push_back(report::parse_labeled_file(b, "--bench"));
    const ReportSummary r = write_report(*options);
    if (!global.quiet) {
      std::string sections;
      for (const std::string& s : r.sections)
        sections += (sections.empty() ? "" : ", ") + s;
      fmt::print("wrote {} ({} bytes): {}\n", r.output, r.bytes, sections);
    }
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
