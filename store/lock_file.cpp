#include "store/lock_file.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <utility>

#include "common/error.hpp"
#include "common/file_io.hpp"

namespace cir::store {

namespace {

std::string read_owner(int fd) {
  std::string text(512, '\0');
  const ssize_t n = pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

std::string describe_self() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("pid {} on host {}, since {:%Y-%m-%dT%H:%M:%SZ}\n", getpid(), host,
                     fmt::gmtime(std::time(nullptr)));
}

}  // namespace

LockFile LockFile::acquire(const std::string& store_path) {
  const std::string path = store_path + ".lock";
  // A lock file that its owner removed between our open() and flock() is
  // not the lock any more: try again until the locked file is the one at
  // `path`.
  for (;;) {
    const int opened = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (opened < 0) throw_sys_error(errno, path, "create the store's lock file");
    UniqueFd fd(opened, path);
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        const std::string owner = read_owner(fd.get());
        throw Error(fmt::format("the store {} is already open for writing by another process ({})",
                                store_path, owner.empty() ? "unknown owner" : owner),
                    Where{.file = store_path},
                    "two runs cannot write one store: wait for the other to finish, stop it, or "
                    "choose another sweep name",
                    ExitCode::store_refused);
      }
      throw_sys_error(error, path, "lock the store's lock file");
    }
    struct stat locked {
    }, named{};
    if (fstat(fd.get(), &locked) == 0 && stat(path.c_str(), &named) == 0 && locked.st_dev == named.st_dev &&
        locked.st_ino == named.st_ino) {
      const std::string owner = describe_self();
      if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), owner.data(), owner.size(), 0) < 0)
        throw_sys_error(errno, path, "write the store's lock file");
      return LockFile(std::move(fd));
    }
  }
}

LockFile& LockFile::operator=(LockFile&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
  }
  return *this;
}

LockFile::~LockFile() { release(); }

void LockFile::release() noexcept {
  if (fd_.get() < 0) return;
  unlink(fd_.path().c_str());
  fd_ = UniqueFd();
}

}  // namespace cir::store
