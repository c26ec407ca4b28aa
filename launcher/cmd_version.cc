// `kachi version`: kachi's version and build type, and the versions of CUDA, NCCL, MPI, protobuf and abseil it
// was built with (and, for CUDA, the driver found at run time). Needs no MPI start-up.
#include <mpi.h>

#include <cstdio>
#include <string>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/common.h"
#include "launcher/commands.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace kachi {
namespace {

// "13.0" from CUDA's 1000 * major + 10 * minor encoding.
std::string CudaVersionString(int code) { return absl::StrCat(code / 1000, ".", (code % 1000) / 10); }

// The lines about CUDA and NCCL ("not built" in CPU-only builds).
std::string GpuVersions() {
#ifdef KACHI_WITH_CUDA
  int runtime = 0;
  int driver = 0;
  cudaRuntimeGetVersion(&runtime);
  const bool has_driver = cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0;
  int nccl_code = 0;
  ncclGetVersion(&nccl_code);
  return absl::StrCat("  cuda:     runtime ", CudaVersionString(runtime), " (compiled against ",
                      CudaVersionString(CUDART_VERSION), "), driver ",
                      has_driver ? CudaVersionString(driver) : std::string("not found"), "\n",
                      "  nccl:     ", nccl_code / 10000, ".", (nccl_code % 10000) / 100, ".", nccl_code % 100,
                      " (compiled against ", NCCL_MAJOR, ".", NCCL_MINOR, ".", NCCL_PATCH, ")\n");
#else
  return "  cuda:     not built (CPU-only build)\n  nccl:     not built (CPU-only build)\n";
#endif
}

// The MPI library's own one-line description.
std::string MpiVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string line(text, length);
  if (size_t end = line.find_first_of("\n,"); end != std::string::npos) line.resize(end);
  int major = 0;
  int minor = 0;
  MPI_Get_version(&major, &minor);
  return absl::StrCat(line, " (MPI ", major, ".", minor, ")");
}

}  // namespace

int VersionCommand(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "kachi version: takes no arguments, got '%s'\n", args.front().c_str());
    return 2;
  }
  const int pb = GOOGLE_PROTOBUF_VERSION;
  std::printf("kachi %s (%s build)\n%s  mpi:      %s\n  protobuf: %d.%d.%d\n  abseil:   %d\n", KACHI_VERSION,
              KACHI_BUILD_TYPE, GpuVersions().c_str(), MpiVersion().c_str(), pb / 1000000, (pb / 1000) % 1000,
              pb % 1000, ABSL_LTS_RELEASE_VERSION);
  return 0;
}

}  // namespace kachi
