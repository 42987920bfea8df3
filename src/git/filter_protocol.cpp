#include "git/filter_protocol.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/pktline.hpp"

namespace gitsops::git {

namespace {

using namespace std::string_view_literals;

Error protocol_error(std::string message) { return Error(std::move(message), exit_code::could_not_read_input); }

// The capabilities git-sops can serve, in the order it answers them. No "delay": decrypting one
// file is fast, and delayed checkout would only add protocol states.
constexpr std::array served_capabilities = {"clean"sv, "smudge"sv};

// Metadata keys a handler may use (convert.c sends each only when it knows the value).
constexpr std::array meta_keys = {"ref"sv, "treeish"sv, "blob"sv};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// Handshake, gitattributes "Long Running Filter Process": git names itself and the versions it
// speaks; we pick 2. Then git lists capabilities and we answer the subset we serve, ignoring
// names we do not know (the docs invent "capability=not-yet-invented" to make that point).
void handshake(pkt::Reader& in, pkt::Writer& out) {
    auto welcome = in.read_text();
    if (!welcome || *welcome != "git-filter-client")
        throw protocol_error("handshake: expected 'git-filter-client' from git, got " +
                             (welcome ? in_quotes(*welcome) : std::string("a flush")));
    bool has_v2 = false;
    std::string offered;
    while (auto line = in.read_text()) {
        if (!line->starts_with("version=")) continue;
        const std::string v = line->substr(8);
        has_v2 = has_v2 || v == "2";
        offered += (offered.empty() ? "" : ", ") + v;
    }
    if (!has_v2)
        throw protocol_error("handshake: git offers filter protocol version " +
                             (offered.empty() ? std::string("(none)") : offered) +
                             "; git-sops speaks version 2 (Git 2.11 or later)");
    out.text("git-filter-server");
    out.text("version=2");
    out.flush_packet();
    out.send();

    std::vector<std::string> offered_caps;
    while (auto line = in.read_text()) {
        if (line->starts_with("capability=")) offered_caps.push_back(line->substr(11));
    }
    for (std::string_view cap : served_capabilities)
        if (std::find(offered_caps.begin(), offered_caps.end(), cap) != offered_caps.end())
            out.text("capability=" + std::string(cap));
    out.flush_packet();
    out.send();
}

// One request: a key=value list, then the content, each ended by a flush. Returns nullopt when
// git closed the pipe before the request started: that is how git says goodbye.
std::optional<FilterRequest> read_request(pkt::Reader& in) {
    pkt::Packet first = in.read();
    if (first.kind == pkt::Kind::eof) return std::nullopt;
    if (first.kind == pkt::Kind::flush) throw protocol_error("request without command and pathname (a bare flush)");

    FilterRequest r;
    auto take = [&r](std::string_view entry) {
        if (!entry.empty() && entry.back() == '\n') entry.remove_suffix(1);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos)
            throw protocol_error("malformed request entry " + in_quotes(entry) + " (expected key=value)");
        const std::string_view key = entry.substr(0, eq), value = entry.substr(eq + 1);
        if (key == "command") {
            r.command = value;
        } else if (key == "pathname") {
            r.pathname = value;
        } else {
            for (std::string_view known : meta_keys)
                if (key == known) r.meta[std::string(key)] = value;
        }  // anything else (can-delay, keys of future gits) is a hint we may ignore
    };
    take(view_of(first.payload));
    while (auto line = in.read_text()) take(*line);

    if (r.command.empty()) throw protocol_error("request without a command");
    if (r.pathname.empty()) throw protocol_error("request for command " + in_quotes(r.command) + " without a pathname");
    if (r.command != "clean" && r.command != "smudge")
        throw protocol_error("unsupported filter command " + in_quotes(r.command) + " for " + r.pathname);

    for (;;) {
        pkt::Packet p;
        try {
            p = in.read();
        } catch (const Error& e) {
            throw Error("reading the content of " + r.pathname + ": " + e.what(), e.code());
        }
        if (p.kind == pkt::Kind::flush) break;
        if (p.kind == pkt::Kind::eof)
            throw protocol_error("unexpected end of input in the content of " + r.pathname +
                                 " (git closed the pipe mid-file)");
        r.content.insert(r.content.end(), p.payload.begin(), p.payload.end());
    }
    return r;
}

void respond_success(pkt::Writer& out, std::span<const std::uint8_t> result) {
    out.text("status=success");
    out.flush_packet();
    out.content(result);
    out.flush_packet();
    out.flush_packet();  // the second status list, empty: "success" stands
    out.send();
}

// "I can't process this file": git treats it as a failed filter for this path only.
void respond_error(pkt::Writer& out) {
    out.text("status=error");
    out.flush_packet();
    out.send();
}

void say(int err_fd, const std::string& line) {
    try {
        io::write_all(err_fd, line);
    } catch (const Error&) {  // stderr is gone: nothing left to tell
    }
}

}  // namespace

SecureBytes dispatch(FilterHandler& handler, const FilterRequest& request) {
    if (request.command == "clean") return handler.clean(request);
    if (request.command == "smudge") return handler.smudge(request);
    if (request.command == "textconv") return handler.textconv(request);
    throw Error("unsupported filter command '" + request.command + "'");
}

std::string file_error_line(std::string_view pathname, std::string_view message) {
    std::string line = "git-sops: ";
    line.append(pathname.empty() ? "standard input" : pathname).append(": ").append(message);
    if (line.back() != '\n') line.push_back('\n');
    return line;
}

int run_filter_process(FilterHandler& handler, int in_fd, int out_fd, int err_fd) {
    try {
        pkt::Reader in(in_fd);
        pkt::Writer out(out_fd);
        handshake(in, out);
        while (auto request = read_request(in)) {
            std::optional<SecureBytes> result;
            try {
                result = dispatch(handler, *request);
            } catch (const std::exception& e) {
                say(err_fd, file_error_line(request->pathname, e.what()));
            }
            if (result)
                respond_success(out, *result);
            else
                respond_error(out);
            try {
                handler.idle();
            } catch (const std::exception&) {  // a head start only: the next file does the work
            }
        }
        return exit_code::ok;
    } catch (const Error& e) {
        say(err_fd, std::string("git-sops: filter-process: ") + e.what() + "\n");
        return e.code();
    }
}

}  // namespace gitsops::git
