// A small tmpfs for the disk-full tests: mounted at a folder for the life of
// the object (mount(2) needs root; mounted() says whether it worked and
// why() why not, for the skip message), and a filler file that fills it.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace cir::testing {

class Tmpfs {
 public:
  Tmpfs(std::filesystem::path where, const std::string& size) : where_(std::move(where)) {
    std::filesystem::create_directories(where_);
    const std::string options = "size=" + size;
    if (::mount("tmpfs", where_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      why_ = std::string("cannot mount a tmpfs at ") + where_.string() + " (" + std::strerror(errno) +
             "): the disk-full tests need root or CAP_SYS_ADMIN";
    }
  }
  // Detaches it even while a file on it is still open.
  ~Tmpfs() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::filesystem::path& path() const { return where_; }
  std::filesystem::path filler() const { return where_ / "filler"; }

  // Writes filler() until not one more byte fits.
  void fill() const {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    const std::string block(1 << 20, 'x');
    for (std::size_t size = block.size(); size > 0; size /= 2) {
      while (::write(fd, block.data(), size) > 0) {
      }
    }
    ::close(fd);
  }
  // Frees what fill() took.
  void unfill() const { std::filesystem::remove(filler()); }

 private:
  std::filesystem::path where_;
  bool mounted_ = false;
  std::string why_;
};

}  // namespace cir::testing
