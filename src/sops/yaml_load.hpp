// Reading YAML into sops document trees: yaml-cpp parses the structure, the scalars are typed as
// go-yaml v3 types them (yaml_scalar.hpp), and comments, which yaml-cpp drops, are read from the
// source text and placed where sops' YAML store puts go-yaml's head/line/foot comments:
//
// * `key: value # c` and `- value # c`: an inline comment item just before that item;
// * `key: # c` above a nested block: a comment item before the item;
// * own-line comments: before the next item of the collection that item belongs to, or, when
//   the next item is further out (a dedent), at the end of the deepest closed block whose
//   indentation is at most the comment's column;
// * a comment right above a nested collection that is a mapping value opens that collection;
//   one above a sequence element stays in the sequence;
// * after the last item of a document: at the end of the deepest block whose indentation is at
//   most the comment's column, or at the end of the document after a blank line.
#pragma once

#include <string_view>

#include "sops/tree.hpp"

namespace gitsops::sops::yaml {

// Throws Error("<line>:<column>: <what>", could_not_read_input); messages never quote values.
// Empty input (or only comments) gives no documents; "---" alone gives one empty mapping.
Documents load_documents(std::string_view text);

}  // namespace gitsops::sops::yaml
