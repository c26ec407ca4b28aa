// Tests for kachi::cpu::MatmulGeluForward / MatmulBackwardThroughGelu: the forward against independent dot
// products and GELU, and the fused backward of a two-layer MLP (x -> fc -> GELU -> proj) against finite differences
// of the whole chain (so dpre_gelu, the fc bias gradient folded into dpre_bias and the projection's gradients are
// all checked), accumulating into pre-filled gradients; float against double.
#include "kernels/matmul_gelu.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/gelu.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

// An MLP slice with sizes no vector width divides: x [rows, in] -> pre [rows, hidden] -> y [rows, out].
constexpr int64_t kRows = 5, kIn = 7, kHidden = 11, kOut = 6;

struct Mlp {
  std::vector<double> x = RandomValues(kRows * kIn, 1);
  std::vector<double> fc_weight = RandomValues(kHidden * kIn, 2), fc_bias = RandomValues(kHidden, 3);
  std::vector<double> proj_weight = RandomValues(kOut * kHidden, 4), proj_bias = RandomValues(kOut, 5);
  std::vector<double> projection = RandomValues(kRows * kOut, 6);

  // <proj(gelu(fc(x))), projection>, with the forward of the fused op.
  double Loss(std::vector<double>* pre = nullptr, std::vector<double>* hidden = nullptr) const {
    std::vector<double> p(kRows * kHidden), h(kRows * kHidden), y(kRows * kOut);
    cpu::MatmulGeluForward(h.data(), p.data(), x.data(), fc_weight.data(), fc_bias.data(), kRows, kIn, kHidden);
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t o = 0; o < kOut; ++o) {
        double sum = proj_bias[o];
        for (int64_t k = 0; k < kHidden; ++k) sum += h[r * kHidden + k] * proj_weight[o * kHidden + k];
        y[r * kOut + o] = sum;
      }
    }
    if (pre != nullptr) *pre = p;
    if (hidden != nullptr) *hidden = h;
    return ProjectedSum(y, projection);
  }
};

TEST(MatmulGeluTest, ForwardIsTheMatmulThenGelu) {
  const Mlp mlp;
  std::vector<double> pre, hidden;
  mlp.Loss(&pre, &hidden);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t o = 0; o < kHidden; ++o) {
      double dot = mlp.fc_bias[o];
      for (int64_t k = 0; k < kIn; ++k) dot += mlp.x[r * kIn + k] * mlp.fc_weight[o * kIn + k];
      const double gelu = 0.5 * dot * (1 + std::tanh(0.7978845608028654 * (dot + 0.044715 * dot * dot * dot)));
      EXPECT_NEAR(pre[r * kHidden + o], dot, 1e-12);
      EXPECT_NEAR(hidden[r * kHidden + o], gelu, 1e-12);
    }
  }
}

TEST(MatmulGeluTest, BackwardThroughGeluMatchesFiniteDifferences) {
  Mlp mlp;
  std::vector<double> pre, hidden;
  mlp.Loss(&pre, &hidden);
  // Pre-filled gradients: the op accumulates into all but dpre_gelu, which it writes (poisoned here).
  std::vector<double> dpre(kRows * kHidden, 1e30);
  const auto dfc_bias0 = RandomValues(kHidden, 7), dproj_weight0 = RandomValues(kOut * kHidden, 8),
             dproj_bias0 = RandomValues(kOut, 9);
  auto dfc_bias = dfc_bias0, dproj_weight = dproj_weight0, dproj_bias = dproj_bias0;
  cpu::MatmulBackwardThroughGelu(dpre.data(), dfc_bias.data(), dproj_weight.data(), dproj_bias.data(),
                                 mlp.projection.data(), hidden.data(), mlp.proj_weight.data(), pre.data(), kRows,
                                 kHidden, kOut);
  auto loss = [&] { return mlp.Loss(); };
  EXPECT_LE(MaxRelativeError(Accumulated(dfc_bias, dfc_bias0), FiniteDifferenceGradient(&mlp.fc_bias, loss)),
            testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dproj_weight, dproj_weight0),
                             FiniteDifferenceGradient(&mlp.proj_weight, loss)),
            testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dproj_bias, dproj_bias0), FiniteDifferenceGradient(&mlp.proj_bias, loss)),
            testing::kGradientTolerance);
  // dpre_gelu = dL/dpre, element by element: checked through x's gradient, dL/dx = dpre @ fc_weight.
  std::vector<double> dx(kRows * kIn, 0.0);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t k = 0; k < kIn; ++k) {
      for (int64_t o = 0; o < kHidden; ++o) dx[r * kIn + k] += dpre[r * kHidden + o] * mlp.fc_weight[o * kIn + k];
    }
  }
  EXPECT_LE(MaxRelativeError(dx, FiniteDifferenceGradient(&mlp.x, loss)), testing::kGradientTolerance);
}

TEST(MatmulGeluTest, FloatMatchesDouble) {
  const Mlp mlp;
  std::vector<double> pre, hidden;
  mlp.Loss(&pre, &hidden);
  std::vector<double> dpre(kRows * kHidden), dfc_bias(kHidden, 0.0), dw(kOut * kHidden, 0.0), db(kOut, 0.0);
  cpu::MatmulBackwardThroughGelu(dpre.data(), dfc_bias.data(), dw.data(), db.data(), mlp.projection.data(),
                                 hidden.data(), mlp.proj_weight.data(), pre.data(), kRows, kHidden, kOut);

  const auto x = testing::Cast<float>(mlp.x), w = testing::Cast<float>(mlp.fc_weight),
             b = testing::Cast<float>(mlp.fc_bias), pw = testing::Cast<float>(mlp.proj_weight),
             dy = testing::Cast<float>(mlp.projection);
  std::vector<float> pre_f(kRows * kHidden), hidden_f(kRows * kHidden);
  cpu::MatmulGeluForward(hidden_f.data(), pre_f.data(), x.data(), w.data(), b.data(), kRows, kIn, kHidden);
  EXPECT_LE(MaxRelativeError(hidden_f, hidden), testing::kFloatForwardTolerance);
  std::vector<float> dpre_f(kRows * kHidden), dfc_bias_f(kHidden, 0.0f), dw_f(kOut * kHidden, 0.0f),
      db_f(kOut, 0.0f);
  cpu::MatmulBackwardThroughGelu(dpre_f.data(), dfc_bias_f.data(), dw_f.data(), db_f.data(), dy.data(),
                                 hidden_f.data(), pw.data(), pre_f.data(), kRows, kHidden, kOut);
  EXPECT_LE(MaxRelativeError(dpre_f, dpre), testing::kFloatForwardTolerance);
  EXPECT_LE(MaxRelativeError(dfc_bias_f, dfc_bias), testing::kFloatForwardTolerance);
  EXPECT_LE(MaxRelativeError(dw_f, dw), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
