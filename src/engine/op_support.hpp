// Whether the engine can run every node of a graph, checked before anything is lowered.
#pragma once

#include <partq/ir.hpp>

namespace partq::engine {

// Error naming every node whose op the engine has no lowering for (an exporter's NMS brings several at
// once), grouped by op; when they look like detection post-processing, says to export without it.
void check_ops_supported(const Graph& graph);

}  // namespace partq::engine
