// One AdamW step on a flat tensor (or on a ZeRO-1 shard of one: the update is elementwise).
#ifndef KACHI_KERNELS_ADAMW_H_
#define KACHI_KERNELS_ADAMW_H_

#include <cstdint>

namespace kachi::cpu {

// Hyperparameters of one AdamW step. `step` counts from 1 (the first update uses step = 1).
struct AdamWHyperparameters {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Decoupled weight decay: param -= learning_rate * weight_decay * param (0 disables it).
  double weight_decay = 0.0;
};

// For each i in [0, n):
//   m[i] = beta1 * m[i] + (1 - beta1) * grad[i];  v[i] = beta2 * v[i] + (1 - beta2) * grad[i]^2
//   m_hat = m[i] / (1 - beta1^step);  v_hat = v[i] / (1 - beta2^step)
//   param[i] -= learning_rate * (m_hat / (sqrt(v_hat) + eps) + weight_decay * param[i])
// m and v are the optimizer state (zeros before the first step). Requires step >= 1.
template <typename T>
void AdamWStep(T* param, const T* grad, T* m, T* v, int64_t n, const AdamWHyperparameters& hyper, int64_t step);

// Same step with the hyperparameters spelled out.
template <typename T>
void AdamWStep(T* param, const T* grad, T* m, T* v, int64_t n, double learning_rate, double beta1, double beta2,
               double eps, double weight_decay, int64_t step);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_ADAMW_H_
