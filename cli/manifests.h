#pragma once

// Kubernetes manifests read from files (YAML or JSON, several documents, `kind: List`), each
// turned into the JSON the API server would return for it, so that the api/v1alpha1 parsers and
// the Secret decoding read a file exactly as they read the cluster's objects.

#include <string>
#include <vector>

#include "common/base/result.h"

namespace vigil::cli {

struct Manifest {
  std::string kind;  // "AlertSink", "Secret", ... ("" when the document has none)
  std::string name;
  std::string ns;      // metadata.namespace, "" when not set
  std::string json;    // the whole object
  std::string origin;  // "sink.yaml, document 2", for messages
};

// Every object in `path` ('-': standard input). Empty documents are skipped; the items of a
// `kind: List` (or *List) become objects of their own. YAML's plain scalars become JSON numbers,
// booleans and null as YAML 1.2's core schema reads them; quoted scalars stay strings. An error
// names the file and the document.
Result<std::vector<Manifest>> read_manifests(const std::string& path);

}  // namespace vigil::cli
