// Rotation entry point shared by `rotate` and `init --force`. Internal to lifecycle/.
#pragma once

#include <cstddef>

#include "lifecycle/common.hpp"

namespace gitsops::lifecycle {

// Rotates the cluster key of rule `rule` (index into .sops.yaml's creation rules).
void rotate_rule(const Workspace& ws, std::size_t rule, const ClusterOptions& options);

}  // namespace gitsops::lifecycle
