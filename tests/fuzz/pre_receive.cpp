// The pre-receive hook's stdin parser (git::parse_ref_updates in src/git/scan.hpp).
// Properties: bad lines are rejected with gitsops::Error only; every accepted update has two hex
// ids of the same length (40 or 64) and a non-empty ref without spaces; there is one update per
// non-blank line; writing the updates back as lines ("old new ref" CRLF: exactly one CR is
// stripped, so CRLF keeps a ref ending in CR intact) parses to the same updates.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "git/scan.hpp"

using namespace gitsops;
using gitsops::git::RefUpdate;

namespace {

bool same(const std::vector<RefUpdate>& a, const std::vector<RefUpdate>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const RefUpdate& x, const RefUpdate& y) {
        return x.old_id == y.old_id && x.new_id == y.new_id && x.ref == y.ref;
    });
}

bool hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::size_t non_blank_lines(std::string_view text) {
    std::size_t n = 0;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        if (line.ends_with('\r')) line.remove_suffix(1);
        n += !line.empty();
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    }
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::text_of(data, size);
    std::vector<RefUpdate> updates;
    try {
        updates = git::parse_ref_updates(text);
    } catch (const Error&) {
        return 0;
    }
    FUZZ_CHECK(updates.size() == non_blank_lines(text));
    std::string again;
    for (const RefUpdate& u : updates) {
        FUZZ_CHECK(u.old_id.size() == 40 || u.old_id.size() == 64);
        FUZZ_CHECK(u.new_id.size() == u.old_id.size());
        FUZZ_CHECK(hex(u.old_id) && hex(u.new_id));
        FUZZ_CHECK(!u.ref.empty() && u.ref.find(' ') == std::string::npos && u.ref.find('\n') == std::string::npos);
        FUZZ_CHECK(u.creates() == (u.old_id.find_first_not_of('0') == std::string::npos));
        FUZZ_CHECK(u.deletes() == (u.new_id.find_first_not_of('0') == std::string::npos));
        again += u.old_id + ' ' + u.new_id + ' ' + u.ref + "\r\n";
    }
    FUZZ_CHECK(same(git::parse_ref_updates(again), updates));
    return 0;
}
