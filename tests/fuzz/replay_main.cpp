// Replays inputs through a fuzz harness without libFuzzer: every regular file under the folders
// (or files) given on the command line, in sorted order, is passed to LLVMFuzzerTestOneInput.
// A harness reports a broken property by aborting, so a failing input fails the CTest test; the
// name of each input is printed first so that the log says which one it was.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// A missing folder counts as empty: regressions/<harness>/ exists only once a bug was found.
std::vector<fs::path> inputs_under(const fs::path& root) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) return {root};
    if (!fs::is_directory(root, ec)) {
        std::printf("(no folder %s)\n", root.c_str());
        return out;
    }
    for (const auto& entry : fs::recursive_directory_iterator(root, ec))
        if (entry.is_regular_file()) out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::uint8_t> read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        for (const fs::path& path : inputs_under(argv[i])) {
            std::printf("replay %s\n", path.c_str());
            std::fflush(stdout);
            const std::vector<std::uint8_t> data = read_all(path);
            LLVMFuzzerTestOneInput(data.data(), data.size());
            ++count;
        }
    }
    std::printf("%zu inputs replayed\n", count);
    // Nothing replayed means the corpus paths are wrong, which must not pass silently.
    return count == 0 ? 1 : 0;
}
