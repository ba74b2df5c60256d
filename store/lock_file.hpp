// The writer's lock: <store>.lock, held with flock() for as long as a Writer
// lives, so two cir-sweep runs cannot write one store. The kernel drops the
// lock when the process dies, however it dies; the file holds the owner's
// pid, host and start time for the message the second writer prints.
#pragma once

#include <string>

#include "common/file_io.hpp"

namespace cir::store {

class LockFile {
 public:
  // Takes the lock or throws cir::Error: ExitCode::store_refused naming the
  // process that holds it; a lock file that cannot be created, locked or
  // written is the error of that system call (common/file_io.hpp:
  // ExitCode::io_fault on a full disk, else usage), not the store refusing.
  static LockFile acquire(const std::string& store_path);
  LockFile(LockFile&& other) noexcept = default;
  LockFile& operator=(LockFile&& other) noexcept;
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  // Removes the lock file and releases the lock.
  ~LockFile();

 private:
  explicit LockFile(UniqueFd fd) : fd_(std::move(fd)) {}
  void release() noexcept;
  UniqueFd fd_;  // open at <store>.lock
};

}  // namespace cir::store
