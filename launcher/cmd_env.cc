// `kachi env`: starts the session like any command and prints one line per rank, gathered to rank 0 and printed
// in rank order: rank, world size, local rank, local size, node, device, backend and discovery source.
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"

namespace kachi {
namespace {

// Bytes reserved per rank's line in the gather (lines are truncated to fit).
constexpr int kLineBytes = 256;

// The line rank `session` contributes.
std::string EnvLine(const Session& session) {
  const WorldInfo& w = session.world;
  return absl::StrCat("rank=", w.rank, " world=", w.world_size, " local_rank=", w.local_rank, " local_size=",
                      w.local_size, " node=", w.node_index, ":", w.node_name, " device=", session.device,
                      " backend=", session.backend, " source=", w.source);
}

}  // namespace

int EnvCommand(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "kachi env: takes no arguments, got '%s'\n", args.front().c_str());
    return 2;
  }
  auto session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi env", session.status());
    return 1;
  }
  std::string line = EnvLine(**session);
  line.resize(kLineBytes, '\0');
  const int size = (*session)->world.world_size;
  std::vector<char> all((*session)->world.rank == 0 ? static_cast<size_t>(size) * kLineBytes : 0);
  MPI_Gather(line.data(), kLineBytes, MPI_CHAR, all.data(), kLineBytes, MPI_CHAR, 0, MPI_COMM_WORLD);
  if ((*session)->world.rank == 0) {
    for (int r = 0; r < size; ++r) {
      const char* text = all.data() + static_cast<size_t>(r) * kLineBytes;
      std::printf("%.*s\n", kLineBytes - 1, text);
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace kachi
