// The clean cache: keyed digests, persistence, merging concurrent writers, capacity, damaged
// files and the lock.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <utime.h>

#include <string>

#include "base/error.hpp"
#include "git/clean_cache.hpp"
#include "git/harness.hpp"

using namespace gitsops;
using namespace gitsops::git;
using namespace testgit;

namespace {

Oid oid_of(std::uint8_t fill) {
    std::array<std::uint8_t, Oid::size> raw{};
    raw.fill(fill);
    return Oid(raw);
}

std::span<const std::uint8_t> bytes(std::string_view s) { return bytes_of(s); }

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("clean cache: a private folder, a 0600 key and a 0600 record file") {
    TempDir tmp;
    const fs::path dir = tmp / "common/git-sops";
    CleanCache cache(dir);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(CleanCache::key_file(dir)) == 0600);
    CHECK(fs::file_size(CleanCache::key_file(dir)) == 32);
    CHECK_FALSE(fs::exists(CleanCache::data_file(dir)));  // nothing written before a flush

    cache.remember(cache.digest("a.yaml", bytes("x: 1\n")), oid_of(1));
    CHECK(cache.flush());
    CHECK(mode_of(CleanCache::data_file(dir)) == 0600);
    CHECK(fs::file_size(CleanCache::data_file(dir)) == clean_cache_detail::magic.size() + clean_cache_detail::record_size);
}

TEST_CASE("clean cache: digests are keyed and bind path and content") {
    TempDir tmp;
    CleanCache a(tmp / "a"), b(tmp / "b");
    const auto d = a.digest("s.yaml", bytes("password: hunter2\n"));
    CHECK(d == a.digest("s.yaml", bytes("password: hunter2\n")));
    CHECK(d != a.digest("t.yaml", bytes("password: hunter2\n")));
    CHECK(d != a.digest("s.yaml", bytes("password: hunter3\n")));
    CHECK(a.digest("ab", bytes("c")) != a.digest("a", bytes("bc")));  // the path is length-prefixed
    CHECK(d != b.digest("s.yaml", bytes("password: hunter2\n")));   // another repository, another key
    // The same folder opened again reads the same key.
    CleanCache again(tmp / "a");
    CHECK(again.digest("s.yaml", bytes("password: hunter2\n")) == d);
}

TEST_CASE("clean cache: entries survive the process, later ones win") {
    TempDir tmp;
    const auto digest_of = [&](CleanCache& c) { return c.digest("p.yaml", bytes("v: 1\n")); };
    {
        CleanCache cache(tmp.path());
        cache.remember(digest_of(cache), oid_of(1));
        CHECK(cache.find(digest_of(cache)) == oid_of(1));
        cache.remember(digest_of(cache), oid_of(2));
        CHECK(cache.find(digest_of(cache)) == oid_of(2));
        CHECK(cache.flush());
        CHECK_FALSE(cache.dirty());
    }
    CleanCache reopened(tmp.path());
    CHECK(reopened.size() == 1);
    CHECK(reopened.find(digest_of(reopened)) == oid_of(2));
    CHECK_FALSE(reopened.find(reopened.digest("p.yaml", bytes("v: 2\n"))));
}

TEST_CASE("clean cache: two processes flushing keep both their entries") {
    TempDir tmp;
    CleanCache first(tmp.path()), second(tmp.path());
    const auto x = first.digest("x.yaml", bytes("x\n")), y = second.digest("y.yaml", bytes("y\n"));
    first.remember(x, oid_of(7));
    second.remember(y, oid_of(8));
    CHECK(first.flush());
    CHECK(second.flush());
    CHECK(second.find(x) == oid_of(7));  // flush merges what the other wrote meanwhile
    CleanCache third(tmp.path());
    CHECK(third.find(x) == oid_of(7));
    CHECK(third.find(y) == oid_of(8));
}

TEST_CASE("clean cache: the oldest entries go beyond the capacity") {
    TempDir tmp;
    {
        CleanCache cache(tmp.path(), 3);
        for (std::uint8_t i = 1; i <= 5; ++i) cache.remember(cache.digest("f" + std::to_string(i), bytes("c")), oid_of(i));
        CHECK(cache.flush());
        CHECK(cache.size() == 3);
    }
    CleanCache cache(tmp.path(), 3);
    CHECK_FALSE(cache.find(cache.digest("f1", bytes("c"))));
    CHECK_FALSE(cache.find(cache.digest("f2", bytes("c"))));
    CHECK(cache.find(cache.digest("f5", bytes("c"))) == oid_of(5));
    // Touching an old entry again makes it the newest.
    cache.remember(cache.digest("f3", bytes("c")), oid_of(33));
    cache.remember(cache.digest("f6", bytes("c")), oid_of(6));
    CHECK(cache.flush());
    CHECK(cache.find(cache.digest("f3", bytes("c"))) == oid_of(33));
    CHECK_FALSE(cache.find(cache.digest("f4", bytes("c"))));
}

TEST_CASE("clean cache: damaged files") {
    TempDir tmp;
    {
        CleanCache cache(tmp.path());
        cache.remember(cache.digest("a", bytes("1")), oid_of(1));
        cache.remember(cache.digest("b", bytes("2")), oid_of(2));
        CHECK(cache.flush());
    }
    SECTION("a torn last record is dropped, the others kept") {
        const std::string text = read_text(CleanCache::data_file(tmp.path()));
        write_text(CleanCache::data_file(tmp.path()), text.substr(0, text.size() - 5));
        CleanCache cache(tmp.path());
        CHECK(cache.size() == 1);
        CHECK(cache.find(cache.digest("a", bytes("1"))) == oid_of(1));
    }
    SECTION("a record file with a wrong magic counts as empty") {
        write_text(CleanCache::data_file(tmp.path()), "garbage that is not a cache at all, long enough for records");
        CleanCache cache(tmp.path());
        CHECK(cache.size() == 0);
        cache.remember(cache.digest("c", bytes("3")), oid_of(3));
        CHECK(cache.flush());  // and is replaced by a good one
        CHECK(CleanCache(tmp.path()).size() == 1);
    }
    SECTION("a key of the wrong size is an error naming the file") {
        write_text(CleanCache::key_file(tmp.path()), "short");
        try {
            CleanCache cache(tmp.path());
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("clean-cache.key") != std::string::npos);
        }
    }
    SECTION("parse and serialise are inverse") {
        std::vector<std::pair<CleanCache::Digest, Oid>> records(2);
        records[0].first.fill(0xaa);
        records[0].second = oid_of(1);
        records[1].first.fill(0xbb);
        records[1].second = oid_of(2);
        const auto file = clean_cache_detail::serialise(records);
        CHECK(clean_cache_detail::parse(file) == records);
        CHECK(clean_cache_detail::parse(std::span(file).first(4)).empty());
    }
}

TEST_CASE("clean cache: the lock") {
    TempDir tmp;
    CleanCache cache(tmp.path());
    const fs::path lock = tmp / "clean-cache.lock";
    cache.remember(cache.digest("a", bytes("1")), oid_of(1));
    SECTION("held by a live process: flush gives up and keeps the entries for later") {
        write_text(lock, "");
        CHECK_FALSE(cache.flush());
        CHECK(cache.dirty());
        CHECK_FALSE(fs::exists(CleanCache::data_file(tmp.path())));
        fs::remove(lock);
        CHECK(cache.flush());
        CHECK(CleanCache(tmp.path()).size() == 1);
    }
    SECTION("left by a dead process long ago: taken over") {
        write_text(lock, "");
        struct utimbuf old {};
        old.actime = old.modtime = 1000000000;  // 2001
        REQUIRE(::utime(lock.c_str(), &old) == 0);
        CHECK(cache.flush());
        CHECK_FALSE(fs::exists(lock));
    }
}
