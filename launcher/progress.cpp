#include "launcher/progress.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "common/error.hpp"

namespace cir::launcher {

namespace {

// Set in every rank by mpirun (Open MPI), srun and other PMI launchers.
bool under_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

// Whether the standard output of this process's parent (mpirun, or the
// daemon that started this rank) is a terminal; false when it cannot be read.
bool launcher_output_is_terminal() {
  const std::string path = fmt::format("/proc/{}/fd/1", getppid());
  const int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  const bool terminal = isatty(fd) != 0;
  close(fd);
  return terminal;
}

}  // namespace

Progress parse_progress(const std::string& name) {
  if (name == "auto") return Progress::automatic;
  if (name == "live") return Progress::live;
  if (name == "lines") return Progress::lines;
  if (name == "none") return Progress::none;
  throw Error(fmt::format("unknown progress mode '{}'", name), {},
              "use --progress auto, live, lines or none");
}

Progress resolve_progress(Progress mode, std::FILE* out) {
  if (mode != Progress::automatic) return mode;
  if (out == nullptr || isatty(fileno(out)) == 0) return Progress::lines;
  if (!under_mpi_launcher()) return Progress::live;
  return launcher_output_is_terminal() ? Progress::live : Progress::lines;
}

}  // namespace cir::launcher
