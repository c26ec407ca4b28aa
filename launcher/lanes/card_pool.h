// Which lane holds which card, and gang placement: a lane's cards come in gangs of tp cards (one data-parallel
// replica each), and every gang lies inside one node.
#ifndef KACHI_LAUNCHER_LANES_CARD_POOL_H_
#define KACHI_LAUNCHER_LANES_CARD_POOL_H_

#include <vector>

#include "launcher/lanes/policy_types.h"

namespace kachi::lanes {

// Ownership of the pool's cards. Deterministic: equal calls on equal pools give equal cards.
class CardPool {
 public:
  // Marks lanes' absence of a card.
  static constexpr int kFree = -1;

  // All cards of `shape` free.
  explicit CardPool(PoolShape shape);

  // The pool's shape.
  const PoolShape& shape() const { return shape_; }
  // Cards no lane holds.
  int free_cards() const { return free_cards_; }
  // The lane holding `card`, or kFree.
  int OwnerOf(int card) const { return owner_[card]; }

  // `gangs` groups of `tp` free cards, each inside one node, concatenated gang after gang; empty when they do not
  // fit. Nodes holding cards of `preferred` (e.g. the lane's current or previous cards) come first, then the nodes
  // with the fewest free cards that still hold a gang (best fit, keeping large holes for large gangs); inside a
  // node, preferred cards first, then ascending. Takes nothing.
  std::vector<int> FindGangs(int gangs, int tp, const std::vector<int>& preferred) const;

  // Gives free `cards` to `lane` (each must be free).
  void Take(int lane, const std::vector<int>& cards);
  // Frees `cards`.
  void Release(const std::vector<int>& cards);

 private:
  PoolShape shape_;
  std::vector<int> owner_;
  int free_cards_ = 0;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CARD_POOL_H_
