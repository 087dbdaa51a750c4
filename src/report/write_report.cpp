// write_report: read the inputs, render the page, write it atomically.
#include "partq/error.hpp"
#include "partq/report.hpp"
#include "partq/util/atomic_file.hpp"

namespace partq {

ReportSummary write_report(const ReportOptions& options) {
  if (options.output.empty()) fail("report: no output file (-o report.html)");
  const ReportInputs inputs = load_report_inputs(options);
  const std::string html = render_report(inputs);
  write_file_atomic(options.output, html);
  ReportSummary summary;
  summary.output = options.output;
  summary.title = inputs.title;
  if (!inputs.evals.empty() || !inputs.benches.empty()) summary.sections.push_back("summary");
  if (inputs.tradeoff) summary.sections.push_back("tradeoff");
  if (inputs.sensitivity) summary.sections.push_back("sensitivity");
  summary.bytes = static_cast<int64_t>(html.size());
  return summary;
}

nlohmann::json to_json(const ReportSummary& summary) {
  return {{"output", summary.output},
          {"title", summary.title},
          {"sections", summary.sections},
          {"bytes", summary.bytes}};
}

}  // namespace partq
