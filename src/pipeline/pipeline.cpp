#include "pipeline/pipeline.h"

#include "gliclass/error.h"
#include "pipeline/bi_encoder_pipeline.h"
#include "pipeline/decoder_kv_pipeline.h"
#include "pipeline/encoder_decoder_pipeline.h"
#include "pipeline/uni_encoder_pipeline.h"

namespace gliclass::pipeline {

std::unique_ptr<Pipeline> make_pipeline(PipelineParts parts) {
  const std::string arch = parts.config.architecture_type;
  if (arch == "uni-encoder") return std::make_unique<UniEncoderPipeline>(std::move(parts));
  if (arch == "encoder-decoder" || arch == "encoder-decoder-cls")
    return std::make_unique<EncoderDecoderPipeline>(std::move(parts));
  if (arch == "bi-encoder" || arch == "bi-encoder-fused") return std::make_unique<BiEncoderPipeline>(std::move(parts));
  if (arch == "decoder-kv") return std::make_unique<DecoderKVPipeline>(std::move(parts));
  throw ModelError("pipeline: no pipeline for architecture_type '" + arch + "'");
}

}  // namespace gliclass::pipeline
