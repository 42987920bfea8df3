// The yaml store (src/sops/yaml_store.hpp), loaded then emitted: see store_harness.hpp.
#include "store_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return fuzz::run_store(gitsops::sops::Format::yaml, data, size);
}
