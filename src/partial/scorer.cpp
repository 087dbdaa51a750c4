#include "scorer.hpp"

#include <partq/coco_eval.hpp>
#include <partq/error.hpp>

#include <cmath>
#include <map>

namespace partq::partial {

namespace {

constexpr double kMaxSqnrDb = 200;  // identical outputs: a finite stand-in for +inf (JSON has no inf)

// Elements of one image's rows of an output whose dim 0 is the batch.
size_t row_elements(const Tensor& t) {
  return t.shape.empty() || t.shape[0] == 0 ? 0 : static_cast<size_t>(t.numel() / t.shape[0]);
}

CocoDataset pseudo_labels(const SampleSet& set) {
  CocoDataset d;
  for (const SampleBatch& b : set.batches)
    for (size_t i = 0; i < b.images(); ++i)
      d.images.push_back({.id = b.image_ids[i],
                          .file_name = {},
                          .width = b.letterboxes[i].orig_w,
                          .height = b.letterboxes[i].orig_h});
  return d;
}

}  // namespace

Metric parse_metric(const std::string& name) {
  if (name == "map") return Metric::kMap;
  if (name == "pseudo-map") return Metric::kPseudoMap;
  if (name == "sqnr") return Metric::kSqnr;
  if (name == "cosine") return Metric::kCosine;
  fail("unknown metric '{}' (choose map, pseudo-map, sqnr or cosine)", name);
}

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kMap:
      return "map";
    case Metric::kPseudoMap:
      return "pseudo-map";
    case Metric::kSqnr:
      return "sqnr";
    case Metric::kCosine:
      return "cosine";
  }
  return "?";
}

bool metric_needs_labels(Metric m) {
  return m == Metric::kMap;
}

Scorer::Scorer(Metric metric, const SampleSet& set, const Preset& preset)
    : metric_(metric),
      set_(set),
      eval_decoder_(preset.decoder, preset.input_w, preset.input_h, preset.eval, preset.num_classes),
      pseudo_label_decoder_(preset.decoder, preset.input_w, preset.input_h, preset.demo, preset.num_classes) {
  if (metric == Metric::kMap) {
    if (!set.labels) fail("metric 'map' needs labels (--annotations); pseudo-map works without them");
    truth_ = set.labels;
  }
  if (metric == Metric::kPseudoMap) truth_ = pseudo_labels(set);
  reference_.resize(set.batches.size());
}

std::vector<Detection> Scorer::decode(size_t index, const std::vector<Tensor>& outputs,
                                      const Decoder& d) const {
  const SampleBatch& b = set_.batches.at(index);
  std::vector<Detection> all;
  for (auto& image : d.decode(outputs, b.letterboxes, b.image_ids))
    all.insert(all.end(), image.begin(), image.end());
  return all;
}

void Scorer::add_reference(size_t index, const std::vector<Tensor>& outputs) {
  if (metric_ == Metric::kSqnr || metric_ == Metric::kCosine) reference_.at(index) = outputs;
  if (metric_ != Metric::kPseudoMap) return;
  std::map<int64_t, bool> known;
  for (const CocoCategory& c : truth_->categories)
    known[c.id] = true;
  for (const Detection& d : decode(index, outputs, pseudo_label_decoder_)) {
    CocoAnnotation a{.id = static_cast<int64_t>(truth_->annotations.size()) + 1,
                     .image_id = d.image_id,
                     .category_id = d.category_id,
                     .bbox = {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]},
                     .area = static_cast<double>(d.bbox[2]) * d.bbox[3]};
    truth_->annotations.push_back(a);
    if (!known[d.category_id]) {
      known[d.category_id] = true;
      truth_->categories.push_back(
          {.id = d.category_id, .name = std::to_string(d.category_id), .supercategory = {}});
    }
  }
}

void Scorer::Run::add(size_t index, const std::vector<Tensor>& outputs) {
  const Scorer& s = scorer_;
  const size_t images = s.set_.batches.at(index).images();
  images_ += images;
  if (s.metric_ == Metric::kMap || s.metric_ == Metric::kPseudoMap) {
    auto d = s.decode(index, outputs, s.eval_decoder_);
    detections_.insert(detections_.end(), d.begin(), d.end());
    return;
  }
  const auto& reference = s.reference_.at(index);
  if (reference.size() != outputs.size()) fail("internal: reference of batch {} missing", index);
  std::vector<double> dot(images, 0), ref_sq(images, 0), out_sq(images, 0);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const size_t n = row_elements(outputs[k]);
    auto r = reference[k].as<float>();
    auto o = outputs[k].as<float>();
    for (size_t i = 0; i < images; ++i)
      for (size_t j = i * n; j < (i + 1) * n; ++j) {
        const double a = r[j], b = o[j];
        dot[i] += a * b;
        ref_sq[i] += a * a;
        out_sq[i] += b * b;
        noise_ += (a - b) * (a - b);
      }
  }
  for (size_t i = 0; i < images; ++i) {
    signal_ += ref_sq[i];
    const double norm = std::sqrt(ref_sq[i] * out_sq[i]);
    cosine_sum_ += norm > 0 ? dot[i] / norm : (ref_sq[i] == out_sq[i] ? 1.0 : 0.0);
  }
}

double Scorer::map_on(const std::vector<Detection>& detections, const std::vector<int64_t>& image_ids) const {
  if (!scores_detections()) fail("internal: map_on needs the map or pseudo-map metric");
  return evaluate_coco(*truth_, detections, {.image_ids = image_ids, .per_category = false}).stats[0];
}

double Scorer::Run::finish() {
  const Scorer& s = scorer_;
  switch (s.metric_) {
    case Metric::kMap:
    case Metric::kPseudoMap:
      return evaluate_coco(*s.truth_, detections_, {.image_ids = s.set_.image_ids, .per_category = false})
          .stats[0];
    case Metric::kSqnr:
      if (noise_ <= 0) return kMaxSqnrDb;
      return std::min(kMaxSqnrDb, 10.0 * std::log10(signal_ / noise_));
    case Metric::kCosine:
      return images_ == 0 ? 0.0 : cosine_sum_ / static_cast<double>(images_);
  }
  return 0;
}

}  // namespace partq::partial
