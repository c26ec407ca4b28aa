// Tests for kachi::cpu::AdamWStep: three steps against a hand-written double reference with weight decay and bias
// correction, for the double and float instantiations, through both overloads.
#include "kernels/adamw.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kSize = 41;
constexpr int kSteps = 3;

// Optimizer state of the reference implementation.
struct ReferenceState {
  std::vector<double> param, m, v;
};

// One AdamW step written out element by element (the textbook form, decoupled weight decay).
void ReferenceAdamW(ReferenceState* s, const std::vector<double>& grad, const cpu::AdamWHyperparameters& h, int t) {
  for (size_t i = 0; i < grad.size(); ++i) {
    s->m[i] = h.beta1 * s->m[i] + (1 - h.beta1) * grad[i];
    s->v[i] = h.beta2 * s->v[i] + (1 - h.beta2) * grad[i] * grad[i];
    const double m_hat = s->m[i] / (1 - std::pow(h.beta1, t));
    const double v_hat = s->v[i] / (1 - std::pow(h.beta2, t));
    s->param[i] = s->param[i] - h.learning_rate * (m_hat / (std::sqrt(v_hat) + h.eps) + h.weight_decay * s->param[i]);
  }
}

cpu::AdamWHyperparameters TestHyperparameters() {
  cpu::AdamWHyperparameters h;
  h.learning_rate = 3e-2;
  h.beta1 = 0.85;
  h.beta2 = 0.97;
  h.eps = 1e-6;
  h.weight_decay = 0.1;
  return h;
}

TEST(AdamWTest, ThreeStepsMatchReferenceInDoubleAndFloat) {
  const auto h = TestHyperparameters();
  const auto initial = RandomValues(kSize, 1, -2.0, 2.0);
  ReferenceState ref{initial, std::vector<double>(kSize, 0.0), std::vector<double>(kSize, 0.0)};
  auto param = initial;
  std::vector<double> m(kSize, 0.0), v(kSize, 0.0);
  auto param_f = testing::Cast<float>(initial);
  std::vector<float> m_f(kSize, 0.0f), v_f(kSize, 0.0f);
  for (int t = 1; t <= kSteps; ++t) {
    const auto grad = testing::Cast<double>(RandomValues<float>(kSize, 10 + t));  // exactly representable in float
    const auto grad_f = testing::Cast<float>(grad);
    ReferenceAdamW(&ref, grad, h, t);
    cpu::AdamWStep(param.data(), grad.data(), m.data(), v.data(), kSize, h, t);
    cpu::AdamWStep(param_f.data(), grad_f.data(), m_f.data(), v_f.data(), kSize, h.learning_rate, h.beta1, h.beta2,
                   h.eps, h.weight_decay, t);
    EXPECT_LE(MaxRelativeError(param, ref.param), 1e-14) << "step " << t;
    EXPECT_LE(MaxRelativeError(m, ref.m), 1e-14) << "step " << t;
    EXPECT_LE(MaxRelativeError(v, ref.v), 1e-14) << "step " << t;
    EXPECT_LE(MaxRelativeError(param_f, ref.param), 1e-6) << "step " << t;  // float: a few ulps of ~1
  }
  // The steps moved the parameters (a no-op update would also "match" an unchanged reference otherwise).
  EXPECT_GT(MaxRelativeError(param, initial), 1e-3);
}

TEST(AdamWTest, WeightDecayShrinksParametersWithZeroGradient) {
  auto h = TestHyperparameters();
  const auto initial = RandomValues(kSize, 21, -2.0, 2.0);
  auto param = initial;
  const std::vector<double> grad(kSize, 0.0);  // isolates the decoupled decay term
  std::vector<double> m(kSize, 0.0), v(kSize, 0.0);
  cpu::AdamWStep(param.data(), grad.data(), m.data(), v.data(), kSize, h, 1);
  for (int64_t i = 0; i < kSize; ++i) {
    EXPECT_DOUBLE_EQ(param[i], initial[i] * (1 - h.learning_rate * h.weight_decay)) << "i=" << i;
  }
}

}  // namespace
}  // namespace kachi::testing
