// cir's error type and process exit codes (docs/architecture.md "Errors and exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace cir {

// The exit codes every cir program uses.
enum class ExitCode : int {
  ok = 0,             // all trials done
  usage = 2,          // usage or spec error
  store_refused = 3,  // the store refuses the spec
  trials_failed = 4,  // finished, but some trials failed or diverged
  io_fault = 74,      // a transient I/O fault (disk full, quota, EIO): nothing lost, rerun once fixed
  preempted = 75,     // stopped by a signal, resumable (EX_TEMPFAIL)
};

// Where an error happened. Every field is optional; the ones set are printed.
struct Where {
  std::string file{};   // a spec, dataset or store path
  int line = 0;         // 1-based; 0 = unknown
  int column = 0;       // 1-based; 0 = unknown
  std::string key{};    // a config key such as "loss.gamma0"
  std::string trial{};  // a trial id
  int rank = -1;        // an MPI rank; -1 = unknown
};

// An error that says what went wrong, where, and what to do about it.
// what() is the complete message, formatted like a compiler diagnostic:
//   sweeps/gamma0.toml:12:3: key 'loss.gama0': unknown key (trial 3f2a…, rank 1)
//     hint: did you mean 'loss.gamma0'?
// An error caused by a failed system call also carries its errno
// (common/file_io.hpp sets it), so that a caller can tell a full disk
// (ENOSPC, EDQUOT) or a failing device (EIO) from other errors.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, Where where = {}, std::string hint = {},
                 ExitCode code = ExitCode::usage, int sys_errno = 0);

  const std::string& message() const noexcept { return message_; }
  const Where& where() const noexcept { return where_; }
  const std::string& hint() const noexcept { return hint_; }
  ExitCode code() const noexcept { return code_; }
  // The errno of the failed system call behind this error; 0 when none.
  int sys_errno() const noexcept { return sys_errno_; }

  // The same error with the blank fields of `where` filled in from `outer`,
  // for adding context (the trial, the rank) as an error travels up.
  Error within(const Where& outer) const;

 private:
  std::string message_;
  Where where_;
  std::string hint_;
  ExitCode code_;
  int sys_errno_;
};

// The full text of an error, as Error::what() prints it.
std::string format_error(const std::string& message, const Where& where, const std::string& hint);

}  // namespace cir
