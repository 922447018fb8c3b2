#include "permission_pattern.hpp"

#include "paperboy/protocol/channel.hpp"

namespace paperboy::broker {
namespace {

// Walks a name's '/'-separated segments without allocating: "/topic/a/b" gives "", "topic", "a",
// "b". The first two are never wildcards (check_channel fixes them to "" and "topic"/"queue").
class Segments {
 public:
  explicit Segments(std::string_view name) noexcept : rest_(name) {}
  bool done() const noexcept { return finished_; }
  std::string_view next() noexcept {
    const auto slash = rest_.find('/');
    const std::string_view segment = rest_.substr(0, slash);
    if (slash == std::string_view::npos) {
      finished_ = true;
      rest_ = {};
    } else {
      rest_.remove_prefix(slash + 1);
    }
    return segment;
  }

 private:
  std::string_view rest_;
  bool finished_ = false;
};

bool is_one(std::string_view segment) noexcept {
  return segment == "*";
}
bool is_rest(std::string_view segment) noexcept {
  return segment == ">";
}

}  // namespace

bool valid_permission_pattern(std::string_view pattern) noexcept {
  if (!protocol::check_channel(pattern)) return false;
  Segments segments(pattern);
  while (!segments.done()) {
    if (is_rest(segments.next()) && !segments.done()) return false;
  }
  return true;
}

bool pattern_covers(std::string_view pattern, std::string_view subject) noexcept {
  Segments p(pattern);
  Segments s(subject);
  while (!p.done()) {
    const std::string_view wanted = p.next();
    if (is_rest(wanted)) return !s.done();  // one or more segments, wildcards included
    if (s.done()) return false;
    const std::string_view given = s.next();
    if (is_rest(given)) return false;  // wider than anything but ">"
    if (is_one(wanted)) continue;
    if (is_one(given) || wanted != given) return false;
  }
  return s.done();
}

bool patterns_overlap(std::string_view a, std::string_view b) noexcept {
  Segments x(a);
  Segments y(b);
  while (!x.done() && !y.done()) {
    const std::string_view one = x.next();
    const std::string_view other = y.next();
    if (is_rest(one) || is_rest(other)) return true;
    if (is_one(one) || is_one(other) || one == other) continue;
    return false;
  }
  return x.done() && y.done();
}

}  // namespace paperboy::broker
