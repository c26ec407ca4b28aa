// Every CPU reference kernel (namespace kachi::cpu) in one include, for code that calls them all by name (the CPU
// ModelOps, runtime/model/cpu_model_ops.cc). A new op's CPU twin adds its header here.
#ifndef KACHI_KERNELS_CPU_KERNELS_H_
#define KACHI_KERNELS_CPU_KERNELS_H_

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/matmul_gelu.h"
#include "kernels/position_embedding.h"
#include "kernels/residual.h"
#include "kernels/sum_of_squares.h"
#include "kernels/token_embedding.h"

#endif  // KACHI_KERNELS_CPU_KERNELS_H_
