#include "common/rules/rule_set.h"

#include "common/rules/check.h"

namespace vigil::rules {
namespace {

int b64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes standard or URL-safe base64; false on malformed input.
bool b64_decode(std::string_view in, fields::Arena& arena, std::string_view& out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  char* buf = arena.allocate(in.size() * 3 / 4 + 3);
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int d = b64_digit(c);
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[n++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  out = std::string_view(buf, n);
  return true;
}

}  // namespace

EvalContext::EvalContext() {
  pool_.reserve(256);
  matches_.reserve(64);
}
EvalContext::~EvalContext() = default;

void EvalContext::begin_event(size_t slot_count, size_t check_count) {
  if (slots_.size() < slot_count) slots_.resize(slot_count);
  if (checks_.size() < check_count) checks_.resize(check_count);
  if (++generation_ == 0) {  // wrapped: forget every stamp
    for (auto& s : slots_) s.generation = 0;
    for (auto& c : checks_) c.generation = 0;
    generation_ = 1;
  }
  pool_.clear();
  arena_.reset();
  matches_.clear();
}

void EvalContext::apply_transformers(const std::vector<ast::Transformer>& ts, size_t begin) {
  for (ast::Transformer t : ts) {
    if (t == ast::Transformer::kLen) {
      // On a multi-valued field len counts values; on a string, its length.
      size_t count = pool_.size() - begin;
      if (count != 1) {
        pool_.truncate(begin);
        pool_.push().num = static_cast<int64_t>(count);
      } else {
        pool_[begin].num = static_cast<int64_t>(pool_[begin].str.size());
        pool_[begin].str = {};
      }
      continue;
    }
    size_t out = begin;
    for (size_t i = begin; i < pool_.size(); ++i) {
      fields::Value v = pool_[i];
      switch (t) {
        case ast::Transformer::kToLower:
        case ast::Transformer::kToUpper: {
          char* buf = arena_.allocate(v.str.size());
          for (size_t k = 0; k < v.str.size(); ++k) {
            char c = v.str[k];
            if (t == ast::Transformer::kToLower && c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
            if (t == ast::Transformer::kToUpper && c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
            buf[k] = c;
          }
          v.str = std::string_view(buf, v.str.size());
          break;
        }
        case ast::Transformer::kBasename: {
          size_t slash = v.str.rfind('/');
          if (slash != std::string_view::npos) v.str = v.str.substr(slash + 1);
          break;
        }
        case ast::Transformer::kB64: {
          std::string_view decoded;
          if (!b64_decode(v.str, arena_, decoded)) continue;  // undecodable: no value
          v.str = decoded;
          break;
        }
        case ast::Transformer::kLen:
          break;
      }
      pool_[out++] = v;
    }
    pool_.truncate(out);
  }
}

std::span<const fields::Value> EvalContext::extract_slot(const FieldSlot& slot, uint32_t index,
                                                         const void* event) {
  SlotState& s = slots_[index];
  size_t begin = pool_.size();
  fields::ValueWriter w(pool_, arena_);
  slot.extract(event, slot.field.arg, w);
  if (slot.transform && pool_.size() > begin) apply_transformers(slot.transformers, begin);
  s.generation = generation_;
  s.begin = static_cast<uint32_t>(begin);
  s.count = static_cast<uint32_t>(pool_.size() - begin);
  return std::span<const fields::Value>(pool_.data() + s.begin, s.count);
}

std::span<const fields::Value> EvalContext::extract_once(const FieldSlot& slot, const void* event) {
  const size_t begin = pool_.size();
  fields::ValueWriter w(pool_, arena_);
  slot.extract(event, slot.field.arg, w);
  if (slot.transform && pool_.size() > begin) apply_transformers(slot.transformers, begin);
  return std::span<const fields::Value>(pool_.data() + begin, pool_.size() - begin);
}

std::span<const fields::Value> EvalContext::extract(const fields::BoundField& field,
                                                    const std::vector<ast::Transformer>& ts,
                                                    const void* event) {
  size_t begin = pool_.size();
  fields::ValueWriter w(pool_, arena_);
  field.info->extract(event, field.arg, w);
  if (!ts.empty() && pool_.size() > begin) apply_transformers(ts, begin);
  return std::span<const fields::Value>(pool_.data() + begin, pool_.size() - begin);
}

SourceRules::SourceRules() = default;
SourceRules::~SourceRules() = default;
SourceRules::SourceRules(SourceRules&&) noexcept = default;
SourceRules& SourceRules::operator=(SourceRules&&) noexcept = default;

size_t SourceRules::check_count() const { return checks_.size(); }

[[gnu::always_inline]] inline bool SourceRules::run(uint32_t pc, const void* event,
                                                    EvalContext& ctx) const {
  const uint32_t etype = ctx.event_type_;
  while (pc < Instr::kReject) {
    const Instr& in = program_[pc];
    bool result;
    if (in.type_row != Instr::kNoTypeRow && etype != UINT32_MAX) {
      result = type_results_[in.type_row + etype] != 0;  // a check of the event type
    } else if (int cached = in.cache ? ctx.cached_check(in.check) : -1; cached >= 0) {
      result = cached != 0;
    } else {
      const Check& c = checks_[in.check];
      auto lhs = in.slot_cache ? ctx.slot_values(slots_[in.lhs_slot], in.lhs_slot, event)
                               : ctx.extract_once(slots_[in.lhs_slot], event);
      std::span<const fields::Value> rhs;
      if (c.rhs_is_field) {
        rhs = ctx.slot_values(slots_[c.rhs_slot], c.rhs_slot, event);
        // Extracting the right side may have grown the pool: look the left side up again.
        lhs = ctx.slot_values(slots_[in.lhs_slot], in.lhs_slot, event);
      }
      result = c.eval(lhs, rhs);
      if (in.cache) ctx.cache_check(in.check, result);
    }
    pc = result ? in.on_true : in.on_false;
  }
  return pc == Instr::kAccept;
}

// Flattened: the loop, extraction bookkeeping and the specialised checks compile into one
// body, without calls other than to the field extractors.
[[gnu::flatten]] std::span<const uint32_t> SourceRules::evaluate(const void* event,
                                                                 EvalContext& ctx) const {
  ctx.begin_event(slots_.size(), checks_.size());
  ctx.event_type_ = UINT32_MAX;
  auto& out = ctx.matches();
  if (source_->event_type) {
    const uint16_t t = source_->event_type(event);
    if (t < source_->type_count) ctx.event_type_ = t;
    if (t < typed_.size()) {
      for (const Candidate& c : typed_[t]) {
        if (run(c.entry, event, ctx)) out.push_back(c.rule);
      }
      return out;
    }
  }
  for (uint32_t r : all_rules_) {
    if (run(rules_[r].entry, event, ctx)) out.push_back(r);
  }
  return out;
}

std::vector<bool> SourceRules::needed_event_types() const {
  std::vector<bool> needed(by_type_.size(), false);
  for (size_t t = 0; t < by_type_.size(); ++t) needed[t] = !by_type_[t].empty();
  return needed;
}

const SourceRules* RuleSet::source(std::string_view name) const {
  for (const auto& s : sources_)
    if (s.source().name == name) return &s;
  return nullptr;
}

size_t RuleSet::rule_count() const {
  size_t n = 0;
  for (const auto& s : sources_) n += s.rules().size();
  return n;
}

}  // namespace vigil::rules
