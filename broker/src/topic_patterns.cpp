#include "topic_patterns.hpp"

#include <algorithm>

#include "paperboy/protocol/channel.hpp"

namespace paperboy::broker {
namespace {
constexpr std::string_view topic_prefix = "/topic/";
}  // namespace

struct TopicPatterns::Node {
  NameMap<std::unique_ptr<Node>> literals;
  std::unique_ptr<Node> any_one;  ///< the '*' child
  TopicId ends_here;              ///< the pattern whose last segment leads here
  TopicId one_or_more;            ///< the pattern that is this node's path then '>'

  bool unused() const noexcept {
    return literals.empty() && !any_one && !ends_here && !one_or_more;
  }
};

TopicPatterns::TopicPatterns(std::size_t cache_entries)
    : root_(std::make_unique<Node>()), cache_entries_(std::max<std::size_t>(cache_entries, 1)) {}

TopicPatterns::~TopicPatterns() = default;

bool TopicPatterns::split(std::string_view name) {
  segments_.clear();
  if (!name.starts_with(topic_prefix)) return false;
  const std::string_view rest = name.substr(topic_prefix.size());
  for (std::size_t start = 0;;) {
    const std::size_t end = rest.find('/', start);
    if (end == std::string_view::npos) {
      segments_.push_back(rest.substr(start));
      return true;
    }
    segments_.push_back(rest.substr(start, end - start));
    start = end + 1;
  }
}

bool TopicPatterns::insert(std::string_view pattern, TopicId handle) {
  if (!handle || !protocol::is_pattern(pattern) || !split(pattern)) return false;
  Node* node = root_.get();
  TopicId* slot = nullptr;
  for (std::size_t i = 0; i < segments_.size() && !slot; ++i) {
    const std::string_view segment = segments_[i];
    if (segment == ">") {  // is_pattern: only ever last
      slot = &node->one_or_more;
    } else if (segment == "*") {
      if (!node->any_one) node->any_one = std::make_unique<Node>();
      node = node->any_one.get();
    } else {
      auto child = node->literals.find(segment);
      if (child == node->literals.end()) {
        child = node->literals.emplace(std::string(segment), std::make_unique<Node>()).first;
      }
      node = child->second.get();
    }
  }
  if (!slot) slot = &node->ends_here;
  // A held pattern's path existed before this call, so refusing it leaves no new empty node.
  if (*slot) return false;
  *slot = handle;
  ++size_;
  ++generation_;
  return true;
}

bool TopicPatterns::remove(std::string_view pattern) {
  if (!protocol::is_pattern(pattern) || !split(pattern) || !remove_from(*root_, 0)) return false;
  --size_;
  ++generation_;
  return true;
}

// Clears the pattern's slot below `node` and drops the nodes that leaves unused, so the trie
// never holds more nodes than its patterns have segments.
bool TopicPatterns::remove_from(Node& node, std::size_t segment) {
  if (segment == segments_.size()) return std::exchange(node.ends_here, TopicId{}) != TopicId{};
  const std::string_view name = segments_[segment];
  if (name == ">") return std::exchange(node.one_or_more, TopicId{}) != TopicId{};
  if (name == "*") {
    if (!node.any_one || !remove_from(*node.any_one, segment + 1)) return false;
    if (node.any_one->unused()) node.any_one.reset();
    return true;
  }
  const auto child = node.literals.find(name);
  if (child == node.literals.end() || !remove_from(*child->second, segment + 1)) return false;
  if (child->second->unused()) node.literals.erase(child);
  return true;
}

// A node is reached by one path of literal and '*' steps, so each is visited at most once and
// each pattern found at most once.
void TopicPatterns::collect(const Node& node, std::size_t segment, std::vector<TopicId>& out) {
  ++nodes_visited_;
  if (segment == segments_.size()) {
    if (node.ends_here) out.push_back(node.ends_here);
    return;
  }
  if (node.one_or_more) out.push_back(node.one_or_more);  // at least one segment is left
  const auto child = node.literals.find(segments_[segment]);
  if (child != node.literals.end()) collect(*child->second, segment + 1, out);
  if (node.any_one) collect(*node.any_one, segment + 1, out);
}

std::span<const TopicId> TopicPatterns::match(std::string_view topic) {
  // "/topic/" itself is no channel (check_channel), so it is not taken for one empty segment.
  if (empty() || !topic.starts_with(topic_prefix) || topic == topic_prefix) return {};
  auto entry = cache_.find(topic);
  if (entry != cache_.end() && entry->second.generation == generation_) {
    return entry->second.handles;
  }
  uncached_.clear();
  split(topic);
  collect(*root_, 0, uncached_);
  if (uncached_.size() > max_cached_matches) {
    if (entry != cache_.end()) cache_.erase(entry);
    return uncached_;
  }
  if (entry == cache_.end()) {
    if (cache_.size() >= cache_entries_) cache_.erase(cache_.begin());
    entry = cache_.emplace(std::string(topic), CachedMatch{}).first;
  }
  entry->second.generation = generation_;
  entry->second.handles.assign(uncached_.begin(), uncached_.end());
  return entry->second.handles;
}

}  // namespace paperboy::broker
