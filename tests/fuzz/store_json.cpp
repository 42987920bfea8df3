// The json store (src/sops/json_store.hpp), loaded then emitted: see store_harness.hpp.
#include "store_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::run_store(gitsops::sops::Format::json, data, size);
}
