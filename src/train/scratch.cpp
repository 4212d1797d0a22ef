#include "train/scratch.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "gliclass/error.h"
#include "io/config.h"
#include "model/model.h"
#include "tokenize/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"

extern char** environ;

namespace gliclass::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSpmTool = "gliclass-spm-train";
const char* const kMarkers[] = {"<<LABEL>>", "<<SEP>>", "<<EXAMPLE>>"};

// gliclass-spm-train beside the running executable (the build or install
// directory), else whatever PATH finds.
std::string spm_tool_path() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::is_regular_file(self.parent_path() / kSpmTool)) return (self.parent_path() / kSpmTool).string();
  return kSpmTool;
}

std::string tail_of(const fs::path& file, size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? "..." + s.substr(s.size() - max_bytes) : s;
}

// Runs `args` (no shell) with stdout and stderr into `log`; returns the exit status.
int run_logged(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0)
    throw InputError("init: cannot run " + args[0] + " (" + std::strerror(err) +
                     "; it is built beside the gliclass executable)");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

json added_token(const std::string& content, bool normalized) {
  return {{"content", content}, {"lstrip", false}, {"normalized", normalized},
          {"rstrip", false},    {"single_word", false}, {"special", true}};
}

void write_json(const fs::path& file, const json& j) { write_file_synced(file, j.dump(2) + "\n"); }

// What DebertaV2Tokenizer.save_pretrained writes after train.py's add_tokens.
void write_deberta_configs(const fs::path& dir, int64_t pieces) {
  json decoder = json::object();
  const char* const specials[] = {"[PAD]", "[CLS]", "[SEP]", "[UNK]"};
  for (int i = 0; i < 4; ++i) decoder[std::to_string(i)] = added_token(specials[i], i == 3);
  decoder[std::to_string(pieces)] = added_token("[MASK]", false);
  json added = {{"[MASK]", pieces}};
  for (int i = 0; i < 3; ++i) {
    decoder[std::to_string(pieces + 1 + i)] = added_token(kMarkers[i], false);
    added[kMarkers[i]] = pieces + 1 + i;
  }
  json config = {{"added_tokens_decoder", decoder},
                 {"additional_special_tokens", {kMarkers[0], kMarkers[1], kMarkers[2]}},
                 {"bos_token", "[CLS]"},
                 {"clean_up_tokenization_spaces", false},
                 {"cls_token", "[CLS]"},
                 {"do_lower_case", false},
                 {"eos_token", "[SEP]"},
                 {"mask_token", "[MASK]"},
                 {"model_max_length", 1024},
                 {"pad_token", "[PAD]"},
                 {"sep_token", "[SEP]"},
                 {"split_by_punct", false},
                 {"tokenizer_class", "DebertaV2Tokenizer"},
                 {"unk_token", "[UNK]"},
                 {"vocab_type", "spm"}};
  json special_map = {{"additional_special_tokens", {kMarkers[0], kMarkers[1], kMarkers[2]}},
                      {"bos_token", "[CLS]"}, {"cls_token", "[CLS]"}, {"eos_token", "[SEP]"},
                      {"mask_token", "[MASK]"}, {"pad_token", "[PAD]"}, {"sep_token", "[SEP]"},
                      {"unk_token", "[UNK]"}};
  write_json(dir / "tokenizer_config.json", config);
  write_json(dir / "special_tokens_map.json", special_map);
  write_json(dir / "added_tokens.json", added);
}

// Texts and labels of the training files, one line each (the spm corpus).
std::vector<std::string> corpus_sentences(const std::vector<fs::path>& files) {
  std::vector<std::string> out;
  for (const auto& file : files) {
    for (const auto& ex : load_examples(file)) {
      out.push_back(ex.text);
      for (const auto& label : ex.all_labels) out.push_back(label);
    }
  }
  return out;
}

}  // namespace

void train_spm_tokenizer(const std::vector<std::string>& sentences, const fs::path& dir, int64_t vocab_size) {
  if (vocab_size < 8) throw InputError("init: vocab size must be at least 8 (got " + std::to_string(vocab_size) + ")");
  fs::create_directories(dir);
  const fs::path corpus = dir / "spm-corpus.txt", log = dir / "spm-train.log";
  {
    std::ofstream out(corpus, std::ios::binary);
    for (std::string s : sentences) {
      for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
      out << s << '\n';
    }
    if (!out) throw InputError("init: cannot write " + corpus.string());
  }
  // DeBERTa-v3's layout: the four specials first, unigram, nmt_nfkc; every
  // sentence used (no sampling), so the result depends on the corpus alone.
  const std::vector<std::string> args = {spm_tool_path(),
                                         "--input=" + corpus.string(),
                                         "--model_prefix=" + (dir / "spm").string(),
                                         "--vocab_size=" + std::to_string(vocab_size),
                                         "--model_type=unigram",
                                         "--normalization_rule_name=nmt_nfkc",
                                         "--character_coverage=0.9999",
                                         "--input_sentence_size=0",
                                         "--max_sentence_length=65536",
                                         "--hard_vocab_limit=false",
                                         "--pad_id=0", "--bos_id=1", "--eos_id=2", "--unk_id=3",
                                         "--pad_piece=[PAD]", "--bos_piece=[CLS]",
                                         "--eos_piece=[SEP]", "--unk_piece=[UNK]",
                                         "--num_threads=2"};
  const int status = run_logged(args, log);
  if (status != 0 || !fs::is_regular_file(dir / "spm.model"))
    throw InputError("init: training the SentencePiece tokenizer failed (exit " + std::to_string(status) +
                     "): " + tail_of(log, 600));
  fs::remove(corpus);
  fs::remove(log);
  fs::remove(dir / "spm.vocab");
  // hard_vocab_limit=false may give fewer pieces than asked on a small corpus.
  const auto tok = tokenize::load_sentencepiece(dir);  // reads spm.model only so far
  write_deberta_configs(dir, static_cast<int64_t>(tok->vocab_size()));
}

void init_weights(torch::nn::Module& model, const std::string& encoder_prefix, double encoder_std,
                  double heads_std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    torch::Tensor t = p.value();
    const auto dot = name.rfind('.');
    const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    const double std = name.rfind(encoder_prefix, 0) == 0 ? encoder_std : heads_std;
    if (leaf == "bias") {
      t.zero_();
    } else if (leaf == "weight" && t.dim() >= 2) {
      t.normal_(0.0, std, gen);
    } else if (leaf == "weight" && t.dim() == 1) {
      t.fill_(1.0);  // LayerNorm / RMSNorm scale
    }
    // Anything else (logit_scale, LSTM gates) keeps its constructor's value.
  }
}

int64_t init_model_dir(const ScratchOptions& options) {
  if (options.corpus_files.empty() == options.tokenizer_dir.empty())
    throw InputError("init: give either training files to train a tokenizer on, or a tokenizer directory");
  io::GLiClassConfig config = io::GLiClassConfig::from_file(options.config_file);
  int64_t count = 0;
  write_dir_atomically(options.out_dir, [&](const fs::path& tmp) {
    fs::path tokenizer_dir = options.tokenizer_dir;
    if (tokenizer_dir.empty()) {
      tokenizer_dir = tmp / "tokenizer";
      train_spm_tokenizer(corpus_sentences(options.corpus_files), tokenizer_dir, options.vocab_size);
    }
    const auto tok = tokenize::Tokenizer::from_dir(tokenizer_dir);
    int64_t ids[3];
    int64_t rows = static_cast<int64_t>(tok->vocab_size());
    for (int i = 0; i < 3; ++i) {
      // An added token encodes to itself alone (token_to_id may answer the
      // unknown piece's id for a string the vocabulary lacks).
      const auto id = tok->token_to_id(kMarkers[i]);
      const auto enc = tok->encode(kMarkers[i]);
      if (!id || enc.size() != 1 || enc.ids[0] != *id)
        throw InputError("init: the tokenizer in " + tokenizer_dir.string() + " has no " + kMarkers[i] +
                         " token (GLiClass needs <<LABEL>>, <<SEP>> and <<EXAMPLE>>)");
      ids[i] = *id;
      rows = std::max(rows, *id + 1);
    }
    config.encoder_config["vocab_size"] = rows;
    config.encoder_config["pad_token_id"] = tok->pad_id();
    config.vocab_size = rows;
    config.class_token_index = ids[0];
    config.text_token_index = ids[1];
    config.example_token_index = ids[2];
    config.encoder_model_name = "";
    auto model = model::make_model(config);
    init_weights(*model, "encoder_model.", config.encoder_config.value("initializer_range", 0.02),
                 config.initializer_range, options.seed);
    for (const auto& p : model->parameters()) count += p.numel();
    write_model_files(tmp, *model, config, tokenizer_dir);
    if (options.tokenizer_dir.empty()) fs::remove_all(tokenizer_dir);
  });
  return count;
}

}  // namespace gliclass::train
