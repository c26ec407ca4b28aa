// Card ownership and node-aware gang placement.
#include "launcher/lanes/card_pool.h"

#include <algorithm>
#include <tuple>

namespace kachi::lanes {

CardPool::CardPool(PoolShape shape) : shape_(shape), owner_(shape.cards, kFree), free_cards_(shape.cards) {}

std::vector<int> CardPool::FindGangs(int gangs, int tp, const std::vector<int>& preferred) const {
  if (gangs <= 0) return {};
  std::vector<bool> is_preferred(shape_.cards, false);
  for (int card : preferred) {
    if (card >= 0 && card < shape_.cards) is_preferred[card] = true;
  }
  // Per node: its free cards (preferred first, then ascending) and how many of them are preferred.
  struct NodeFree {
    int node;
    int preferred;
    std::vector<int> cards;
  };
  std::vector<NodeFree> nodes;
  for (int node = 0; node < shape_.Nodes(); ++node) {
    NodeFree entry{node, 0, {}};
    const int first = node * shape_.CardsPerNode();
    const int last = std::min(shape_.cards, first + shape_.CardsPerNode());
    for (int card = first; card < last; ++card) {
      if (owner_[card] != kFree) continue;
      entry.cards.push_back(card);
      entry.preferred += is_preferred[card] ? 1 : 0;
    }
    std::stable_partition(entry.cards.begin(), entry.cards.end(), [&](int card) { return is_preferred[card]; });
    if (static_cast<int>(entry.cards.size()) >= tp) nodes.push_back(std::move(entry));
  }
  std::sort(nodes.begin(), nodes.end(), [](const NodeFree& x, const NodeFree& y) {
    return std::make_tuple(-x.preferred, x.cards.size(), x.node) <
           std::make_tuple(-y.preferred, y.cards.size(), y.node);
  });
  std::vector<int> chosen;
  int remaining = gangs;
  for (const NodeFree& node : nodes) {
    const int fit = std::min(remaining, static_cast<int>(node.cards.size()) / tp);
    chosen.insert(chosen.end(), node.cards.begin(), node.cards.begin() + fit * tp);
    remaining -= fit;
    if (remaining == 0) return chosen;
  }
  return {};
}

void CardPool::Take(int lane, const std::vector<int>& cards) {
  for (int card : cards) {
    if (owner_[card] == kFree) --free_cards_;
    owner_[card] = lane;
  }
}

void CardPool::Release(const std::vector<int>& cards) {
  for (int card : cards) {
    if (owner_[card] != kFree) ++free_cards_;
    owner_[card] = kFree;
  }
}

}  // namespace kachi::lanes
