// The merge driver (`merge.sops.driver = git-sops merge %O %A %B %L %P`) and what `git sops
// resolve` shares with it.
//
// Git hands the driver the stored (encrypted) form of base, ours and theirs, and stores what the
// driver leaves in %A as the merged blob without running the clean filter: so the result must be
// ciphertext. For sops files the three sides are decrypted, merged per key path
// (sops::merge_documents) and the result encrypted again:
//   - data key: ours', unless only theirs changed it (a rotation on their branch: the old key
//     must not live on in the merged file);
//   - recipients: those of the side that changed them (updatekeys on one branch), merged like a
//     value; when both changed them differently, the `.sops.yaml` rule for the path decides;
//   - IVs of unchanged values are reused (from both sides when they share the data key), so the
//     merged blob differs from ours only where values changed, plus mac and lastmodified; a
//     result equal to one side is that side's blob, byte for byte.
// Files that are not sops files on any side get the same three-way text merge git would do.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "base/secure.hpp"
#include "git/clean.hpp"
#include "sops/sops.hpp"

namespace gitsops::git {

struct MergeSides {
    std::span<const std::uint8_t> base;  // empty when the sides have no common ancestor
    std::span<const std::uint8_t> ours;
    std::span<const std::uint8_t> theirs;
};

struct MergeOutcome {
    SecureBytes result;  // what %A must hold: ciphertext for sops files, markers for text conflicts
    bool structured = false;                     // a sops merge (else a text merge)
    bool clean = true;                           // no conflict left (resolutions count as settled)
    std::vector<sops::MergeConflict> conflicts;  // sops merges: every conflict, resolved or not
    std::size_t documents = 0;                   // documents in the result (sops merges)
};

// Merges one file; `path` is relative to the worktree top. Throws Error when a side cannot be
// decrypted (exit code 128, no key) or read: the caller leaves %A untouched.
MergeOutcome merge_file(FilterContext& context, std::string_view path, const MergeSides& sides, int marker_size,
                        const std::vector<sops::MergeResolution>* resolutions = nullptr);

}  // namespace gitsops::git
