#include "classifier_flags.h"

namespace gliclass::cli {

namespace {
constexpr const char* kSingleAdapter = "adapter";  // the id of classify/eval's --adapter
}  // namespace

void EngineFlags::add_to(CLI::App& cmd, bool named_adapters) {
  if (named_adapters) {
    cmd.add_option("--adapter", adapters, "LoRA adapter NAME=DIR (PEFT layout); repeat for more; requests pick one "
                                          "with \"adapter_id\"");
  } else {
    cmd.add_option("--adapter", adapters, "LoRA adapter directory (PEFT layout) applied to every text")
        ->expected(1);
    cmd.add_flag("--merge-adapter", merge_adapter, "Merge --adapter into the weights at load (W += s B A)");
  }
  cmd.add_option("--threads", threads, "CPU threads (0 = every CPU this process may use)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--dtype", dtype, "Linear layers in fp32 (reference parity), bf16 or int8 (faster)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}))
      ->capture_default_str();
  cmd.add_option("--max-batch-tokens", max_batch_tokens,
                 "Padded tokens per forward pass (texts x the longest), 0 = no cap")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--max-length", max_length, "Tokens per forward pass")
      ->check(CLI::Range(8, 1 << 20))
      ->capture_default_str();
  cmd.add_option("--label-cache-mb", label_cache_mb, "Bi-encoders: MiB of label vectors kept for reuse (0 = none)")
      ->capture_default_str();
}

ClassifierOptions EngineFlags::options() const {
  ClassifierOptions o;
  o.threads = threads;
  o.dtype = dtype_from_name(dtype);
  o.max_batch_tokens = max_batch_tokens;
  o.max_length = max_length;
  o.label_cache_bytes = label_cache_mb << 20;
  for (const auto& spec : adapters) {
    if (merge_adapter) {
      o.merged_adapter = spec;
    } else if (adapters.size() == 1 && spec.find('=') == std::string::npos) {
      o.adapters[kSingleAdapter] = spec;
    } else {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0)
        throw InputError("cli: --adapter '" + spec + "' is not NAME=DIR");
      if (!o.adapters.emplace(spec.substr(0, eq), spec.substr(eq + 1)).second)
        throw InputError("cli: two adapters named '" + spec.substr(0, eq) + "'");
    }
  }
  return o;
}

std::string EngineFlags::adapter_id() const {
  return adapters.size() == 1 && !merge_adapter && adapters[0].find('=') == std::string::npos ? kSingleAdapter : "";
}

void ChunkingFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--text-chunk-size", text_chunk_size,
                 "Score long texts in windows of this many units and combine per label (0 = cut at --max-length)")
      ->capture_default_str();
  overlap_option = cmd.add_option("--overlap", overlap, "Units shared by neighbouring windows (default: 1/8 window)");
  cmd.add_option("--chunk-unit", unit, "Window unit: chars (Unicode characters, as the reference) or tokens")
      ->check(CLI::IsMember({"chars", "tokens"}))
      ->capture_default_str();
  cmd.add_option("--window-combine", combine, "Per label over windows: max (the reference) or mean")
      ->check(CLI::IsMember({"max", "mean"}))
      ->capture_default_str();
  cmd.add_option("--labels-chunk-size", labels_chunk_size,
                 "Labels per forward pass (0 = as many as leave half of --max-length to the text)")
      ->capture_default_str();
}

void ChunkingFlags::apply_to(ClassifyOptions& o) const {
  o.chunking.size = text_chunk_size;
  if (overlap_option && overlap_option->count() > 0) o.chunking.overlap = overlap;
  o.chunking.unit = chunk_unit_from_name(unit);
  o.chunking.combine = window_combine_from_name(combine);
  o.labels_chunk_size = labels_chunk_size;
}

}  // namespace gliclass::cli
