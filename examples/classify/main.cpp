// Classifies one text with an installed gliclass: a model directory or a Hub
// id, the text, then the candidate labels.
//   classify_example knowledgator/gliclass-small-v1.0 "I loved this film" positive negative
#include <gliclass/gliclass.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " MODEL TEXT LABEL [LABEL...]\n";
    return 2;
  }
  try {
    const auto classifier = gliclass::Classifier::load(argv[1]);
    gliclass::ClassifyRequest request;
    request.text = argv[2];
    request.labels.assign(argv + 3, argv + argc);
    const auto result = classifier.classify(request);
    for (size_t i = 0; i < request.labels.size(); ++i)
      std::cout << request.labels[i] << "\t" << result.scores[i] << "\n";
    return 0;
  } catch (const gliclass::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
