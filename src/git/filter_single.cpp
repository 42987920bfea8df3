#include "git/filter_single.hpp"

#include <exception>
#include <string>

#include "base/error.hpp"
#include "base/io.hpp"

namespace gitsops::git {

namespace {

// Reads nothing itself: `request` arrives complete, so both entry points share the error path.
int serve(FilterHandler& handler, const FilterRequest& request, int out_fd, int err_fd) {
    int code = exit_code::generic;
    try {
        const SecureBytes result = dispatch(handler, request);
        io::write_all(out_fd, result);
        return exit_code::ok;
    } catch (const Error& e) {
        code = e.code() == exit_code::ok ? exit_code::generic : e.code();
        io::write_all(err_fd, file_error_line(request.pathname, e.what()));
    } catch (const std::exception& e) {
        io::write_all(err_fd, file_error_line(request.pathname, e.what()));
    }
    return code;
}

}  // namespace

int run_filter_single(FilterHandler& handler, std::string_view command, std::string_view pathname, int in_fd,
                      int out_fd, int err_fd) {
    FilterRequest request;
    request.command = command;
    request.pathname = pathname;
    try {
        request.content = io::read_stream_secure(in_fd);
    } catch (const Error& e) {
        io::write_all(err_fd, file_error_line(pathname, e.what()));
        return e.code();
    }
    return serve(handler, request, out_fd, err_fd);
}

int run_textconv(FilterHandler& handler, const std::filesystem::path& file, int out_fd, int err_fd) {
    FilterRequest request;
    request.command = "textconv";
    request.pathname = file.string();
    try {
        request.content = io::read_file_secure(file);
    } catch (const Error& e) {  // io's message already names the file
        io::write_all(err_fd, std::string("git-sops: ") + e.what() + "\n");
        return e.code();
    }
    return serve(handler, request, out_fd, err_fd);
}

}  // namespace gitsops::git
