// Every CUDA kernel entry point (namespace kachi::cuda) in one include, for code that calls them all by name (the
// CUDA ModelOps, runtime/model/cuda_model_ops.cc). CUDA builds only. A new op's CUDA twin adds its header here.
#ifndef KACHI_KERNELS_CUDA_KERNELS_H_
#define KACHI_KERNELS_CUDA_KERNELS_H_

#include "kernels/adamw_cuda.h"
#include "kernels/attention_cuda.h"
#include "kernels/cross_entropy_cuda.h"
#include "kernels/elementwise_cuda.h"
#include "kernels/gelu_cuda.h"
#include "kernels/layernorm_cuda.h"
#include "kernels/matmul_cuda.h"
#include "kernels/position_embedding_cuda.h"
#include "kernels/residual_layernorm_cuda.h"
#include "kernels/sum_of_squares_cuda.h"
#include "kernels/token_embedding_cuda.h"

#endif  // KACHI_KERNELS_CUDA_KERNELS_H_
