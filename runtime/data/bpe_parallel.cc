// EncodeParallel (see bpe_parallel.h): safe cut points, a shared chunk counter, results joined in order.
#include "runtime/data/bpe_parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace kachi {
namespace {

// Chunk boundaries [0, ..., text.size()] at safe cut points about `chunk_bytes` apart.
std::vector<size_t> CutPoints(const BpeTokenizer& tokenizer, absl::string_view text, size_t chunk_bytes) {
  std::vector<size_t> cuts = {0};
  bool can_cut = true;
  for (const BpeAddedToken& added : tokenizer.added_tokens()) {
    if (added.content.find('\n') != std::string::npos) can_cut = false;
  }
  size_t pos = chunk_bytes;
  while (can_cut && pos < text.size()) {
    const size_t newline = text.find('\n', pos);
    if (newline == absl::string_view::npos || newline + 1 >= text.size()) break;
    const unsigned char next = static_cast<unsigned char>(text[newline + 1]);
    if (next > 0x20 && next < 0x7F) {
      cuts.push_back(newline + 1);
      pos = newline + 1 + chunk_bytes;
    } else {
      pos = newline + 1;
    }
  }
  cuts.push_back(text.size());
  return cuts;
}

}  // namespace

std::vector<int32_t> EncodeParallel(const BpeTokenizer& tokenizer, absl::string_view text, int threads,
                                    size_t chunk_bytes, const std::function<void(size_t)>& progress) {
  const std::vector<size_t> cuts = CutPoints(tokenizer, text, std::max<size_t>(chunk_bytes, 1));
  const size_t chunks = cuts.size() - 1;
  std::vector<std::vector<int32_t>> results(chunks);
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  size_t done_bytes = 0;
  const auto work = [&] {
    for (size_t i = next++; i < chunks; i = next++) {
      tokenizer.EncodeAppend(text.substr(cuts[i], cuts[i + 1] - cuts[i]), results[i]);
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        done_bytes += cuts[i + 1] - cuts[i];
        progress(done_bytes);
      }
    }
  };
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(chunks)));
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  size_t total = 0;
  for (const auto& r : results) total += r.size();
  std::vector<int32_t> ids;
  ids.reserve(total);
  for (const auto& r : results) ids.insert(ids.end(), r.begin(), r.end());
  return ids;
}

}  // namespace kachi
