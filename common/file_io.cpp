#include "common/file_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/error.hpp"

namespace cir {

namespace fs = std::filesystem;

namespace {

// What the user can do about a failed system call, by its errno.
std::string hint_for(int error) {
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return "the disk or the quota is full: free space, then run again";
    case EACCES:
    case EPERM:
    case EROFS:
      return "check the permissions of the folder and that its file system is writable";
    case EIO:
      return "the device reported an I/O error: check the disk";
    default:
      return {};
  }
}

// Closes `fd`; returns 0 or the errno of close(). EINTR counts as closed:
// Linux releases the descriptor before it reports EINTR, so a retry could
// close a descriptor another thread has just opened.
int close_fd(int fd) noexcept {
  if (::close(fd) == 0 || errno == EINTR) return 0;
  return errno;
}

fs::path folder_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

// Removes `tmp` and rethrows the exception in flight.
[[noreturn]] void remove_and_rethrow(const fs::path& tmp) {
  std::error_code ignored;
  fs::remove(tmp, ignored);
  throw;
}

}  // namespace

Error sys_error(int error, const fs::path& path, std::string_view operation) {
  std::string message = fmt::format("cannot {}: {}", operation, std::strerror(error));
  const bool fault = is_io_fault(error);
  if (fault) {
    if (const std::string free = free_space(path); !free.empty()) message += " (" + free + ")";
  }
  return Error(std::move(message), Where{.file = path.string()}, hint_for(error),
               fault ? ExitCode::io_fault : ExitCode::usage, error);
}

void throw_sys_error(int error, const fs::path& path, std::string_view operation) {
  throw sys_error(error, path, operation);
}

bool is_io_fault(int error) { return error == ENOSPC || error == EDQUOT || error == EIO; }

std::string free_space(const fs::path& path) {
  struct statvfs stats {};
  for (fs::path at = path.empty() ? fs::path(".") : path; ::statvfs(at.c_str(), &stats) != 0;) {
    if (at == "." || at == at.root_path()) return {};
    at = at.has_parent_path() ? at.parent_path() : fs::path(".");
  }
  double bytes = static_cast<double>(stats.f_bavail) * static_cast<double>(stats.f_frsize);
  constexpr std::array kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (bytes >= 1024.0 && unit + 1 < kUnits.size()) {
    bytes /= 1024.0;
    ++unit;
  }
  const std::string amount =
      unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
  return amount + " free on its file system";
}

UniqueFd::UniqueFd(UniqueFd&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close_fd(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close_fd(fd_);
}

void UniqueFd::close() {
  if (fd_ < 0) return;
  const int error = close_fd(std::exchange(fd_, -1));
  if (error != 0) throw_sys_error(error, path_, "close");
}

UniqueFd open_file(const fs::path& path, int flags, mode_t mode) {
  for (;;) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0) return UniqueFd(fd, path);
    if (errno != EINTR) throw_sys_error(errno, path, (flags & O_CREAT) != 0 ? "create" : "open");
  }
}

void write_all(const UniqueFd& fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys_error(errno, fd.path(), "write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void sync_file(const UniqueFd& fd) {
  if (::fsync(fd.get()) != 0) throw_sys_error(errno, fd.path(), "fsync");
}

void sync_folder(const fs::path& folder) {
  UniqueFd fd = open_file(folder, O_RDONLY | O_DIRECTORY);
  sync_file(fd);
  fd.close();
}

void write_file_synced(const fs::path& path, const std::vector<std::string_view>& pieces) {
  UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
  for (const std::string_view piece : pieces) write_all(fd, piece);
  sync_file(fd);
  fd.close();
}

void rename_durably(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int error = errno;
    throw_sys_error(error, from, fmt::format("rename it to {}", to.string()));
  }
  sync_folder(folder_of(to));
}

void replace_file(const fs::path& target, const std::vector<std::string_view>& pieces, const fs::path& tmp) {
  const fs::path temporary = tmp.empty() ? fs::path(target.string() + ".tmp") : tmp;
  try {
    write_file_synced(temporary, pieces);
    rename_durably(temporary, target);
  } catch (...) {
    remove_and_rethrow(temporary);
  }
}

void replace_file_with(const fs::path& target, const fs::path& tmp,
                       const std::function<void(const fs::path& tmp)>& write) {
  try {
    write(tmp);
    UniqueFd fd = open_file(tmp, O_RDONLY);
    sync_file(fd);
    fd.close();
    rename_durably(tmp, target);
  } catch (...) {
    remove_and_rethrow(tmp);
  }
}

}  // namespace cir
