// CPU reference AdamW (see adamw.h). Bias corrections are computed once per call in double.
#include "kernels/adamw.h"

#include <cmath>

namespace kachi::cpu {

template <typename T>
void AdamWStep(T* param, const T* grad, T* m, T* v, int64_t n, const AdamWHyperparameters& hyper, int64_t step) {
  const T beta1 = static_cast<T>(hyper.beta1);
  const T beta2 = static_cast<T>(hyper.beta2);
  const T one_minus_beta1 = static_cast<T>(1.0 - hyper.beta1);
  const T one_minus_beta2 = static_cast<T>(1.0 - hyper.beta2);
  const T inv_correction1 = static_cast<T>(1.0 / (1.0 - std::pow(hyper.beta1, static_cast<double>(step))));
  const T inv_correction2 = static_cast<T>(1.0 / (1.0 - std::pow(hyper.beta2, static_cast<double>(step))));
  const T learning_rate = static_cast<T>(hyper.learning_rate);
  const T eps = static_cast<T>(hyper.eps);
  const T weight_decay = static_cast<T>(hyper.weight_decay);
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T m_i = beta1 * m[i] + one_minus_beta1 * g;
    const T v_i = beta2 * v[i] + one_minus_beta2 * g * g;
    m[i] = m_i;
    v[i] = v_i;
    const T m_hat = m_i * inv_correction1;
    const T v_hat = v_i * inv_correction2;
    param[i] -= learning_rate * (m_hat / (std::sqrt(v_hat) + eps) + weight_decay * param[i]);
  }
}

template <typename T>
void AdamWStep(T* param, const T* grad, T* m, T* v, int64_t n, double learning_rate, double beta1, double beta2,
               double eps, double weight_decay, int64_t step) {
  AdamWHyperparameters hyper;
  hyper.learning_rate = learning_rate;
  hyper.beta1 = beta1;
  hyper.beta2 = beta2;
  hyper.eps = eps;
  hyper.weight_decay = weight_decay;
  AdamWStep(param, grad, m, v, n, hyper, step);
}

template void AdamWStep<float>(float*, const float*, float*, float*, int64_t, const AdamWHyperparameters&, int64_t);
template void AdamWStep<double>(double*, const double*, double*, double*, int64_t, const AdamWHyperparameters&,
                                int64_t);
template void AdamWStep<float>(float*, const float*, float*, float*, int64_t, double, double, double, double, double,
                               int64_t);
template void AdamWStep<double>(double*, const double*, double*, double*, int64_t, double, double, double, double,
                                double, int64_t);

}  // namespace kachi::cpu
