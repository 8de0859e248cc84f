#pragma once

// Errors and warnings about user input (rule files, conditions, CRs), each with the place it
// refers to. Printed as `file:line:col: error: message`, the way compilers do.

#include <string>
#include <vector>

namespace vigil {

struct SourcePos {
  int line = 0;  // 1-based; 0 means unknown
  int col = 0;   // 1-based; 0 means unknown
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;  // file name or object reference ("default/shell-in-container")
  SourcePos pos;
  std::string item;     // "rule 'Terminal shell in container'", "macro 'container'", ...
  std::string message;  // starts lower-case, no trailing period

  std::string to_string() const;
};

class Diagnostics {
 public:
  void error(std::string file, SourcePos pos, std::string item, std::string message);
  void warning(std::string file, SourcePos pos, std::string item, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);

  const std::vector<Diagnostic>& items() const { return items_; }
  bool has_errors() const;
  size_t error_count() const;
  size_t warning_count() const;
  std::string to_string() const;  // one per line

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace vigil
