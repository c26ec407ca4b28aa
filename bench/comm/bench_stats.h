// Order statistics for benchmark samples.
#ifndef KACHI_BENCH_COMM_BENCH_STATS_H_
#define KACHI_BENCH_COMM_BENCH_STATS_H_

#include <vector>

namespace kachi {

// Median of `samples` (mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> samples);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_BENCH_STATS_H_
