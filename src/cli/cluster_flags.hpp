// The cluster flags the key commands share (--context, --namespace, --secret, --no-cluster).
// Internal to cli/.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

// `o` must outlive the parse (keep it in a shared_ptr captured by the callback).
inline void add_cluster_flags(CLI::App* cmd, lifecycle::ClusterOptions& o, bool with_no_cluster) {
    cmd->add_option_function<std::string>(
        "--context", [&o](const std::string& v) { o.context = v; },
        "kubectl context of the cluster (default: the one recorded by init, else kubectl's current context)");
    cmd->add_option_function<std::string>(
        "--namespace", [&o](const std::string& v) { o.namespace_name = v; },
        "Namespace of the key's Secret (default flux-system)");
    cmd->add_option_function<std::string>(
        "--secret", [&o](const std::string& v) { o.secret = v; }, "Name of the key's Secret (default sops-age)");
    if (with_no_cluster)
        cmd->add_flag("--no-cluster", o.no_cluster,
                      "Keep the key out of any cluster: it is only printed, and you hold it (e.g. in SOPS_AGE_KEY)");
}

}  // namespace gitsops::cli
