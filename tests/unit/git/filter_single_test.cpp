// The single-shot transports share dispatch() and the error line with the process server.
#include <catch2/catch.hpp>

#include "base/error.hpp"
#include "git/filter_single.hpp"
#include "git/harness.hpp"

using namespace gitsops;
using namespace gitsops::git;
using namespace testgit;

namespace {

class Reverse final : public FilterHandler {
public:
    SecureBytes clean(const FilterRequest& r) override {
        if (r.pathname == "bad.yaml") throw Error("refusing a plaintext Secret");
        return SecureBytes(r.content.rbegin(), r.content.rend());
    }
    SecureBytes smudge(const FilterRequest& r) override { return secure_copy("smudged " + r.pathname); }
    SecureBytes textconv(const FilterRequest& r) override { return secure_copy("text of " + std::string(view_of(r.content))); }
};

}  // namespace

TEST_CASE("single-shot clean and smudge: stdin to stdout through the handler") {
    Reverse h;
    Feed in("abc");
    Sink out, err;
    CHECK(run_filter_single(h, "clean", "ok.yaml", in.fd(), out.fd(), err.fd()) == 0);
    CHECK(out.text() == "cba");
    CHECK(err.text().empty());

    Feed in2("");
    Sink out2, err2;
    CHECK(run_filter_single(h, "smudge", "-dash.yaml", in2.fd(), out2.fd(), err2.fd()) == 0);
    CHECK(out2.text() == "smudged -dash.yaml");
}

TEST_CASE("single-shot: a handler error is one line and a nonzero exit, nothing on stdout") {
    Reverse h;
    Feed in("kind: Secret");
    Sink out, err;
    CHECK(run_filter_single(h, "clean", "bad.yaml", in.fd(), out.fd(), err.fd()) == exit_code::generic);
    CHECK(out.text().empty());
    CHECK(err.text() == "git-sops: bad.yaml: refusing a plaintext Secret\n");

    Feed in2("x");
    Sink out2, err2;
    CHECK(run_filter_single(h, "clean", "", in2.fd(), out2.fd(), err2.fd()) == 0);  // no %f: still served
}

TEST_CASE("textconv reads the file git names") {
    TempDir t;
    write_text(t / "s.yaml", "a: 1");
    Reverse h;
    Sink out, err;
    CHECK(run_textconv(h, t / "s.yaml", out.fd(), err.fd()) == 0);
    CHECK(out.text() == "text of a: 1");

    Sink out2, err2;
    CHECK(run_textconv(h, t / "missing.yaml", out2.fd(), err2.fd()) == exit_code::no_file);
    CHECK_THAT(err2.text(), Catch::StartsWith("git-sops: ") && Catch::Contains("missing.yaml"));
}
