#include "selection.hpp"

#include <partq/error.hpp>

namespace partq::partial {

Selection::Selection(const QuantModel& m, const SampleOptions& options)
    : set_(load_sample_set(options, m.preset)),
      scorer_(options.annotations.empty() ? Metric::kPseudoMap : Metric::kMap, set_, m.preset),
      reference_(score_reference(m, set_, scorer_, float_options(m))) {}

const Selection& SharedSelection::get(const QuantModel& m, const SampleOptions& options) {
  if (!selection_) {
    selection_ = std::make_unique<Selection>(m, options);
    options_ = options;
  } else if (options.images != options_.images || options.annotations != options_.annotations ||
             options.limit != options_.limit || options.seed != options_.seed ||
             options.batch != options_.batch) {
    fail(
        "internal error: a stage asked for selection images {} (limit {}, seed {}) after {} (limit {}, seed "
        "{})",
        options.images, options.limit, options.seed, options_.images, options_.limit, options_.seed);
  }
  return *selection_;
}

}  // namespace partq::partial
