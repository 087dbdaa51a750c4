// What the output-error proxies (sqnr, cosine) compare. Normally the model's outputs. An NMS-free head
// exported end to end ends in a data-dependent selection (TopK, then GatherElements of the chosen rows): its
// output rows are whichever predictions won, so an INT8 model that picks other rows (or the same ones in
// another order) is compared row by row with predictions it does not share. The tensors the selection
// reads -- every prediction's boxes and class scores -- line up between the float and the INT8 model, so the
// proxies compare those instead. Measured on yolov5n with a YOLOv10 selection appended (64 train images):
// sqnr on the selection's inputs ranks the layers as sqnr on plain yolov5n's output does (Spearman 0.9998,
// the same top 5), sqnr on the selected rows only 0.84.
#pragma once

#include <partq/ir.hpp>

#include <vector>

namespace partq::partial {

// The float tensors a TopK-based selection reads from the rest of the graph (none derived from another
// one), in graph order; empty when the graph has no TopK.
std::vector<Value*> selection_inputs(const Graph& graph);

// Makes the tensors selection_inputs() finds the graph's outputs and drops the selection. Returns their
// names (empty, with the graph unchanged, when there is no selection).
std::vector<std::string> cut_before_selection(Graph& graph);

}  // namespace partq::partial
