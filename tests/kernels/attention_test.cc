// Tests for kachi::cpu::AttentionForward/Backward: a naive causal softmax-attention reference, the probabilities
// it keeps, finite-difference dqkv (accumulating into a pre-filled buffer), float vs double, and heads split
// into two tensor-parallel groups matching full attention.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kBatch = 2;
constexpr int64_t kSeqLen = 5;
constexpr int64_t kHeads = 4;
constexpr int64_t kHeadSize = 3;
constexpr int64_t kQkvWidth = 3 * kHeads * kHeadSize;
constexpr int64_t kOutWidth = kHeads * kHeadSize;

// Element d of head h's query (part 0), key (1) or value (2) at (b, t) in a qkv buffer with `heads` heads.
double QkvAt(const std::vector<double>& qkv, int64_t heads, int64_t b, int64_t t, int part, int64_t h, int64_t d) {
  return qkv[(b * kSeqLen + t) * 3 * heads * kHeadSize + part * heads * kHeadSize + h * kHeadSize + d];
}

// Causal attention from the definition: softmax over t2 <= t of q.k / sqrt(HS), times v.
std::vector<double> NaiveAttention(const std::vector<double>& qkv, int64_t heads) {
  std::vector<double> out(kBatch * kSeqLen * heads * kHeadSize, 0.0);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t t = 0; t < kSeqLen; ++t) {
        std::vector<double> weights(t + 1);
        double total = 0;
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          double score = 0;
          for (int64_t d = 0; d < kHeadSize; ++d) {
            score += QkvAt(qkv, heads, b, t, 0, h, d) * QkvAt(qkv, heads, b, t2, 1, h, d);
          }
          weights[t2] = std::exp(score / std::sqrt(static_cast<double>(kHeadSize)));
          total += weights[t2];
        }
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          for (int64_t d = 0; d < kHeadSize; ++d) {
            out[(b * kSeqLen + t) * heads * kHeadSize + h * kHeadSize + d] +=
                weights[t2] / total * QkvAt(qkv, heads, b, t2, 2, h, d);
          }
        }
      }
    }
  }
  return out;
}

TEST(AttentionTest, ForwardMatchesNaiveAndKeepsCausalProbabilities) {
  const auto qkv = RandomValues(kBatch * kSeqLen * kQkvWidth, 1, -2.0, 2.0);
  std::vector<double> out(kBatch * kSeqLen * kOutWidth), att(kBatch * kHeads * kSeqLen * kSeqLen, 9.0);
  cpu::AttentionForward(out.data(), att.data(), qkv.data(), kBatch, kSeqLen, kHeads, kHeadSize);
  EXPECT_LE(MaxRelativeError(out, NaiveAttention(qkv, kHeads)), 1e-14);
  for (int64_t row = 0; row < kBatch * kHeads * kSeqLen; ++row) {
    const int64_t t = row % kSeqLen;
    double total = 0;
    for (int64_t t2 = 0; t2 < kSeqLen; ++t2) {
      const double p = att[row * kSeqLen + t2];
      if (t2 > t) {
        EXPECT_EQ(p, 0.0) << "future position " << t2 << " of query " << t;
      } else {
        EXPECT_GT(p, 0.0);
      }
      total += p;
    }
    EXPECT_NEAR(total, 1.0, 1e-14) << "row " << row;
  }
}

TEST(AttentionTest, BackwardMatchesFiniteDifferences) {
  auto qkv = RandomValues(kBatch * kSeqLen * kQkvWidth, 11, -2.0, 2.0);
  const auto projection = RandomValues(kBatch * kSeqLen * kOutWidth, 12);
  std::vector<double> att(kBatch * kHeads * kSeqLen * kSeqLen);
  auto loss = [&] {
    std::vector<double> out(kBatch * kSeqLen * kOutWidth);
    cpu::AttentionForward(out.data(), att.data(), qkv.data(), kBatch, kSeqLen, kHeads, kHeadSize);
    return ProjectedSum(out, projection);
  };
  loss();
  const auto saved_att = att;
  const auto dqkv0 = RandomValues(qkv.size(), 13);
  auto dqkv = dqkv0;
  cpu::AttentionBackward(dqkv.data(), projection.data(), qkv.data(), saved_att.data(), kBatch, kSeqLen, kHeads,
                         kHeadSize);
  EXPECT_LE(MaxRelativeError(Accumulated(dqkv, dqkv0), FiniteDifferenceGradient(&qkv, loss)),
            testing::kGradientTolerance);
}

TEST(AttentionTest, FloatForwardMatchesDouble) {
  const auto qkv = RandomValues(kBatch * kSeqLen * kQkvWidth, 21, -2.0, 2.0);
  std::vector<double> out(kBatch * kSeqLen * kOutWidth), att(kBatch * kHeads * kSeqLen * kSeqLen);
  cpu::AttentionForward(out.data(), att.data(), qkv.data(), kBatch, kSeqLen, kHeads, kHeadSize);
  const auto qkv_f = testing::Cast<float>(qkv);
  std::vector<float> out_f(out.size()), att_f(att.size());
  cpu::AttentionForward(out_f.data(), att_f.data(), qkv_f.data(), kBatch, kSeqLen, kHeads, kHeadSize);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
  EXPECT_LE(MaxRelativeError(att_f, att), testing::kFloatForwardTolerance);
}

// Copies heads [first, first + count) of every (b, t) qkv row into a qkv buffer with `count` heads.
std::vector<double> HeadGroup(const std::vector<double>& qkv, int64_t first, int64_t count) {
  std::vector<double> group(kBatch * kSeqLen * 3 * count * kHeadSize);
  for (int64_t row = 0; row < kBatch * kSeqLen; ++row) {
    for (int part = 0; part < 3; ++part) {
      const double* src = qkv.data() + row * kQkvWidth + part * kOutWidth + first * kHeadSize;
      std::copy(src, src + count * kHeadSize, group.data() + (row * 3 + part) * count * kHeadSize);
    }
  }
  return group;
}

TEST(AttentionTest, TwoHeadGroupsMatchFullAttention) {
  const auto qkv = RandomValues(kBatch * kSeqLen * kQkvWidth, 31, -2.0, 2.0);
  const auto dout = RandomValues(kBatch * kSeqLen * kOutWidth, 32);
  std::vector<double> out(kBatch * kSeqLen * kOutWidth), att(kBatch * kHeads * kSeqLen * kSeqLen);
  cpu::AttentionForward(out.data(), att.data(), qkv.data(), kBatch, kSeqLen, kHeads, kHeadSize);
  std::vector<double> dqkv(qkv.size(), 0.0);
  cpu::AttentionBackward(dqkv.data(), dout.data(), qkv.data(), att.data(), kBatch, kSeqLen, kHeads, kHeadSize);

  const int64_t group_heads = kHeads / 2;
  const int64_t group_width = group_heads * kHeadSize;
  std::vector<double> joined_out(out.size()), joined_dqkv(qkv.size());
  for (int64_t group = 0; group < 2; ++group) {
    const auto group_qkv = HeadGroup(qkv, group * group_heads, group_heads);
    std::vector<double> group_out(kBatch * kSeqLen * group_width);
    std::vector<double> group_att(kBatch * group_heads * kSeqLen * kSeqLen);
    cpu::AttentionForward(group_out.data(), group_att.data(), group_qkv.data(), kBatch, kSeqLen, group_heads,
                          kHeadSize);
    // The group's dout is its slice of the full dout; its dqkv goes back to its heads' slots.
    std::vector<double> group_dout(group_out.size()), group_dqkv(group_qkv.size(), 0.0);
    for (int64_t row = 0; row < kBatch * kSeqLen; ++row) {
      for (int64_t j = 0; j < group_width; ++j) {
        group_dout[row * group_width + j] = dout[row * kOutWidth + group * group_width + j];
        joined_out[row * kOutWidth + group * group_width + j] = group_out[row * group_width + j];
      }
    }
    cpu::AttentionBackward(group_dqkv.data(), group_dout.data(), group_qkv.data(), group_att.data(), kBatch, kSeqLen,
                           group_heads, kHeadSize);
    for (int64_t row = 0; row < kBatch * kSeqLen; ++row) {
      for (int part = 0; part < 3; ++part) {
        for (int64_t j = 0; j < group_width; ++j) {
          joined_dqkv[row * kQkvWidth + part * kOutWidth + group * group_width + j] =
              group_dqkv[(row * 3 + part) * group_width + j];
        }
      }
    }
  }
  EXPECT_LE(MaxRelativeError(joined_out, out), 1e-14);
  EXPECT_LE(MaxRelativeError(joined_dqkv, dqkv), 1e-14);
}

}  // namespace
}  // namespace kachi::testing
