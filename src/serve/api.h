// The bodies of the classification endpoints: JSON in -> library requests
// (checked against the limits and the classifier), results -> JSON out.
//
//   POST /v1/classify  {"texts": [str], "labels": [str] | [[str]] | tree,
//                       "threshold"?: num | [num], "multi_label"?: bool,
//                       "prompt"?: str, "examples"?: [{"text", "labels"}],
//                       "rac_examples"?: [{"text", "true_labels", "all_labels"}]
//                                        | one such list per text,
//                       "adapter_id"?: str (one of --adapter's names),
//                       "all_scores"?: bool, "logits"?: bool}
//                   -> {"results": [result_to_json(...)]} in request order
//   POST /gliclass     the reference's Ray endpoint (reference.md §4 "Serve"):
//                      {"text"|"texts", "labels", "threshold"?, "multi_label"?,
//                       "prompt"?, "examples"?, "rac_examples"?, "adapter_id"?}
//                   -> [{"label", "score"}]
//
// Errors: FormatError (shape/types, 400), HttpError 413 (limits) or 404
// (unknown adapter), InputError (the classifier refuses the input, 422).
#pragma once
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "serve/json_io.h"
#include "serve/options.h"

namespace gliclass::serve {

inline constexpr const char* kBaseAdapterId = "__base__";  // the reference's "no adapter"

// One library request per text, and what the answer should carry.
struct ParsedCall {
  std::vector<ClassifyRequest> requests;
  ResultFields fields;
};

// The body as JSON: valid UTF-8, well-formed, nested at most 32 deep.
ojson parse_json_body(const std::string& body);

ParsedCall parse_classify_body(const std::string& body, const Limits& limits, const Classifier& classifier);
ojson classify_response(const std::vector<ClassifyResult>& results, const ResultFields& fields);

ParsedCall parse_gliclass_body(const std::string& body, const Limits& limits, const Classifier& classifier);
ojson gliclass_response(const ClassifyResult& result);

}  // namespace gliclass::serve
