// Owned file descriptors and durable writes: the one place where cir writes
// a file so that a crash at any moment leaves it whole (the store, the
// checkpoints, the safetensors files, the store's lock file).
//
// A durable replace writes the new content to a temporary file beside the
// target, fsyncs it, renames it over the target and fsyncs the folder: at
// every instant the target holds the old or the new complete content, and
// once the call returns the new content survives a power loss.
//
// Every failed system call throws cir::Error naming the path, the operation
// and strerror(errno); Error::sys_errno() holds the errno. A full disk or
// quota (ENOSPC, EDQUOT) and a device error (EIO) are I/O faults: their
// error has ExitCode::io_fault and the free space on the path's file system
// in its message, and a sweep stops on one (exit 74) instead of failing its
// trials (docs/architecture.md "Errors and exit codes").
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cir {

class Error;

// The cir::Error of a failed system call: "<path>: cannot <operation>:
// <strerror(error)>", with `error` in Error::sys_errno(); for an I/O fault
// (is_io_fault) ExitCode::io_fault and " (<free_space(path)>)" after it,
// else ExitCode::usage.
Error sys_error(int error, const std::filesystem::path& path, std::string_view operation);
// Throws sys_error(error, path, operation).
[[noreturn]] void throw_sys_error(int error, const std::filesystem::path& path, std::string_view operation);

// Whether `error` (an errno) is an I/O fault: ENOSPC, EDQUOT or EIO, which
// go away once space is freed or the device is fixed.
bool is_io_fault(int error);

// The space left for unprivileged users on the file system that holds
// `path` (or its nearest existing folder), as "12.0 KiB free on its file
// system"; empty when it cannot be known.
std::string free_space(const std::filesystem::path& path);

// An open file descriptor and the path it was opened at, closed when its
// owner goes. Move-only.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  UniqueFd(int fd, std::filesystem::path path) noexcept : fd_(fd), path_(std::move(path)) {}
  UniqueFd(UniqueFd&& other) noexcept;
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  // Closes without reporting: an owner that goes on an error path is
  // already reporting the first failure. Call close() where the write must
  // be known to have succeeded.
  ~UniqueFd();

  int get() const noexcept { return fd_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  // Closes now and throws when close() fails (some file systems report a
  // failed write only there). Does nothing when nothing is open.
  void close();

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// open(2) with O_CLOEXEC added, retried after EINTR.
UniqueFd open_file(const std::filesystem::path& path, int flags, mode_t mode = 0644);

// Writes all of `bytes`, going on after short writes and EINTR.
void write_all(const UniqueFd& fd, std::string_view bytes);

// fsync(2) of an open file.
void sync_file(const UniqueFd& fd);

// fsync(2) of a folder: makes the names created, renamed or removed in it
// durable.
void sync_folder(const std::filesystem::path& folder);

// Creates or truncates `path`, writes the pieces in order, fsyncs and closes
// it. Not atomic on its own: for files inside a folder that is published by
// rename_durably().
void write_file_synced(const std::filesystem::path& path, const std::vector<std::string_view>& pieces);

// rename(2) of `from` over `to` (files or folders), then fsync of the folder
// of `to`.
void rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// The durable replace of `target` by the pieces in order, written first to
// `tmp` (<target>.tmp when empty). On failure `tmp` is removed and `target`
// is left as it was.
void replace_file(const std::filesystem::path& target, const std::vector<std::string_view>& pieces,
                  const std::filesystem::path& tmp = {});

// The same for a writer that creates the file itself from a path (HDF5):
// `write(tmp)` creates `tmp`, then it is fsynced and renamed over `target`.
void replace_file_with(const std::filesystem::path& target, const std::filesystem::path& tmp,
                       const std::function<void(const std::filesystem::path& tmp)>& write);

}  // namespace cir
