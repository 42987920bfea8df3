// base/process: environment filtering, spawning from an argument vector, exit statuses.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/error.hpp"
#include "base/process.hpp"

using namespace gitsops;

namespace {
bool has(const std::vector<std::string>& env, std::string_view entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
}
bool has_name(const std::vector<std::string>& env, std::string_view name) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(std::string(name) + "=", 0) == 0; });
}
}  // namespace

TEST_CASE("environment drops named variables only and lets `set` replace") {
    ::setenv("GS_TEST_KEY", "secret", 1);
    ::setenv("GS_TEST_KEY_FILE", "/path", 1);
    ::setenv("GS_TEST_OTHER", "old", 1);
    const auto env = process::environment({"GS_TEST_KEY"}, {"GS_TEST_OTHER=new", "GS_TEST_ADDED=1"});
    CHECK_FALSE(has_name(env, "GS_TEST_KEY"));
    CHECK(has(env, "GS_TEST_KEY_FILE=/path"));  // a longer name is another variable
    CHECK(has(env, "GS_TEST_OTHER=new"));
    CHECK_FALSE(has(env, "GS_TEST_OTHER=old"));
    CHECK(has(env, "GS_TEST_ADDED=1"));
}

TEST_CASE("spawn runs an argument vector without a shell and wait reports the status") {
    const auto env = process::environment();
    CHECK(process::wait(process::spawn({"true"}, env)).ok());
    const auto three = process::wait(process::spawn({"sh", "-c", "exit 3"}, env));
    CHECK_FALSE(three.ok());
    CHECK(three.code() == 3);
    CHECK(three.describe() == "exit status 3");
    const auto killed = process::wait(process::spawn({"sh", "-c", "kill -9 $$"}, env));
    CHECK(killed.signaled());
    CHECK(killed.signal() == 9);
    CHECK(killed.describe() == "killed by signal 9");
    // `;` and `$(...)` are plain characters in an argument vector.
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    process::Stdio io;
    io.out = p[1];
    io.in_from_dev_null = true;
    const pid_t pid = process::spawn({"echo", "a;$(id)"}, env, io);
    ::close(p[1]);
    char buf[64] = {};
    const ssize_t n = ::read(p[0], buf, sizeof buf - 1);
    ::close(p[0]);
    CHECK(process::wait(pid).ok());
    CHECK(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) == "a;$(id)\n");
}

TEST_CASE("a program that cannot start: errno, or an Error naming it") {
    int err = 0;
    CHECK(process::spawn({"git-sops-no-such-program"}, process::environment(), {}, &err) == -1);
    CHECK(err == ENOENT);
    CHECK_THROWS_WITH(process::spawn({"git-sops-no-such-program"}, process::environment()),
                      Catch::Contains("cannot start git-sops-no-such-program"));
    CHECK_THROWS_AS(process::spawn({}, process::environment()), Error);
}
