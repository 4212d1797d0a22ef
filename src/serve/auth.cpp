#include "serve/auth.h"

#include <fstream>
#include <sstream>

#include "gliclass/error.h"

namespace gliclass::serve {

std::string read_api_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("serve: cannot read the API key file '" + path + "'");
  std::stringstream buf;
  buf << in.rdbuf();
  std::string key = buf.str();
  const auto b = key.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) throw InputError("serve: the API key file '" + path + "' is empty");
  key = key.substr(b, key.find_last_not_of(" \t\r\n") - b + 1);
  if (key.find_first_of(" \t\r\n") != std::string::npos)
    throw InputError("serve: the API key in '" + path + "' holds whitespace (expected one token)");
  return key;
}

bool bearer_matches(const std::string& authorization, const std::string& key) {
  static const std::string kScheme = "Bearer ";
  if (key.empty() || authorization.size() != kScheme.size() + key.size()) return false;
  if (authorization.compare(0, kScheme.size(), kScheme) != 0) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < key.size(); ++i)
    diff |= static_cast<unsigned char>(authorization[kScheme.size() + i] ^ key[i]);
  return diff == 0;
}

}  // namespace gliclass::serve
