// The long-running filter server against a scripted fake git. The server runs in a forked child
// with pipes for stdin, stdout and stderr, so a server that hangs is killed after a timeout and
// reported, instead of hanging the test run.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "git/filter_protocol.hpp"
#include "git/harness.hpp"
#include "git/pktline.hpp"

using namespace gitsops;
using namespace gitsops::git;

namespace {

// clean upper-cases, smudge lower-cases and appends the hints it was given; a path starting
// with "error" makes either fail.
class TestHandler final : public FilterHandler {
public:
    SecureBytes clean(const FilterRequest& r) override { return map(r, [](char c) { return std::toupper(c); }); }
    SecureBytes smudge(const FilterRequest& r) override {
        if (r.pathname == "idle-count") return secure_copy(std::to_string(idle_calls_));
        SecureBytes out = map(r, [](char c) { return std::tolower(c); });
        for (const auto& [k, v] : r.meta) {
            const std::string hint = "|" + k + "=" + v;
            out.insert(out.end(), hint.begin(), hint.end());
        }
        return out;
    }
    void idle() override {
        if (++idle_calls_ == 2) throw Error("idle work failed");  // must not disturb the protocol
    }

private:
    int idle_calls_ = 0;
    template <class F>
    static SecureBytes map(const FilterRequest& r, F f) {
        if (r.pathname.starts_with("error")) throw Error("cannot filter this one");
        SecureBytes out(r.content);
        for (auto& b : out) b = static_cast<std::uint8_t>(f(static_cast<char>(b)));
        return out;
    }
};

std::string packet(std::string_view payload) {
    std::uint8_t h[4];
    pkt::encode_length(payload.size(), h);
    return std::string(view_of(h)) + std::string(payload);
}
const std::string flush = "0000";

std::string handshake(std::vector<std::string> versions = {"2"},
                      std::vector<std::string> caps = {"clean", "smudge", "delay"}) {
    std::string s = packet("git-filter-client\n");
    for (const auto& v : versions) s += packet("version=" + v + "\n");
    s += flush;
    for (const auto& c : caps) s += packet("capability=" + c + "\n");
    return s + flush;
}

std::string content_packets(std::string_view content) {
    std::string s;
    while (!content.empty()) {
        const auto n = std::min(content.size(), pkt::max_payload);
        s += packet(content.substr(0, n));
        content.remove_prefix(n);
    }
    return s + flush;
}

std::string request(std::string_view command, std::string_view path, std::string_view content,
                    std::vector<std::string> extra = {}) {
    std::string s = packet("command=" + std::string(command) + "\n") + packet("pathname=" + std::string(path) + "\n");
    for (const auto& e : extra) s += packet(e + "\n");
    return s + flush + content_packets(content);
}

// The server's answer as a list: text payloads without LF, flushes as "0000".
std::vector<std::string> parse(const std::string& out) {
    std::vector<std::string> got;
    testgit::Feed feed(out);
    pkt::Reader r(feed.fd());
    for (;;) {
        auto p = r.read();
        if (p.kind == pkt::Kind::eof) return got;
        if (p.kind == pkt::Kind::flush) {
            got.push_back("0000");
            continue;
        }
        std::string s(view_of(p.payload));
        if (!s.empty() && s.back() == '\n') s.pop_back();
        got.push_back(s);
    }
}

const std::vector<std::string> server_hello = {"git-filter-server", "version=2", "0000"};

struct Outcome {
    int exit_code = -1;  // -1: killed after the timeout
    std::string out, err;
    std::chrono::milliseconds took{};
};

// Forks run_filter_process(TestHandler) and plays git: writes `input` (closing stdin afterwards
// unless `keep_open`), collects stdout and stderr, and waits at most `timeout`.
Outcome run_server(const std::string& input, bool keep_open = false,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    int in[2], out[2], err[2];
    if (::pipe(in) || ::pipe(out) || ::pipe(err)) throw std::runtime_error("pipe");
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        ::close(in[1]);
        ::close(out[0]);
        ::close(err[0]);
        int rc = 99;
        try {
            TestHandler handler;
            rc = run_filter_process(handler, in[0], out[1], err[1]);
        } catch (...) {
        }
        ::_exit(rc);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    Outcome o;
    std::thread reader([&] { o.out = testgit::read_fully(out[0]); });
    std::thread err_reader([&] { o.err = testgit::read_fully(err[0]); });
    std::thread writer([&] {
        testgit::write_fully(in[1], input);
        if (!keep_open) ::close(in[1]);
    });
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() - start > timeout) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    o.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    writer.join();
    if (keep_open) ::close(in[1]);
    reader.join();
    err_reader.join();
    ::close(out[0]);
    ::close(err[0]);
    return o;
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<std::string> success(const std::string& content) {
    std::vector<std::string> v = {"status=success", "0000"};
    if (!content.empty()) v.push_back(content);
    v.insert(v.end(), {"0000", "0000"});
    return v;
}

}  // namespace

TEST_CASE("filter process: handshake, several requests, clean end of input") {
    signal(SIGPIPE, SIG_IGN);
    const auto o = run_server(handshake() + request("clean", "a.yaml", "key: value\n") +
                              request("smudge", "dir/b.yaml", "KEY: VALUE", {"ref=refs/heads/main", "blob=1234"}) +
                              request("clean", "c.yaml", "x"));
    CHECK(o.exit_code == 0);
    CHECK(o.err.empty());
    auto want = cat(server_hello, {"capability=clean", "capability=smudge", "0000"});
    want = cat(want, success("KEY: VALUE"));  // parse() drops the content's final LF like a text line's
    want = cat(want, success("key: value|blob=1234|ref=refs/heads/main"));
    want = cat(want, success("X"));
    CHECK(parse(o.out) == want);
    CHECK(o.out.find("000fKEY: VALUE\n0000") != std::string::npos);
}

TEST_CASE("filter process: idle() runs once after each response, its errors are ignored") {
    const auto o = run_server(handshake() + request("clean", "a.yaml", "a") + request("clean", "error.yaml", "b") +
                              request("smudge", "idle-count", "") + request("smudge", "idle-count", ""));
    CHECK(o.exit_code == 0);
    CHECK(o.err == "git-sops: error.yaml: cannot filter this one\n");
    auto want = cat(server_hello, {"capability=clean", "capability=smudge", "0000"});
    want = cat(want, success("A"));
    want = cat(want, {"status=error", "0000"});
    want = cat(want, success("2"));  // after a.yaml and error.yaml (whose idle() threw)
    want = cat(want, success("3"));
    CHECK(parse(o.out) == want);
}

TEST_CASE("filter process: metadata keys are hints; unknown keys are ignored") {
    const auto o = run_server(handshake() + request("smudge", "a.yaml", "V",
                                                    {"treeish=abc", "can-delay=1", "future-key=x=y", "blob=b"}));
    CHECK(o.exit_code == 0);
    CHECK(parse(o.out) == cat(cat(server_hello, {"capability=clean", "capability=smudge", "0000"}),
                              success("v|blob=b|treeish=abc")));
}

TEST_CASE("filter process: git without version 2 is refused with a clear message") {
    for (auto versions : {std::vector<std::string>{"1"}, std::vector<std::string>{"1", "3"}, std::vector<std::string>{}}) {
        const auto o = run_server(handshake(versions));
        CHECK(o.exit_code != 0);
        CHECK(o.out.empty());
        CHECK_THAT(o.err, Catch::StartsWith("git-sops: filter-process: handshake: git offers filter protocol version"));
        CHECK_THAT(o.err, Catch::Contains("git-sops speaks version 2"));
    }
    const auto o = run_server(packet("git-filter-server\n") + flush);
    CHECK(o.exit_code != 0);
    CHECK_THAT(o.err, Catch::Contains("expected 'git-filter-client' from git, got 'git-filter-server'"));
}

TEST_CASE("filter process: version 2 among others is chosen") {
    const auto o = run_server(handshake({"1", "2", "3"}));
    CHECK(o.exit_code == 0);
    CHECK(parse(o.out) == cat(server_hello, {"capability=clean", "capability=smudge", "0000"}));
}

TEST_CASE("filter process: unknown capabilities are ignored, only offered ones are claimed") {
    auto o = run_server(handshake({"2"}, {"clean", "not-yet-invented", "smudge"}));
    CHECK(o.exit_code == 0);
    CHECK(parse(o.out) == cat(server_hello, {"capability=clean", "capability=smudge", "0000"}));

    o = run_server(handshake({"2"}, {"smudge"}) + request("smudge", "only.yaml", "ABC"));
    CHECK(o.exit_code == 0);
    CHECK(parse(o.out) == cat(cat(server_hello, {"capability=smudge", "0000"}), success("abc")));
}

TEST_CASE("filter process: an empty file is a success with no content packets") {
    const auto o = run_server(handshake() + request("clean", "empty.yaml", ""));
    CHECK(o.exit_code == 0);
    const auto got = parse(o.out);
    CHECK(std::vector<std::string>(got.begin() + 6, got.end()) == success(""));
    CHECK(o.out.ends_with("0013status=success\n000000000000"));
}

TEST_CASE("filter process: an empty data packet inside content adds nothing") {
    const auto o = run_server(handshake() + packet("command=clean\n") + packet("pathname=p.yaml\n") + flush + packet("ab") +
                              "0004" + packet("c") + flush);
    CHECK(o.exit_code == 0);
    const auto got = parse(o.out);
    CHECK(std::vector<std::string>(got.begin() + 6, got.end()) == success("ABC"));
}

TEST_CASE("filter process: a 1 MiB file spans packets both ways") {
    std::string big(1 << 20, 'a');
    for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = 'q';
    std::string upper = big;
    for (auto& c : upper) c = static_cast<char>(std::toupper(c));
    const auto o = run_server(handshake() + request("clean", "big.yaml", big) + request("clean", "after.yaml", "z"));
    CHECK(o.exit_code == 0);
    const auto got = parse(o.out);
    // hello (3) + caps (3) + status (2) + 17 content packets + 2 flushes + the next file (5)
    REQUIRE(got.size() == 6 + 2 + 17 + 2 + 5);
    std::string joined;
    for (std::size_t i = 8; i < 8 + 17; ++i) {
        CHECK(got[i].size() <= pkt::max_payload);
        joined += got[i];
    }
    CHECK(joined.size() == upper.size());
    CHECK(joined == upper);
    CHECK(std::vector<std::string>(got.end() - 5, got.end()) == success("Z"));
}

TEST_CASE("filter process: a handler error answers status=error and the next file is served") {
    const auto o = run_server(handshake() + request("clean", "error.yaml", "secret") + request("smudge", "ok.yaml", "OK"));
    CHECK(o.exit_code == 0);
    const auto got = parse(o.out);
    CHECK(std::vector<std::string>(got.begin() + 6, got.end()) ==
          cat({"status=error", "0000"}, success("ok")));
    CHECK(o.err == "git-sops: error.yaml: cannot filter this one\n");
}

TEST_CASE("filter process: end of input inside a request fails at once, never hangs") {
    using namespace std::chrono_literals;
    const std::string start = handshake() + packet("command=clean\n") + packet("pathname=cut.yaml\n") + flush;
    SECTION("mid-content, at a packet boundary") {
        const auto o = run_server(start + packet("first part"));
        CHECK(o.exit_code == exit_code::could_not_read_input);
        CHECK_THAT(o.err, Catch::Contains("unexpected end of input in the content of cut.yaml"));
        CHECK(o.took < 2000ms);
    }
    SECTION("inside a packet") {
        const auto o = run_server(start + "0010abc");
        CHECK(o.exit_code == exit_code::could_not_read_input);
        CHECK_THAT(o.err, Catch::Contains("got 7 of 16 bytes"));
    }
    SECTION("inside the key=value list") {
        const auto o = run_server(handshake() + packet("command=clean\n"));
        CHECK(o.exit_code != 0);
        CHECK_THAT(o.err, Catch::Contains("unexpected end of input"));
    }
    SECTION("during the handshake") {
        const auto o = run_server(packet("git-filter-client\n") + packet("version=2\n"));
        CHECK(o.exit_code != 0);
        CHECK_THAT(o.err, Catch::Contains("unexpected end of input"));
        const auto none = run_server("");
        CHECK(none.exit_code != 0);
    }
}

TEST_CASE("filter process: malformed packets end the process with a message") {
    using namespace std::chrono_literals;
    // stdin stays open: the server must fail on what it read, not wait for more.
    auto o = run_server("00zz", true, 3000ms);
    CHECK(o.exit_code == exit_code::could_not_read_input);
    CHECK(o.err == "git-sops: filter-process: invalid pkt-line length '00zz' (expected 4 hex digits)\n");
    CHECK(o.took < 1000ms);

    o = run_server(handshake() + "0003", true, 3000ms);
    CHECK(o.exit_code != 0);
    CHECK_THAT(o.err, Catch::Contains("unexpected special pkt-line '0003'"));

    o = run_server(handshake() + "fff5", true, 3000ms);
    CHECK(o.exit_code != 0);
    CHECK_THAT(o.err, Catch::Contains("exceeds the maximum of 65520"));

    o = run_server(handshake() + packet("no equals sign\n") + flush, true, 3000ms);
    CHECK(o.exit_code != 0);
    CHECK_THAT(o.err, Catch::Contains("malformed request entry 'no equals sign'"));

    o = run_server(handshake() + flush, true, 3000ms);
    CHECK_THAT(o.err, Catch::Contains("request without command and pathname"));

    o = run_server(handshake() + packet("command=clean\n") + flush, true, 3000ms);
    CHECK_THAT(o.err, Catch::Contains("without a pathname"));

    o = run_server(handshake() + packet("command=list_available_blobs\n") + packet("pathname=x\n") + flush, true, 3000ms);
    CHECK_THAT(o.err, Catch::Contains("unsupported filter command 'list_available_blobs'"));
}

TEST_CASE("dispatch routes textconv to smudge unless the handler overrides it") {
    TestHandler h;
    FilterRequest r;
    r.command = "textconv";
    r.pathname = "/tmp/git-blob-x/s.yaml";
    r.content = secure_copy("ABC");
    CHECK(view_of(dispatch(h, r)) == "abc");
    r.command = "merge";
    CHECK_THROWS_WITH(dispatch(h, r), Catch::Contains("unsupported filter command 'merge'"));
}
