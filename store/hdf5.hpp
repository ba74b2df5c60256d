// RAII handles and small helpers over the HDF5 C API, in the style of
// HighFive: no bare hid_t outlives its scope. Every failing call throws
// h5::Failure with the innermost message of HDF5's error stack and the
// errno of a failed system call under it; store/ turns it into a cir::Error
// that names the store.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cir::store::h5 {

// A failed HDF5 call: what cir was doing, what HDF5 said, and the errno of
// the system call that failed under it (ENOSPC on a full disk); 0 when none
// did.
class Failure : public std::runtime_error {
 public:
  explicit Failure(const std::string& what, int sys_errno = 0)
      : std::runtime_error(what), sys_errno_(sys_errno) {}
  int sys_errno() const noexcept { return sys_errno_; }

 private:
  int sys_errno_;
};

// Turns off HDF5's printing of error stacks to stderr on the calling thread
// (cir reports errors itself; a thread-safe HDF5 keeps the setting per
// thread, so the coordinator's thread needs it as well as the main one).
// Idempotent; every entry point of store/ calls it.
void silence_errors();

// Throws Failure("<what>: <HDF5's message>") when `status` is negative.
void check(herr_t status, const char* what);

// An owned HDF5 identifier, closed with the matching H5?close on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  // Takes ownership of `id`; throws Failure when id < 0.
  Handle(hid_t id, Closer closer, const char* what);
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  // Gives up ownership: the caller closes the id.
  hid_t release() noexcept;

 private:
  void reset() noexcept;
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

Handle file_handle(hid_t id, const char* what);
Handle group_handle(hid_t id, const char* what);
Handle dataset_handle(hid_t id, const char* what);
Handle dataspace_handle(hid_t id, const char* what);
Handle datatype_handle(hid_t id, const char* what);
Handle attribute_handle(hid_t id, const char* what);
Handle plist_handle(hid_t id, const char* what);

// A fixed-length, null-padded ASCII string type of `size` bytes.
Handle fixed_string_type(std::size_t size);
// A variable-length UTF-8 string type (h5py reads it as str).
Handle vlen_string_type();

// Root-level attributes.
bool has_attribute(hid_t object, const char* name);
void write_attribute(hid_t object, const char* name, const std::string& value);
void write_attribute(hid_t object, const char* name, double value);
void write_attribute(hid_t object, const char* name, std::int64_t value);
// Reads a string attribute (fixed or variable length); nullopt if absent.
std::optional<std::string> read_string_attribute(hid_t object, const char* name);
// Reads a numeric attribute converted to the requested type; nullopt if absent.
std::optional<double> read_double_attribute(hid_t object, const char* name);
std::optional<std::int64_t> read_int_attribute(hid_t object, const char* name);

// Creates (or truncates) the HDF5 file at `path` for writing, its first
// `user_block` bytes (0, or a power of two from 512) left to the caller: HDF5
// starts its data after them and never writes them.
Handle create_file(const std::string& path, std::size_t user_block);

// Opens a file image (bytes read from disk) read-only in memory.
Handle open_image(std::vector<char>& bytes);

}  // namespace cir::store::h5
