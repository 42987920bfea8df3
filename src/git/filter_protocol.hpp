// The filter driver's two transports and the one interface the clean/smudge logic implements.
//
// Long-running (`filter.sops.process`, gitattributes "Long Running Filter Process", version 2):
// one process serves every file of a git command over pkt-lines on stdin/stdout. Single-shot
// (`filter.sops.clean`/`smudge`, `diff.sops.textconv`) lives in filter_single.hpp and calls the
// same handler, so both paths make the same decisions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::git {

struct FilterRequest {
    std::string command;   // "clean", "smudge" or "textconv"
    std::string pathname;  // relative to the top of the worktree, as git names it (textconv: a file path)
    // Optional hints git sends in process mode (Git >= 2.27): "ref", "treeish", "blob".
    // Absent keys were not sent; single-shot mode never has any.
    std::map<std::string, std::string> meta;
    SecureBytes content;  // clean: worktree bytes (plaintext); smudge: the blob as stored
};

// Implemented by the clean/smudge logic. Any exception fails just this one file: git hears
// "status=error" (and, with filter.sops.required, stops the command naming the path) and the
// user reads one line "git-sops: <pathname>: <what()>". The process then serves the next file.
// Handlers must never write to standard output: in process mode it is the protocol channel.
// One handler object serves every file of a git command, so it may cache (.sops.yaml, keys).
class FilterHandler {
public:
    virtual ~FilterHandler() = default;
    virtual SecureBytes clean(const FilterRequest& request) = 0;
    virtual SecureBytes smudge(const FilterRequest& request) = 0;
    // `git diff`'s textconv: show a blob as text. The path is a temporary file (often under
    // $TMPDIR/git-blob-XXXXXX/) that matches no .sops.yaml rule; by default the same as smudge.
    virtual SecureBytes textconv(const FilterRequest& request) { return smudge(request); }
    // Called in process mode after each response is sent, before waiting for the next request:
    // git is busy with the answer (hashing, writing the object, reading the next file), so work
    // done here runs beside git's instead of in the next file's round trip. Errors are ignored.
    virtual void idle() {}
};

// Calls the handler method `request.command` names; throws Error for any other command.
SecureBytes dispatch(FilterHandler& handler, const FilterRequest& request);

// The one line both transports print when a handler fails for a file.
std::string file_error_line(std::string_view pathname, std::string_view message);

// Serves git's filter process protocol until git closes the pipe. Returns 0 at a clean end of
// input between requests. A malformed packet, a handshake without version 2, or end of input
// inside a request prints one line on `err_fd` and returns nonzero at once (git then reports the
// file and may restart the filter); it never waits for input that cannot come.
int run_filter_process(FilterHandler& handler, int in_fd, int out_fd, int err_fd = 2);

}  // namespace gitsops::git
