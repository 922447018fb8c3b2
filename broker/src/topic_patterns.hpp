#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "name_map.hpp"
#include "registry.hpp"

namespace paperboy::broker {

/// Which wildcard subscription patterns ("/topic/news/*", "/topic/news/>") match a concrete topic
/// name, like nats-server's sublist: a trie over the '/'-separated segments after "/topic/" (the
/// literal children of a node in a hash map, one '*' child, a '>' leaf), with the answer for each
/// recently published name cached.
///
/// Each pattern holds one handle: the Router's plan is one TopicChannel per pattern, holding that
/// pattern's subscribers, so a handle is its TopicId. A connection whose subscriptions overlap
/// (an exact name and a pattern, or two patterns) is then in several of the channels a message
/// reaches; the caller delivers to each subscriber once (see broker/DESIGN.md, "Wildcard
/// subscriptions").
///
/// Cost: a cache hit is one hash of the name and one comparison. A miss walks only the trie
/// nodes on the name's own paths (each node at most once), so patterns under other prefixes cost
/// nothing however many there are. Insert and remove cost the pattern's segments and invalidate
/// the whole cache in O(1) by bumping a generation; an entry of an older generation is recomputed
/// when next asked for.
class TopicPatterns {
 public:
  /// Names whose answer is kept at once; past that, a new name evicts an arbitrary one (the first
  /// in the table), which is O(1) and needs no recency list on the hit path.
  static constexpr std::size_t default_cache_entries = 1024;
  /// Answers longer than this are not cached: delivering to that many channels costs more than
  /// the walk, and the cache's memory stays bounded (entries x (name + this many ids)).
  static constexpr std::size_t max_cached_matches = 64;

  explicit TopicPatterns(std::size_t cache_entries = default_cache_entries);
  ~TopicPatterns();
  TopicPatterns(const TopicPatterns&) = delete;
  TopicPatterns& operator=(const TopicPatterns&) = delete;

  /// Adds a pattern (protocol::is_pattern) with its handle; false, changing nothing, if the name
  /// is no pattern, the handle is empty, or the pattern already has a handle.
  bool insert(std::string_view pattern, TopicId handle);
  /// Removes a pattern; false if it was not held.
  bool remove(std::string_view pattern);

  /// The handles of the patterns that match a concrete topic name, each once, in no set order.
  /// Valid until the next call of a non-const member.
  std::span<const TopicId> match(std::string_view topic);

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Changes with every insert and remove: a caller's copy of an answer is current while this is.
  std::uint64_t generation() const noexcept { return generation_; }
  /// Names cached now (current or stale).
  std::size_t cached_names() const noexcept { return cache_.size(); }
  /// Trie nodes visited by every walk so far: what the cost claims above are tested with.
  std::uint64_t nodes_visited() const noexcept { return nodes_visited_; }

 private:
  struct Node;
  struct CachedMatch {
    std::uint64_t generation = 0;
    std::vector<TopicId> handles;
  };

  /// Splits a name after "/topic/" into segments_; false for a name without that prefix.
  bool split(std::string_view name);
  void collect(const Node& node, std::size_t segment, std::vector<TopicId>& out);
  bool remove_from(Node& node, std::size_t segment);

  std::unique_ptr<Node> root_;
  std::size_t size_ = 0;
  std::uint64_t generation_ = 1;  ///< a new cache entry's 0 is always stale
  std::uint64_t nodes_visited_ = 0;
  std::size_t cache_entries_;
  NameMap<CachedMatch> cache_;
  std::vector<std::string_view> segments_;  ///< scratch: the name being walked
  std::vector<TopicId> uncached_;           ///< scratch: an answer too long to cache
};

}  // namespace paperboy::broker
