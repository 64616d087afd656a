// Reading a whole text input file (SA file, --config, --oids) with the same one-line errors for each, and
// JSON syntax errors reported as FILE:LINE:COLUMN (docs/errors.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ov2 {

// The file's bytes. Throws InputError: "cannot open: no such file; expected an existing NOUN", a directory,
// or an unreadable file. `a_noun` is the noun with its article ("an SA file", "a JSON config file").
std::string read_text_file(const std::string& path, const std::string& a_noun, const std::string& noun);

// `text` (read from `file`) parsed as JSON. Throws InputError for a syntax error (FILE:LINE:COLUMN: JSON:
// nlohmann's problem without the input it quotes, which could be key material; expected the token it
// names) and for a number beyond a double (FILE:LINE).
nlohmann::json parse_json_text(const std::string& text, const std::string& file);

}  // namespace ov2
