// Graph-to-graph rewrites. Each pass is a free function that edits the Graph in place, returns whether it
// changed anything, and leaves a graph that passes Graph::verify(). One pass per file in src/ir/passes/.
#pragma once

#include <cstdint>

#include "partq/ir.hpp"

namespace partq {

// Brings a graph of opset 7..12 to opset 13, rewriting the older forms into the opset-13 ones the engine
// handles:
//   Split `split` attribute -> second input; Squeeze/Unsqueeze/ReduceSum `axes` attribute -> second input;
//   Upsample (and Resize-10) -> Resize(x, roi omitted, scales) with asymmetric coordinates; Clip `min`/`max`,
//   Slice `starts`/`ends`/`axes`, Pad `pads`/`value`, TopK `k` attributes -> inputs; Softmax-family axis made
//   explicit (an Error naming the node when the old 2D-flattening semantics differ). Other Reduce* `axes`
//   stay attributes (still legal at 13). Sets Graph::opset = 13. A graph already at opset >= 13 is left
//   unchanged (returns false). See src/ir/passes/canonicalize.cpp for the full list.
bool canonicalize(Graph& graph);

// A float16 model becomes float32: float16 initializers, Constant / ConstantOfShape values and value types
// (graph inputs and outputs too) turn float32, and Casts (and other ops with a `to` / `dtype` attribute) to
// float16 cast to float32 instead. The weights keep their float16-rounded values exactly. Returns whether
// anything changed.
bool promote_float16(Graph& graph);

// Conv followed by BatchNormalization, where the Conv output feeds only that BN, becomes one Conv with
// w' = w * gamma / sqrt(var + eps) per output channel and b' = (b - mean) * gamma / sqrt(var + eps) + beta
// (b = 0 when the Conv has no bias). Needs constant Conv weight/bias and BN parameters; lone BNs are left
// alone.
bool fold_batchnorm(Graph& graph);

// RepVGG / RepOpt-style blocks (run after fold_batchnorm): an Add, or a chain of two Adds, summing a 3x3 Conv
// (stride s, pads 1, group g, dilation 1) of X, a 1x1 Conv (stride s, pads 0, group g, same output channels)
// of the same X and optionally an identity branch (a BatchNormalization of X, or X itself; stride 1 and as
// many output as input channels) becomes the one 3x3 Conv: w = w3 + w1 at the centre tap + the identity at
// the centre tap (times the BN's gamma / sqrt(var + eps)), b = b3 + b1 (+ beta - mean * gamma / sqrt(var +
// eps)). The Conv branches need constant f32 weights / biases, and every branch output (and inner Add) must
// be read only by the block. The folded Conv keeps the 3x3 Conv's name and takes the outer Add's output
// value. Returns the number of blocks folded.
int fold_repvgg_branches(Graph& graph);

// A Pad with mode constant and value 0 (or none) that pads only the spatial dims, by non-negative amounts,
// and whose output only Convs read (as their data input, auto_pad NOTSET or VALID): its pads are added to
// each Conv's pads and the Pad removed (exporters write PyTorch's F.pad / ZeroPad2d and TensorFlow's
// asymmetric SAME padding this way). Returns the number of Pads folded.
int fold_pad_into_conv(Graph& graph);

// Removes nodes none of whose outputs (transitively) reach a graph output, then unused values.
bool remove_dead_nodes(Graph& graph);

// Evaluates nodes whose inputs are all constant, for the small ops of shape subgraphs and head constants
// (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Reshape, Slice, Add, Mul, Sub, Div, Identity,
// Range) and replaces their outputs by initializers. Shape of a value whose shape is fully known folds as
// well. Anything else (and tensors over a size limit) is left alone. Removes the folded nodes.
bool fold_constants(Graph& graph);

// Re-specialises a model exported with a fixed batch (usually 1), or with a dynamic batch axis (taken as an
// export traced at batch 1), to `batch`:
//   - dim 0 of every graph input and output of rank >= 2 becomes `batch`;
//   - a Reshape whose shape input is a constant whose first element equals the old batch (and is not 0 / -1)
//   gets
//     that element replaced by `batch` when the reshaped data's leading dim is the batch (the data's dim 0 is
//     the old batch, or unknown);
//   - all inferred intermediate shapes are recomputed with ONNX shape inference.
// Throws Error naming the node when a constant Reshape target hard-codes a size that depends on the batch in
// a way this cannot rewrite (e.g. the batch folded into another dim), and when the graph has no batch dim.
void set_batch(Graph& graph, int64_t batch);

// Gives the height and width of every 4D graph input (the image) a fixed size, for an export whose image
// dims are dynamic, then recomputes every intermediate shape with ONNX shape inference. A dim already fixed
// at another size is an Error (a fixed-size export's head constants are made for its size).
void set_input_size(Graph& graph, int64_t height, int64_t width);

// Marks (Graph::size_inputs) the inputs besides the image that a detector exported with its post-processing
// reads, each of shape [N,2], integer or float, recognised by name: RT-DETR / D-FINE / DEIM's
// orig_target_sizes ("target_size" in the name: width, height) and PaddleDetection's im_shape (height, width)
// and scale_factor (scale_y, scale_x). Returns whether it marked one. Other extra inputs stay unmarked
// (resolve_preset refuses them by name).
bool mark_size_inputs(Graph& graph);

// The value partq feeds a marked input, so that the boxes come out in input pixels: its own shape (static by
// then), each row the width and height of the graph's image input in the input's order, or a scale of 1, in
// the input's dtype. Error for an unmarkable input or an image size that is not static.
Tensor size_input_value(const Graph& graph, const Value& input);
// What partq feeds a marked input, in words ("the image's width and height", ...), for reports.
std::string size_input_meaning(const Value& input);

}  // namespace partq
