// The per-layer sensitivity bar chart, shared by the page (render_report) and the standalone SVG
// (render_sensitivity_svg). Internal to partq_report.
#pragma once

#include "partq/report.hpp"

#include <set>
#include <string>

#include "charts.hpp"

namespace partq::report {

// "mAP50-95", "pseudo-mAP", "SQNR", or the file's name of the metric.
std::string metric_name(const std::string& metric);

// What a bar's length means, in plain text (not escaped): "mAP50-95 lost when only this layer is INT8 ...".
std::string sensitivity_direction(const SensitivityInput& sensitivity);

// One bar per layer, most sensitive first; the layers of `float_layers` are "bar-float" and say "float",
// negative sensitivities are "bar-negative". `partial`: a partial quantization is shown with the chart (the
// other bars are then called INT8 in the legend).
BarChartSpec sensitivity_chart(const SensitivityInput& sensitivity, const std::set<std::string>& float_layers,
                               bool partial);

}  // namespace partq::report
