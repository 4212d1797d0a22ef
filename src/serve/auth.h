// Optional API key: clients send "Authorization: Bearer <key>".
#pragma once
#include <string>

namespace gliclass::serve {

// The key in a file (surrounding whitespace dropped). InputError when the file
// cannot be read or holds no key.
std::string read_api_key_file(const std::string& path);

// True when `authorization` is "Bearer <key>". Compares in time independent
// of where the strings differ.
bool bearer_matches(const std::string& authorization, const std::string& key);

}  // namespace gliclass::serve
