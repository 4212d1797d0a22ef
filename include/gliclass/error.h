// Errors thrown by the library. Messages read "component: what (expected X, got Y)".
#pragma once
#include <stdexcept>
#include <string>

namespace gliclass {

// Base of every error the library throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller's input is wrong (labels, text, options): a 4xx for a server.
class InputError : public Error {
 public:
  using Error::Error;
};

// A model directory or file is wrong (config, weights, tokenizer files).
class ModelError : public Error {
 public:
  using Error::Error;
};

}  // namespace gliclass
