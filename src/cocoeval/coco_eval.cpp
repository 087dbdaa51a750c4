// COCO bbox evaluation following pycocotools' COCOeval.evaluate() and accumulate() step by step (the Python
// it mirrors is quoted in the comments), so that the numbers match to the last bit where possible.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "coco_eval_internal.hpp"
#include "partq/coco_eval.hpp"
#include "partq/error.hpp"

namespace partq {
namespace cocoeval {
namespace {

// np.linspace(start, stop, num)[i]: numpy computes arange(num) * step + start and then sets the last point
// to stop exactly.
double linspace_point(double start, double stop, size_t num, size_t i) {
  if (i + 1 == num) return stop;
  const double step = (stop - start) / static_cast<double>(num - 1);
  return static_cast<double>(i) * step + start;
}

}  // namespace

const std::array<double, kNumIouThresholds>& iou_thresholds() {
  static const auto values = [] {
    std::array<double, kNumIouThresholds> v{};
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = linspace_point(0.5, 0.95, v.size(), i);
    return v;
  }();
  return values;
}

const std::array<double, kNumRecallThresholds>& recall_thresholds() {
  static const auto values = [] {
    std::array<double, kNumRecallThresholds> v{};
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = linspace_point(0.0, 1.0, v.size(), i);
    return v;
  }();
  return values;
}

namespace {

constexpr size_t T = kNumIouThresholds;
constexpr size_t R = kNumRecallThresholds;
constexpr size_t A = kAreaRanges.size();
constexpr size_t M = kMaxDets.size();
constexpr size_t kMaxDetsLast = 100;  // p.maxDets[-1]

struct GtBox {
  std::array<double, 4> bbox;
  double area;
  int64_t id;
  bool crowd;
};

struct DtBox {
  std::array<double, 4> bbox;
  double area;
  double score;
  int64_t id;  // loadRes: position in the results list + 1
};

// The float64 that Python reads from the shortest decimal text of `value` (what save_coco_detections
// writes). For results files with <= 7 significant digits this is also exactly the number in the file.
double widen(float value) {
  if (!std::isfinite(value)) return static_cast<double>(value);
  char buffer[32];
  const auto written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  double result = 0;
  std::from_chars(buffer, written.ptr, result);
  return result;
}

// maskApi.c bbIou for one pair of [x, y, w, h] boxes; crowd gt: intersection over the detection's area.
double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  const double ga = g[2] * g[3];
  const double da = d[2] * d[3];
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  const double i = w * h;
  const double u = crowd ? da : da + ga - i;
  return i / u;
}

// np.argsort(-scores, kind='mergesort') order: descending score, ties keep input order, NaN last.
bool ranks_before(double score_a, double score_b) {
  const double a = -score_a;
  const double b = -score_b;
  return a < b || (!std::isnan(a) && std::isnan(b));
}

// One evaluateImg() result (one image, category and area range); `present` false where pycocotools
// returns None (neither gt nor detections).
struct ImageEval {
  bool present = false;
  std::vector<double> scores;      // detections in score order, at most 100
  std::vector<uint8_t> matched;    // [T][D]: dtMatches != 0
  std::vector<uint8_t> ignored;    // [T][D]: dtIgnore
  int64_t num_gt_not_ignored = 0;  // count of gtIgnore == 0
};

// evaluateImg(imgId, catId, aRng, maxDet=100) for all area ranges of one image and category.
// `gts` in annotation-file order, `dts` already sorted by score and truncated to 100.
void evaluate_image(const std::vector<const GtBox*>& gts, const std::vector<const DtBox*>& dts,
                    std::array<ImageEval, A>& out) {
  const size_t G = gts.size();
  const size_t D = dts.size();
  // computeIoU: ious[d][g] with gt in file order.
  std::vector<double> ious(D * G);
  for (size_t d = 0; d < D; ++d) {
    for (size_t g = 0; g < G; ++g)
      ious[d * G + g] = box_iou(dts[d]->bbox, gts[g]->bbox, gts[g]->crowd);
  }
  const auto& thresholds = iou_thresholds();

  std::vector<size_t> order(G);
  std::vector<uint8_t> gt_ignore(G);
  std::vector<int64_t> gt_matched_det(G);
  std::vector<int64_t> dt_matched_gt(T * D);
  for (size_t a = 0; a < A; ++a) {
    const AreaRange& range = kAreaRanges[a];
    ImageEval& e = out[a];
    e.present = true;
    // gt['_ignore'] = gt['ignore'] (= iscrowd) or area outside the range; then argsort(_ignore, mergesort).
    for (size_t g = 0; g < G; ++g) {
      gt_ignore[g] = gts[g]->crowd || gts[g]->area < range.min_area || gts[g]->area > range.max_area;
    }
    order.clear();
    for (size_t g = 0; g < G; ++g)
      if (!gt_ignore[g]) order.push_back(g);
    e.num_gt_not_ignored = static_cast<int64_t>(order.size());
    for (size_t g = 0; g < G; ++g)
      if (gt_ignore[g]) order.push_back(g);

    e.scores.resize(D);
    for (size_t d = 0; d < D; ++d)
      e.scores[d] = dts[d]->score;
    e.ignored.assign(T * D, 0);
    std::fill(dt_matched_gt.begin(), dt_matched_gt.end(), 0);
    for (size_t t = 0; t < T; ++t) {
      std::fill(gt_matched_det.begin(), gt_matched_det.end(), 0);
      for (size_t d = 0; d < D; ++d) {
        double best = std::min(thresholds[t], 1 - 1e-10);
        ptrdiff_t m = -1;
        for (size_t j = 0; j < G; ++j) {
          const size_t g = order[j];
          // if this gt already matched, and not a crowd, continue
          if (gt_matched_det[j] > 0 && !gts[g]->crowd) continue;
          // if dt matched to reg gt, and on ignore gt, stop
          if (m > -1 && !gt_ignore[order[m]] && gt_ignore[g]) break;
          // continue to next gt unless better match made
          if (ious[d * G + g] < best) continue;
          best = ious[d * G + g];
          m = static_cast<ptrdiff_t>(j);
        }
        if (m == -1) continue;
        e.ignored[t * D + d] = gt_ignore[order[m]];
        dt_matched_gt[t * D + d] = gts[order[m]]->id;
        gt_matched_det[m] = dts[d]->id;
      }
    }
    // Unmatched detections outside the area range are ignored. (dtm == 0 means "unmatched" in pycocotools,
    // also for a match to a gt whose id is 0; mirrored.)
    e.matched.assign(T * D, 0);
    for (size_t t = 0; t < T; ++t) {
      for (size_t d = 0; d < D; ++d) {
        const bool matched = dt_matched_gt[t * D + d] != 0;
        e.matched[t * D + d] = matched;
        const bool outside = dts[d]->area < range.min_area || dts[d]->area > range.max_area;
        if (!matched && outside) e.ignored[t * D + d] = 1;
      }
    }
  }
}

// accumulate() for one category, area range and maxDets entry over the evaluated images.
void accumulate_one(const std::vector<ImageEval>& images, size_t k, size_t a, size_t m, Accumulated& acc) {
  const size_t max_det = static_cast<size_t>(kMaxDets[m]);
  struct Ref {
    double score;
    const ImageEval* image;
    size_t d;
  };
  std::vector<Ref> refs;
  bool any_present = false;
  int64_t npig = 0;
  for (const ImageEval& e : images) {
    if (!e.present) continue;
    any_present = true;
    npig += e.num_gt_not_ignored;
    const size_t n = std::min(e.scores.size(), max_det);
    for (size_t d = 0; d < n; ++d)
      refs.push_back({e.scores[d], &e, d});
  }
  if (!any_present || npig == 0) return;
  std::stable_sort(refs.begin(), refs.end(),
                   [](const Ref& x, const Ref& y) { return ranks_before(x.score, y.score); });

  const size_t nd = refs.size();
  const double eps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
  const auto& rec_thrs = recall_thresholds();
  std::vector<double> rc(nd), pr(nd);
  for (size_t t = 0; t < T; ++t) {
    double tp = 0, fp = 0;
    for (size_t j = 0; j < nd; ++j) {
      const ImageEval& e = *refs[j].image;
      const size_t D = e.scores.size();
      const bool matched = e.matched[t * D + refs[j].d];
      const bool ignored = e.ignored[t * D + refs[j].d];
      if (matched && !ignored) tp += 1;
      if (!matched && !ignored) fp += 1;
      rc[j] = tp / static_cast<double>(npig);
      pr[j] = tp / (fp + tp + eps);
    }
    acc.recall[acc.recall_index(t, k, a, m)] = nd ? rc[nd - 1] : 0.0;
    for (size_t i = nd - 1; nd > 0 && i > 0; --i) {
      if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    }
    // inds = np.searchsorted(rc, recThrs, side='left'); q[ri] = pr[inds[ri]] until an index runs past nd.
    for (size_t r = 0; r < R; ++r) {
      const size_t pi = static_cast<size_t>(std::lower_bound(rc.begin(), rc.end(), rec_thrs[r]) - rc.begin());
      const double q = pi < nd ? pr[pi] : 0.0;
      acc.precision[acc.precision_index(t, r, k, a, m)] = q;
    }
  }
}

}  // namespace
}  // namespace cocoeval

CocoEvalResult evaluate_coco(const CocoDataset& gt, const std::vector<Detection>& detections,
                             const CocoEvalOptions& options) {
  using namespace cocoeval;
  // p.imgIds = sorted unique image ids; p.catIds = sorted unique GT category ids.
  std::vector<int64_t> image_ids;
  if (options.image_ids.empty()) {
    for (const CocoImage& image : gt.images)
      image_ids.push_back(image.id);
  } else {
    image_ids = options.image_ids;
  }
  std::sort(image_ids.begin(), image_ids.end());
  image_ids.erase(std::unique(image_ids.begin(), image_ids.end()), image_ids.end());
  std::vector<int64_t> category_ids;
  for (const CocoCategory& category : gt.categories)
    category_ids.push_back(category.id);
  std::sort(category_ids.begin(), category_ids.end());
  category_ids.erase(std::unique(category_ids.begin(), category_ids.end()), category_ids.end());

  const size_t I = image_ids.size();
  const size_t K = category_ids.size();
  std::unordered_map<int64_t, size_t> image_index, category_index;
  for (size_t i = 0; i < I; ++i)
    image_index.emplace(image_ids[i], i);
  for (size_t k = 0; k < K; ++k)
    category_index.emplace(category_ids[k], k);

  // loadRes: every result must name a GT image (assert in pycocotools); area = w * h; id = position + 1.
  std::unordered_map<int64_t, bool> gt_images;
  for (const CocoImage& image : gt.images)
    gt_images.emplace(image.id, true);
  std::vector<DtBox> dts(detections.size());
  for (size_t n = 0; n < detections.size(); ++n) {
    const Detection& det = detections[n];
    if (!gt_images.count(det.image_id)) {
      fail(
          "detection {} names image_id {}, which is not an image of the ground truth "
          "(pycocotools: 'Results do not correspond to current coco set')",
          n, det.image_id);
    }
    DtBox& dt = dts[n];
    for (size_t c = 0; c < 4; ++c)
      dt.bbox[c] = widen(det.bbox[c]);
    dt.area = dt.bbox[2] * dt.bbox[3];
    dt.score = widen(det.score);
    dt.id = static_cast<int64_t>(n) + 1;
  }
  std::vector<GtBox> gts(gt.annotations.size());
  for (size_t n = 0; n < gt.annotations.size(); ++n) {
    const CocoAnnotation& ann = gt.annotations[n];
    gts[n] = {ann.bbox, ann.area, ann.id, ann.iscrowd};
  }

  // _prepare: group gt and dt by (category, image), keeping file order inside a group (counting sort).
  const auto bucket_of = [&](int64_t image_id, int64_t category_id) -> ptrdiff_t {
    const auto i = image_index.find(image_id);
    const auto k = category_index.find(category_id);
    if (i == image_index.end() || k == category_index.end()) return -1;
    return static_cast<ptrdiff_t>(k->second * I + i->second);
  };
  const auto group = [&](const auto& items, const auto& bucket_fn) {
    using Item = typename std::decay_t<decltype(items)>::value_type;
    std::vector<size_t> start(K * I + 1, 0);
    std::vector<ptrdiff_t> buckets(items.size());
    for (size_t n = 0; n < items.size(); ++n) {
      buckets[n] = bucket_fn(n);
      if (buckets[n] >= 0) ++start[static_cast<size_t>(buckets[n]) + 1];
    }
    for (size_t b = 0; b < K * I; ++b)
      start[b + 1] += start[b];
    std::vector<const Item*> sorted(start.back());
    std::vector<size_t> fill(start.begin(), start.end() - 1);
    for (size_t n = 0; n < items.size(); ++n) {
      if (buckets[n] >= 0) sorted[fill[static_cast<size_t>(buckets[n])]++] = &items[n];
    }
    return std::make_pair(std::move(start), std::move(sorted));
  };
  const auto [gt_start, gt_sorted] = group(
      gts, [&](size_t n) { return bucket_of(gt.annotations[n].image_id, gt.annotations[n].category_id); });
  const auto [dt_start, dt_sorted] =
      group(dts, [&](size_t n) { return bucket_of(detections[n].image_id, detections[n].category_id); });

  Accumulated acc;
  acc.num_categories = K;
  acc.precision.assign(T * R * K * A * M, -1.0);
  acc.recall.assign(T * K * A * M, -1.0);

  // Category by category, so memory stays bounded by one category's evaluations.
  std::array<std::vector<ImageEval>, A> evals;
  std::vector<const GtBox*> image_gts;
  std::vector<const DtBox*> image_dts;
  for (size_t k = 0; k < K; ++k) {
    for (auto& per_area : evals)
      per_area.assign(I, ImageEval{});
    for (size_t i = 0; i < I; ++i) {
      const size_t b = k * I + i;
      image_gts.assign(gt_sorted.begin() + static_cast<ptrdiff_t>(gt_start[b]),
                       gt_sorted.begin() + static_cast<ptrdiff_t>(gt_start[b + 1]));
      image_dts.assign(dt_sorted.begin() + static_cast<ptrdiff_t>(dt_start[b]),
                       dt_sorted.begin() + static_cast<ptrdiff_t>(dt_start[b + 1]));
      if (image_gts.empty() && image_dts.empty()) continue;  // evaluateImg returns None
      std::stable_sort(image_dts.begin(), image_dts.end(),
                       [](const DtBox* x, const DtBox* y) { return ranks_before(x->score, y->score); });
      if (image_dts.size() > kMaxDetsLast) image_dts.resize(kMaxDetsLast);
      std::array<ImageEval, A> out;
      evaluate_image(image_gts, image_dts, out);
      for (size_t a = 0; a < A; ++a)
        evals[a][i] = std::move(out[a]);
    }
    for (size_t a = 0; a < A; ++a) {
      for (size_t m = 0; m < M; ++m)
        accumulate_one(evals[a], k, a, m, acc);
    }
  }

  CocoEvalResult result;
  result.stats = summarize(acc);
  result.num_images = static_cast<int64_t>(I);
  result.num_detections = static_cast<int64_t>(detections.size());
  if (options.per_category) {
    std::unordered_map<int64_t, const CocoCategory*> by_id;
    for (const CocoCategory& category : gt.categories)
      by_id.emplace(category.id, &category);
    const size_t all = 0, max100 = M - 1;
    for (size_t k = 0; k < K; ++k) {
      std::vector<double> over_iou, at_50;
      for (size_t t = 0; t < T; ++t) {
        for (size_t r = 0; r < R; ++r) {
          const double p = acc.precision[acc.precision_index(t, r, k, all, max100)];
          over_iou.push_back(p);
          if (t == 0) at_50.push_back(p);
        }
      }
      CocoCategoryAp ap;
      ap.category_id = category_ids[k];
      ap.name = by_id.at(category_ids[k])->name;
      ap.ap = numpy_mean_of_defined(over_iou);
      ap.ap50 = numpy_mean_of_defined(at_50);
      result.per_category.push_back(std::move(ap));
    }
  }
  return result;
}

}  // namespace partq
