#include "common/fields/audit_event.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/fields/value.h"

namespace vigil::fields {

namespace {

// Go's encoding/json refuses deeper nesting, so kube-apiserver never accepted such a body.
constexpr int kHardMaxDepth = 10000;
constexpr std::string_view kAuditApiVersion = "audit.k8s.io/v1";

}  // namespace

// The parsed body: one copy of its bytes, the strings that needed unescaping, and the nodes.
// Immutable once decoded; shared by all events of the body.
struct AuditDocument {
  std::string source;
  std::vector<std::unique_ptr<char[]>> decoded;  // chunks holding unescaped strings
  std::vector<JsonNode> nodes;
  std::vector<uint32_t> truncated;  // indices of nodes that replace a too-deep container
  std::string cluster_name;
};

namespace {

const char* kind_name(JsonKind k) {
  switch (k) {
    case JsonKind::kNull:
      return "null";
    case JsonKind::kFalse:
    case JsonKind::kTrue:
      return "a boolean";
    case JsonKind::kNumber:
      return "a number";
    case JsonKind::kString:
      return "a string";
    case JsonKind::kArray:
      return "an array";
    case JsonKind::kObject:
      return "an object";
  }
  return "a value";
}

// ---------------------------------------------------------------------------------------------
// Strings

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, at
// most U+10FFFF), or 0 when the byte there does not start one.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned c = b(k);
    return c >= lo && c <= hi;
  };
  unsigned c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

size_t encode_utf8(uint32_t cp, char* out) {
  char buf[4];
  size_t n;
  if (cp < 0x80) {
    buf[0] = static_cast<char>(cp);
    n = 1;
  } else if (cp < 0x800) {
    buf[0] = static_cast<char>(0xC0 | (cp >> 6));
    buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    buf[0] = static_cast<char>(0xE0 | (cp >> 12));
    buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    buf[0] = static_cast<char>(0xF0 | (cp >> 18));
    buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 4;
  }
  if (out) std::memcpy(out, buf, n);
  return n;
}

constexpr uint32_t kReplacementChar = 0xFFFD;

uint32_t read_u4(std::string_view raw, size_t i) {  // raw[i..i+4) are hex digits (validated)
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v = v * 16 + static_cast<uint32_t>(hex_value(raw[i + k]));
  return v;
}

// Decodes the already validated contents of a string literal the way Go's encoding/json does
// (lone surrogates and invalid UTF-8 bytes become U+FFFD). With out == nullptr only counts.
size_t decode_string(std::string_view raw, char* out) {
  size_t w = 0;
  auto put = [&](uint32_t cp) { w += encode_utf8(cp, out ? out + w : nullptr); };
  size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c == '\\') {
      char e = raw[i + 1];
      if (e == 'u') {
        uint32_t cp = read_u4(raw, i + 2);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDFFF) {
          uint32_t combined = kReplacementChar;
          if (cp <= 0xDBFF && i + 6 <= raw.size() && raw[i] == '\\' && raw[i + 1] == 'u') {
            uint32_t lo = read_u4(raw, i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              combined = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              i += 6;
            }
          }
          cp = combined;
        }
        put(cp);
        continue;
      }
      char plain = e;
      switch (e) {
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        default:
          break;  // '"', '\\', '/'
      }
      if (out) out[w] = plain;
      ++w;
      i += 2;
      continue;
    }
    size_t len = utf8_length(raw, i);
    if (len == 0) {
      put(kReplacementChar);
      ++i;
      continue;
    }
    if (out) std::memcpy(out + w, raw.data() + i, len);
    w += len;
    i += len;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Parser

// A recursive-descent JSON parser (RFC 8259) that appends nodes to an AuditDocument. Recursion
// stops at max_depth: deeper containers are validated iteratively and replaced by a null node.
class JsonParser {
 public:
  JsonParser(AuditDocument& doc, int max_depth, size_t max_values)
      : doc_(doc), src_(doc.source), max_depth_(std::max(1, max_depth)), max_values_(max_values) {}

  // Parses the next whitespace-separated top-level value. Returns false at the end of the input
  // or on error (then error() is set).
  bool next(uint32_t& root, size_t& offset) {
    skip_ws();
    if (pos_ >= src_.size()) return false;
    offset = pos_;
    root = static_cast<uint32_t>(doc_.nodes.size());
    if (!parse_value(1, {})) return false;
    // A top-level value must be followed by whitespace or the end (JSON lines), or by another
    // object/array (concatenated JSON).
    if (pos_ < src_.size() && !is_ws(src_[pos_]) && src_[pos_] != '{' && src_[pos_] != '[') {
      return fail("unexpected character after the end of a JSON value");
    }
    return true;
  }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void skip_ws() {
    while (pos_ < src_.size() && is_ws(src_[pos_])) ++pos_;
  }

  bool fail(std::string_view what) { return fail_at(pos_, what); }
  bool fail_at(size_t at, std::string_view what) {
    if (!error_.empty()) return false;
    at = std::min(at, src_.size());
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; ++i) {
      if (src_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    error_ =
        "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": ";
    if (at == src_.size() && what.substr(0, 10) != "unexpected")
      error_ += "unexpected end of input, ";
    error_ += what;
    return false;
  }

  bool add_node(std::string_view key, uint32_t& index) {
    if (doc_.nodes.size() >= max_values_) {
      return fail("the body holds more than " + std::to_string(max_values_) + " JSON values");
    }
    index = static_cast<uint32_t>(doc_.nodes.size());
    doc_.nodes.emplace_back();
    doc_.nodes.back().key = key;
    return true;
  }

  bool parse_value(int depth, std::string_view key) {
    skip_ws();
    if (pos_ >= src_.size()) return fail("unexpected end of input, expected a value");
    uint32_t index;
    if (!add_node(key, index)) return false;
    char c = src_[pos_];
    switch (c) {
      case '{':
      case '[':
        if (depth > max_depth_) {
          doc_.truncated.push_back(index);  // stays a null node
          return skip_container(depth);
        }
        return c == '{' ? parse_object(index, depth) : parse_array(index, depth);
      case '"': {
        std::string_view s;
        if (!parse_string(&s)) return false;
        doc_.nodes[index].kind = JsonKind::kString;
        doc_.nodes[index].text = s;
        return true;
      }
      case 't':
        return parse_literal("true", JsonKind::kTrue, index);
      case 'f':
        return parse_literal("false", JsonKind::kFalse, index);
      case 'n':
        return parse_literal("null", JsonKind::kNull, index);
      default: {
        if (c != '-' && (c < '0' || c > '9')) {
          std::string what = "unexpected character";
          if (c > 0x20 && c < 0x7f) what += std::string(" '") + c + "'";
          return fail(what + ", expected a value");
        }
        std::string_view n;
        if (!parse_number(&n)) return false;
        doc_.nodes[index].kind = JsonKind::kNumber;
        doc_.nodes[index].text = n;
        return true;
      }
    }
  }

  bool parse_literal(std::string_view word, JsonKind kind, uint32_t index) {
    if (src_.substr(pos_, word.size()) != word) return fail("invalid literal, expected a value");
    pos_ += word.size();
    doc_.nodes[index].kind = kind;
    return true;
  }

  bool parse_object(uint32_t index, int depth) {
    ++pos_;  // '{'
    uint32_t count = 0;
    skip_ws();
    if (pos_ < src_.size() && src_[pos_] == '}') {
      ++pos_;
    } else {
      while (true) {
        skip_ws();
        if (pos_ >= src_.size() || src_[pos_] != '"') {
          return fail("expected a string as object member name");
        }
        std::string_view key;
        if (!parse_string(&key)) return false;
        skip_ws();
        if (pos_ >= src_.size() || src_[pos_] != ':')
          return fail("expected ':' after a member name");
        ++pos_;
        if (!parse_value(depth + 1, key)) return false;
        ++count;
        skip_ws();
        if (pos_ < src_.size() && src_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < src_.size() && src_[pos_] == '}') {
          ++pos_;
          break;
        }
        return fail("expected ',' or '}' after an object member");
      }
    }
    JsonNode& node = doc_.nodes[index];
    node.kind = JsonKind::kObject;
    node.count = count;
    node.span = static_cast<uint32_t>(doc_.nodes.size() - index);
    return true;
  }

  bool parse_array(uint32_t index, int depth) {
    ++pos_;  // '['
    uint32_t count = 0;
    skip_ws();
    if (pos_ < src_.size() && src_[pos_] == ']') {
      ++pos_;
    } else {
      while (true) {
        if (!parse_value(depth + 1, {})) return false;
        ++count;
        skip_ws();
        if (pos_ < src_.size() && src_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < src_.size() && src_[pos_] == ']') {
          ++pos_;
          break;
        }
        return fail("expected ',' or ']' after an array element");
      }
    }
    JsonNode& node = doc_.nodes[index];
    node.kind = JsonKind::kArray;
    node.count = count;
    node.span = static_cast<uint32_t>(doc_.nodes.size() - index);
    return true;
  }

  // Validates and skips the array or object at pos_ without storing it, with an explicit stack
  // instead of recursion.
  bool skip_container(int depth) {
    enum class Want { kValue, kValueOrClose, kKey, kKeyOrClose, kColon, kCommaOrClose };
    std::vector<char>& stack = skip_stack_;
    stack.clear();
    Want want = Want::kValue;
    while (true) {
      skip_ws();
      if (pos_ >= src_.size()) return fail("unexpected end of input inside an array or object");
      char c = src_[pos_];
      bool close = false;
      switch (want) {
        case Want::kValueOrClose:
          if (c == ']') {
            close = true;
            break;
          }
          [[fallthrough]];
        case Want::kValue:
          if (c == '{' || c == '[') {
            if (depth + static_cast<int>(stack.size()) > kHardMaxDepth) {
              return fail("arrays and objects nested more than 10000 deep");
            }
            stack.push_back(c);
            ++pos_;
            want = c == '{' ? Want::kKeyOrClose : Want::kValueOrClose;
            continue;
          }
          if (c == '"') {
            if (!parse_string(nullptr)) return false;
          } else if (c == 't' || c == 'f' || c == 'n') {
            std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
            if (src_.substr(pos_, word.size()) != word)
              return fail("invalid literal, expected a value");
            pos_ += word.size();
          } else if (!parse_number(nullptr)) {
            return false;
          }
          want = Want::kCommaOrClose;
          continue;
        case Want::kKeyOrClose:
          if (c == '}') {
            close = true;
            break;
          }
          [[fallthrough]];
        case Want::kKey:
          if (c != '"') return fail("expected a string as object member name");
          if (!parse_string(nullptr)) return false;
          want = Want::kColon;
          continue;
        case Want::kColon:
          if (c != ':') return fail("expected ':' after a member name");
          ++pos_;
          want = Want::kValue;
          continue;
        case Want::kCommaOrClose:
          if (c == ',') {
            ++pos_;
            want = stack.back() == '{' ? Want::kKey : Want::kValue;
            continue;
          }
          if (c != (stack.back() == '{' ? '}' : ']')) {
            return fail(stack.back() == '{' ? "expected ',' or '}' after an object member"
                                            : "expected ',' or ']' after an array element");
          }
          close = true;
          break;
      }
      if (close) {
        ++pos_;
        stack.pop_back();
        if (stack.empty()) return true;
        want = Want::kCommaOrClose;
      }
    }
  }

  // At '"'. Validates the literal; with `out`, also yields its decoded value (a view into the
  // source when nothing needed decoding).
  bool parse_string(std::string_view* out) {
    size_t open = pos_++;
    size_t start = pos_;
    bool plain = true;
    while (true) {
      if (pos_ >= src_.size()) return fail_at(open, "unterminated string");
      unsigned char c = static_cast<unsigned char>(src_[pos_]);
      if (c == '"') break;
      if (c == '\\') {
        plain = false;
        char e = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
        if (e == 'u') {
          for (size_t k = 2; k < 6; ++k) {
            if (pos_ + k >= src_.size() || hex_value(src_[pos_ + k]) < 0) {
              return fail("invalid \\u escape in string");
            }
          }
          pos_ += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
          pos_ += 2;
        } else {
          return fail("invalid escape in string");
        }
        continue;
      }
      if (c < 0x20) return fail("control character in string (it must be escaped)");
      if (c < 0x80) {
        ++pos_;
        continue;
      }
      size_t len = utf8_length(src_, pos_);
      if (len == 0) {
        plain = false;  // decodes to U+FFFD
        len = 1;
      }
      pos_ += len;
    }
    std::string_view raw = src_.substr(start, pos_ - start);
    ++pos_;  // closing quote
    if (!out) return true;
    if (plain) {
      *out = raw;
      return true;
    }
    size_t n = decode_string(raw, nullptr);
    char* dst = store(n);
    decode_string(raw, dst);
    *out = std::string_view(dst, n);
    return true;
  }

  bool parse_number(std::string_view* out) {
    size_t start = pos_;
    auto digit = [&] { return pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '9'; };
    if (pos_ < src_.size() && src_[pos_] == '-') ++pos_;
    if (!digit()) return fail_at(start, "invalid number");
    if (src_[pos_] == '0') {
      ++pos_;
    } else {
      while (digit()) ++pos_;
    }
    if (pos_ < src_.size() && src_[pos_] == '.') {
      ++pos_;
      if (!digit()) return fail("invalid number: expected a digit after '.'");
      while (digit()) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
      if (!digit()) return fail("invalid number: expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    if (out) *out = src_.substr(start, pos_ - start);
    return true;
  }

  // Room for a decoded string; chunks never move, so views into them stay valid.
  char* store(size_t n) {
    constexpr size_t kChunk = size_t{64} * 1024;
    if (n > kChunk / 4) {
      doc_.decoded.push_back(std::make_unique_for_overwrite<char[]>(n ? n : 1));
      return doc_.decoded.back().get();
    }
    if (chunk_used_ + n > kChunk || !chunk_) {
      doc_.decoded.push_back(std::make_unique_for_overwrite<char[]>(kChunk));
      chunk_ = doc_.decoded.back().get();
      chunk_used_ = 0;
    }
    char* p = chunk_ + chunk_used_;
    chunk_used_ += n;
    return p;
  }

  AuditDocument& doc_;
  std::string_view src_;
  size_t pos_ = 0;
  int max_depth_;
  size_t max_values_;
  std::string error_;
  std::vector<char> skip_stack_;
  char* chunk_ = nullptr;
  size_t chunk_used_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Rendering

struct CountSink {
  size_t n = 0;
  void put(char) { ++n; }
  void put(std::string_view s) { n += s.size(); }
};

struct BufferSink {
  char* p;
  void put(char c) { *p++ = c; }
  void put(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

struct StringSink {
  std::string* s;
  void put(char c) { s->push_back(c); }
  void put(std::string_view v) { s->append(v); }
};

template <typename Sink>
void render_string(std::string_view s, Sink& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.put('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.put(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out.put("\\\"");
        break;
      case '\\':
        out.put("\\\\");
        break;
      case '\n':
        out.put("\\n");
        break;
      case '\r':
        out.put("\\r");
        break;
      case '\t':
        out.put("\\t");
        break;
      case '\b':
        out.put("\\b");
        break;
      case '\f':
        out.put("\\f");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.put(std::string_view(esc, 6));
      }
    }
  }
  out.put(s.substr(run));
  out.put('"');
}

template <typename Sink>
void render_newline(Sink& out, int indent, int level) {
  out.put('\n');
  for (int i = 0; i < indent * level; ++i) out.put(' ');
}

// Recursion is bounded by the parser's max_depth: deeper containers were replaced by null.
template <typename Sink>
void render(JsonRef v, Sink& out, int indent, int level) {
  switch (v.kind()) {
    case JsonKind::kString:
      render_string(v.str(), out);
      return;
    case JsonKind::kArray:
    case JsonKind::kObject: {
      bool object = v.is_object();
      out.put(object ? '{' : '[');
      if (v.size() == 0) {
        out.put(object ? '}' : ']');
        return;
      }
      bool first = true;
      for (JsonRef child : v) {
        if (!first) out.put(',');
        first = false;
        if (indent > 0) render_newline(out, indent, level + 1);
        if (object) {
          render_string(child.key(), out);
          out.put(':');
          if (indent > 0) out.put(' ');
        }
        render(child, out, indent, level + 1);
      }
      if (indent > 0) render_newline(out, indent, level);
      out.put(object ? '}' : ']');
      return;
    }
    default:
      out.put(v.scalar_text());
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Time

bool read_digits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  i += n;
  return true;
}

// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// ---------------------------------------------------------------------------------------------
// Events

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

// Checks one Event object and locates what extractors need.
class AuditEventBuilder {
 public:
  // Returns "" on success, or what is wrong ("stageTimestamp: ...").
  static std::string build(const std::shared_ptr<const AuditDocument>& doc, JsonRef item,
                           AuditEvent& ev) {
    if (!item.is_object())
      return std::string("expected an Event object, found ") + kind_name(item.kind());
    std::string err;
    JsonRef kind = member(item, "kind");
    if (kind && kind.str() != "Event") {
      if (!kind.is_string()) return "kind: expected a string";
      return "kind is " + quote(kind.str()) + ", expected \"Event\"";
    }
    if (!(err = check_api_version(item)).empty()) return err;

    ev.doc_ = doc;
    ev.root_ = item;
    if (!(err = required_string(item, "auditID", ev.audit_id_)).empty()) return err;
    if (!(err = required_string(item, "stage", ev.stage_)).empty()) return err;
    JsonRef stage_ts;
    if (!(err = required_string(item, "stageTimestamp", stage_ts)).empty()) return err;
    Result<int64_t> t = parse_audit_time(stage_ts.str());
    if (!t) return "stageTimestamp: " + t.error();
    ev.time_ns_ = *t;
    JsonRef received;
    if (!(err = optional_string(item, "requestReceivedTimestamp", received)).empty()) return err;
    if (received) {
      Result<int64_t> r = parse_audit_time(received.str());
      if (!r) return "requestReceivedTimestamp: " + r.error();
      ev.request_received_ns_ = *r;
    }
    if (!(err = optional_string(item, "level", ev.level_)).empty()) return err;
    if (!(err = optional_string(item, "verb", ev.verb_)).empty()) return err;
    if (!(err = optional_string(item, "requestURI", ev.request_uri_)).empty()) return err;
    if (!(err = optional_string(item, "userAgent", ev.user_agent_)).empty()) return err;
    if (!(err = user_info(item, "user", ev.user_, ev.user_name_)).empty()) return err;
    JsonRef imp_name;
    if (!(err = user_info(item, "impersonatedUser", ev.impersonated_user_, imp_name)).empty())
      return err;
    if (!(err = string_array(item, "sourceIPs", ev.source_ips_)).empty()) return err;

    if (!(err = optional_kind(item, "objectRef", JsonKind::kObject, ev.object_ref_)).empty())
      return err;
    if (ev.object_ref_) {
      JsonRef unused;
      for (std::string_view k : {"uid", "apiGroup", "apiVersion", "resourceVersion"}) {
        if (!(err = optional_string(ev.object_ref_, k, unused, "objectRef.")).empty()) return err;
      }
      if (!(err = optional_string(ev.object_ref_, "resource", ev.target_resource_, "objectRef."))
               .empty())
        return err;
      if (!(err = optional_string(ev.object_ref_, "subresource", ev.target_subresource_,
                                  "objectRef."))
               .empty())
        return err;
      if (!(err = optional_string(ev.object_ref_, "name", ev.target_name_, "objectRef.")).empty())
        return err;
      if (!(err = optional_string(ev.object_ref_, "namespace", ev.target_namespace_, "objectRef."))
               .empty())
        return err;
    }

    if (!(err = optional_kind(item, "responseStatus", JsonKind::kObject, ev.response_status_))
             .empty())
      return err;
    if (ev.response_status_) {
      JsonRef unused;
      for (std::string_view k : {"status", "message", "reason"}) {
        if (!(err = optional_string(ev.response_status_, k, unused, "responseStatus.")).empty())
          return err;
      }
      JsonRef code = member(ev.response_status_, "code");
      if (code && !code.is_number()) {
        return std::string("responseStatus.code: expected an integer, found ") +
               kind_name(code.kind());
      }
      if (code && code.scalar_text().find_first_of(".eE") != std::string_view::npos) {
        return "responseStatus.code: expected an integer, found " + std::string(code.scalar_text());
      }
      ev.response_code_ = code;
    }

    if (!(err = optional_kind(item, "annotations", JsonKind::kObject, ev.annotations_)).empty())
      return err;
    for (JsonRef a : ev.annotations_) {
      if (!a.is_string()) {
        return "annotations." + std::string(a.key()) + ": expected a string, found " +
               kind_name(a.kind());
      }
    }
    ev.request_object_ = member(item, "requestObject");
    ev.response_object_ = member(item, "responseObject");

    if (ev.target_namespace_.str().size()) {
      ev.object_namespace_ = ev.target_namespace_.str();
    } else if (ev.target_resource_.str() == "namespaces") {
      ev.object_namespace_ = ev.target_name_.str();
    }

    uint32_t first = static_cast<uint32_t>(item.node() - doc->nodes.data());
    auto it = std::lower_bound(doc->truncated.begin(), doc->truncated.end(), first);
    ev.truncated_ = it != doc->truncated.end() && *it < first + item.node()->span;
    return "";
  }

  static std::string check_api_version(JsonRef obj) {
    JsonRef v = member(obj, "apiVersion");
    if (!v || v.str() == kAuditApiVersion) return "";
    if (!v.is_string())
      return std::string("apiVersion: expected a string, found ") + kind_name(v.kind());
    return "apiVersion " + quote(v.str()) + " is not supported, expected \"audit.k8s.io/v1\"" +
           " (kube-apiserver --audit-webhook-version)";
  }

 private:
  // A member, with null read as absent (Go writes omitted optional fields either way).
  static JsonRef member(JsonRef obj, std::string_view key) {
    JsonRef v = obj.get(key);
    return v.is_null() ? JsonRef() : v;
  }

  static std::string optional_kind(JsonRef obj, std::string_view key, JsonKind want, JsonRef& out,
                                   std::string_view prefix = {}) {
    out = member(obj, key);
    if (out && out.kind() != want) {
      return std::string(prefix) + std::string(key) + ": expected " + kind_name(want) + ", found " +
             kind_name(out.kind());
    }
    return "";
  }

  static std::string optional_string(JsonRef obj, std::string_view key, JsonRef& out,
                                     std::string_view prefix = {}) {
    return optional_kind(obj, key, JsonKind::kString, out, prefix);
  }

  static std::string required_string(JsonRef obj, std::string_view key, JsonRef& out) {
    std::string err = optional_string(obj, key, out);
    if (!err.empty()) return err;
    if (!out || out.str().empty()) return std::string(key) + ": missing";
    return "";
  }

  static std::string string_array(JsonRef obj, std::string_view key, JsonRef& out,
                                  std::string_view prefix = {}) {
    std::string err = optional_kind(obj, key, JsonKind::kArray, out, prefix);
    if (!err.empty()) return err;
    return check_strings(out, std::string(prefix) + std::string(key));
  }

  static std::string check_strings(JsonRef array, const std::string& name) {
    size_t i = 0;
    for (JsonRef e : array) {
      if (!e.is_string()) {
        return name + "[" + std::to_string(i) + "]: expected a string, found " +
               kind_name(e.kind());
      }
      ++i;
    }
    return "";
  }

  // authentication/v1 UserInfo: {username, uid, groups, extra: {key: [string]}}.
  static std::string user_info(JsonRef item, std::string_view key, JsonRef& out, JsonRef& name) {
    std::string err = optional_kind(item, key, JsonKind::kObject, out);
    if (!err.empty() || !out) return err;
    std::string prefix = std::string(key) + ".";
    JsonRef unused;
    if (!(err = optional_string(out, "username", name, prefix)).empty()) return err;
    if (!(err = optional_string(out, "uid", unused, prefix)).empty()) return err;
    if (!(err = string_array(out, "groups", unused, prefix)).empty()) return err;
    JsonRef extra;
    if (!(err = optional_kind(out, "extra", JsonKind::kObject, extra, prefix)).empty()) return err;
    for (JsonRef e : extra) {
      std::string name = prefix + "extra." + std::string(e.key());
      if (e.is_null()) continue;
      if (!e.is_array()) return name + ": expected an array, found " + kind_name(e.kind());
      if (!(err = check_strings(e, name)).empty()) return err;
    }
    return "";
  }
};

// ---------------------------------------------------------------------------------------------
// JsonRef

std::string_view JsonRef::scalar_text() const {
  if (!node_) return {};
  switch (node_->kind) {
    case JsonKind::kString:
    case JsonKind::kNumber:
      return node_->text;
    case JsonKind::kTrue:
      return "true";
    case JsonKind::kFalse:
      return "false";
    case JsonKind::kNull:
      return "null";
    default:
      return {};
  }
}

JsonRef JsonRef::get(std::string_view key) const {
  if (is_object()) {
    JsonRef found;
    for (JsonRef m : *this) {
      if (m.key() == key) found = m;
    }
    return found;
  }
  if (is_array() && !key.empty() && key.size() <= 10) {
    size_t i = 0;
    for (char c : key) {
      if (c < '0' || c > '9') return {};
      i = i * 10 + static_cast<size_t>(c - '0');
    }
    return at(i);
  }
  return {};
}

JsonRef JsonRef::at(size_t i) const {
  if (i >= size()) return {};
  const JsonNode* n = node_ + 1;
  for (size_t k = 0; k < i; ++k) n += n->span;
  return JsonRef(n);
}

std::string render_json(JsonRef v, int indent) {
  std::string s;
  if (!v) return s;
  StringSink sink{&s};
  render(v, sink, indent, 0);
  return s;
}

std::string_view render_json(JsonRef v, Arena& arena, int indent) {
  if (!v) return {};
  CountSink count;
  render(v, count, indent, 0);
  char* p = arena.allocate(count.n);
  BufferSink sink{p};
  render(v, sink, indent, 0);
  return std::string_view(p, count.n);
}

std::string_view AuditEvent::cluster_name() const {
  return doc_ ? std::string_view(doc_->cluster_name) : std::string_view();
}

// ---------------------------------------------------------------------------------------------
// Decoding

Result<AuditBatch> decode_audit_batch(std::string_view body, const AuditDecodeOptions& options) {
  if (body.size() > options.max_body_bytes) {
    return make_error("audit body is " + std::to_string(body.size()) + " bytes, more than the " +
                      std::to_string(options.max_body_bytes) + " allowed");
  }
  auto doc = std::make_shared<AuditDocument>();
  doc->source.assign(body);
  doc->cluster_name = options.cluster_name;
  doc->nodes.reserve(
      std::min(options.max_values, body.size() / 24 + 16));  // audit JSON: ~25 bytes a value

  struct Top {
    uint32_t root;
    size_t offset;
  };
  std::vector<Top> tops;
  {
    JsonParser parser(*doc, options.max_depth, options.max_values);
    Top top{};
    while (parser.next(top.root, top.offset)) tops.push_back(top);
    if (parser.failed()) return make_error(parser.error());
  }
  if (tops.empty()) return make_error("audit body is empty");

  // The document is complete: nodes no longer move.
  std::shared_ptr<const AuditDocument> shared = doc;
  AuditBatch batch;
  size_t line = 1, counted = 0;
  for (const Top& top : tops) {
    std::string where;
    if (tops.size() > 1) {
      line += static_cast<size_t>(
          std::count(doc->source.begin() + static_cast<ptrdiff_t>(counted),
                     doc->source.begin() + static_cast<ptrdiff_t>(top.offset), '\n'));
      counted = top.offset;
      where = "line " + std::to_string(line) + ": ";
    }
    JsonRef value(&doc->nodes[top.root]);
    if (!value.is_object()) {
      return make_error(where + "expected an audit EventList or Event object, found " +
                        kind_name(value.kind()));
    }
    JsonRef kind = value.get("kind");
    if (!kind.is_string()) {
      return make_error(where + "not an audit EventList or Event: " +
                        (kind ? "kind is not a string" : "it has no kind"));
    }
    if (kind.str() == "EventList") {
      std::string err = AuditEventBuilder::check_api_version(value);
      if (!err.empty()) return make_error(where + err);
      JsonRef items = value.get("items");
      if (items && !items.is_null() && !items.is_array()) {
        return make_error(where + "items: expected an array, found " + kind_name(items.kind()));
      }
      size_t i = 0;
      for (JsonRef item : items) {
        AuditEvent ev;
        err = AuditEventBuilder::build(shared, item, ev);
        if (err.empty()) {
          batch.events.push_back(std::move(ev));
        } else {
          batch.rejected.push_back(where + "items[" + std::to_string(i) + "]: ");
          batch.rejected.back() += err;
        }
        ++i;
      }
    } else if (kind.str() == "Event") {
      AuditEvent ev;
      std::string err = AuditEventBuilder::build(shared, value, ev);
      if (err.empty()) {
        batch.events.push_back(std::move(ev));
      } else {
        batch.rejected.push_back(tops.size() > 1 ? where + err : err);
      }
    } else {
      return make_error(where + "kind " + quote(kind.str()) +
                        " is not an audit EventList or Event");
    }
  }
  return batch;
}

Result<std::vector<AuditEvent>> decode_audit_events(std::string_view body,
                                                    const AuditDecodeOptions& options) {
  Result<AuditBatch> batch = decode_audit_batch(body, options);
  if (!batch) return make_error(batch.error());
  if (!batch->rejected.empty()) {
    std::string msg = batch->rejected.front();
    if (batch->rejected.size() > 1) {
      msg += " (and " + std::to_string(batch->rejected.size() - 1) + " more bad events)";
    }
    return make_error(std::move(msg));
  }
  return std::move(batch->events);
}

Result<std::vector<AuditEvent>> decode_audit_events(std::string_view body) {
  return decode_audit_events(body, AuditDecodeOptions{});
}

Result<int64_t> parse_audit_time(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return make_error("invalid time " + quote(s.substr(0, 64)) + ": " + std::string(why) +
                      " (want RFC 3339, e.g. 2026-09-15T14:26:53.946487Z)");
  };
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(s, i, 4, year) || i >= s.size() || s[i++] != '-' ||
      !read_digits(s, i, 2, month) || i >= s.size() || s[i++] != '-' ||
      !read_digits(s, i, 2, day)) {
    return bad("malformed date");
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't')) return bad("expected 'T' after the date");
  ++i;
  if (!read_digits(s, i, 2, hour) || i >= s.size() || s[i++] != ':' ||
      !read_digits(s, i, 2, minute) || i >= s.size() || s[i++] != ':' ||
      !read_digits(s, i, 2, second)) {
    return bad("malformed time of day");
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return bad("month out of range");
  int mdays = kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  if (day < 1 || day > mdays) return bad("day out of range");
  if (hour > 23 || minute > 59 || second > 59) return bad("time of day out of range");
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return bad("expected digits after '.'");
    for (size_t k = digits; k < 9; ++k) nanos *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1;
    int oh, om;
    if (!read_digits(s, i, 2, oh) || i >= s.size() || s[i++] != ':' || !read_digits(s, i, 2, om)) {
      return bad("malformed time zone offset");
    }
    if (oh > 23 || om > 59) return bad("time zone offset out of range");
    offset = int64_t{sign} * (int64_t{oh} * 3600 + int64_t{om} * 60);
  } else {
    return bad("expected 'Z' or a time zone offset");
  }
  if (i != s.size()) return bad("unexpected text after the time");
  int64_t secs =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset;
  int64_t ns;
  if (__builtin_mul_overflow(secs, int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, nanos, &ns)) {
    return bad("out of the representable range (years 1678 to 2262)");
  }
  return ns;
}

}  // namespace vigil::fields
