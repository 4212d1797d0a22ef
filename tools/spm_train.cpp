// gliclass-spm-train: trains a SentencePiece model with libsentencepiece's
// trainer. It is its own executable because libsentencepiece bundles
// protobuf 3.14, which crashes a process that also loads LibTorch's protobuf
// 3.21; `gliclass init` runs it as a child process.
//
// Usage: gliclass-spm-train --key=value ...  (the trainer's own flags, e.g.
// --input=FILE --model_prefix=PREFIX --vocab_size=8000; values may hold spaces).
#include <sentencepiece_trainer.h>

#include <iostream>
#include <string>
#include <unordered_map>

int main(int argc, char** argv) {
  std::unordered_map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      std::cerr << "gliclass-spm-train: expected --key=value, got \"" << arg << "\"\n";
      return 2;
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  if (!flags.count("input") || !flags.count("model_prefix")) {
    std::cerr << "usage: gliclass-spm-train --input=FILE --model_prefix=PREFIX [--key=value ...]\n";
    return 2;
  }
  const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
  if (!status.ok()) {
    std::cerr << "gliclass-spm-train: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
