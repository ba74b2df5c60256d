#include "store/hdf5.hpp"

#include <atomic>
#include <cstdlib>
#include <utility>

namespace cir::store::h5 {

namespace {

herr_t collect_message(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  if (error->desc != nullptr && error->desc[0] != '\0') messages->emplace_back(error->desc);
  return 0;
}

// A Failure for `what` from the current thread's HDF5 error stack: its
// innermost message, the most specific one ("truncated file: eof = …"),
// and the errno that HDF5's file drivers put into theirs ("file write
// failed: …, errno = 28, error message = 'No space left on device', …").
Failure stack_failure(const char* what) {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_message, &messages);
  H5Eclear2(H5E_DEFAULT);
  int sys_errno = 0;
  for (const std::string& message : messages) {
    const auto at = message.find("errno = ");
    if (at != std::string::npos && sys_errno == 0) sys_errno = std::atoi(message.c_str() + at + 8);
  }
  return Failure(std::string(what) + ": " + (messages.empty() ? "HDF5 gave no reason" : messages.back()),
                 sys_errno);
}

// HDF5 takes two in-memory files with the same name for one file, so every
// image gets a name of its own.
std::string unique_image_name() {
  static std::atomic<std::uint64_t> counter{0};
  return "cir-store-image-" + std::to_string(counter++);
}

}  // namespace

void silence_errors() {
  thread_local bool silenced = false;
  if (silenced) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  silenced = true;
}

void check(herr_t status, const char* what) {
  if (status < 0) throw stack_failure(what);
}

Handle::Handle(hid_t id, Closer closer, const char* what) : id_(id), closer_(closer) {
  if (id < 0) throw stack_failure(what);
}

Handle::Handle(Handle&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    closer_ = other.closer_;
  }
  return *this;
}

Handle::~Handle() { reset(); }

hid_t Handle::release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);
  id_ = H5I_INVALID_HID;
}

Handle file_handle(hid_t id, const char* what) { return Handle(id, H5Fclose, what); }
Handle group_handle(hid_t id, const char* what) { return Handle(id, H5Gclose, what); }
Handle dataset_handle(hid_t id, const char* what) { return Handle(id, H5Dclose, what); }
Handle dataspace_handle(hid_t id, const char* what) { return Handle(id, H5Sclose, what); }
Handle datatype_handle(hid_t id, const char* what) { return Handle(id, H5Tclose, what); }
Handle attribute_handle(hid_t id, const char* what) { return Handle(id, H5Aclose, what); }
Handle plist_handle(hid_t id, const char* what) { return Handle(id, H5Pclose, what); }

Handle fixed_string_type(std::size_t size) {
  Handle type = datatype_handle(H5Tcopy(H5T_C_S1), "copying the string type");
  check(H5Tset_size(type, size), "sizing a string type");
  check(H5Tset_strpad(type, H5T_STR_NULLPAD), "setting a string type's padding");
  return type;
}

Handle vlen_string_type() {
  Handle type = datatype_handle(H5Tcopy(H5T_C_S1), "copying the string type");
  check(H5Tset_size(type, H5T_VARIABLE), "making a variable-length string type");
  check(H5Tset_cset(type, H5T_CSET_UTF8), "setting a string type's character set");
  return type;
}

bool has_attribute(hid_t object, const char* name) {
  const htri_t exists = H5Aexists(object, name);
  check(exists, "looking for an attribute");
  return exists > 0;
}

void write_attribute(hid_t object, const char* name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space = dataspace_handle(H5Screate(H5S_SCALAR), "creating a scalar dataspace");
  Handle attribute = attribute_handle(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), name);
  const char* text = value.c_str();
  check(H5Awrite(attribute, type, &text), name);
}

void write_attribute(hid_t object, const char* name, double value) {
  Handle space = dataspace_handle(H5Screate(H5S_SCALAR), "creating a scalar dataspace");
  Handle attribute =
      attribute_handle(H5Acreate2(object, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), name);
  check(H5Awrite(attribute, H5T_NATIVE_DOUBLE, &value), name);
}

void write_attribute(hid_t object, const char* name, std::int64_t value) {
  Handle space = dataspace_handle(H5Screate(H5S_SCALAR), "creating a scalar dataspace");
  Handle attribute =
      attribute_handle(H5Acreate2(object, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), name);
  check(H5Awrite(attribute, H5T_NATIVE_INT64, &value), name);
}

std::optional<std::string> read_string_attribute(hid_t object, const char* name) {
  if (!has_attribute(object, name)) return std::nullopt;
  Handle attribute = attribute_handle(H5Aopen(object, name, H5P_DEFAULT), name);
  Handle type = datatype_handle(H5Aget_type(attribute), name);
  if (H5Tget_class(type) != H5T_STRING) {
    throw Failure(std::string("attribute '") + name + "' is not a string");
  }
  Handle space = dataspace_handle(H5Aget_space(attribute), name);
  if (H5Sget_simple_extent_npoints(space) != 1) {
    throw Failure(std::string("attribute '") + name + "' is not a single value");
  }
  const htri_t variable = H5Tis_variable_str(type);
  check(variable, name);
  if (variable > 0) {
    Handle memory = vlen_string_type();
    char* text = nullptr;
    check(H5Aread(attribute, memory, &text), name);
    std::string value = text != nullptr ? text : "";
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(type);
  Handle memory = fixed_string_type(size);
  std::string value(size, '\0');
  check(H5Aread(attribute, memory, value.data()), name);
  value.resize(value.find('\0') == std::string::npos ? size : value.find('\0'));
  return value;
}

namespace {

template <typename T>
std::optional<T> read_number_attribute(hid_t object, const char* name, hid_t memory_type) {
  if (!has_attribute(object, name)) return std::nullopt;
  Handle attribute = attribute_handle(H5Aopen(object, name, H5P_DEFAULT), name);
  Handle type = datatype_handle(H5Aget_type(attribute), name);
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw Failure(std::string("attribute '") + name + "' is not a number");
  }
  Handle space = dataspace_handle(H5Aget_space(attribute), name);
  if (H5Sget_simple_extent_npoints(space) != 1) {
    throw Failure(std::string("attribute '") + name + "' is not a single value");
  }
  T value{};
  check(H5Aread(attribute, memory_type, &value), name);
  return value;
}

}  // namespace

std::optional<double> read_double_attribute(hid_t object, const char* name) {
  return read_number_attribute<double>(object, name, H5T_NATIVE_DOUBLE);
}

std::optional<std::int64_t> read_int_attribute(hid_t object, const char* name) {
  return read_number_attribute<std::int64_t>(object, name, H5T_NATIVE_INT64);
}

Handle create_file(const std::string& path, std::size_t user_block) {
  silence_errors();
  Handle fcpl = plist_handle(H5Pcreate(H5P_FILE_CREATE), "creating file creation properties");
  check(H5Pset_userblock(fcpl, user_block), "setting the user block's size");
  Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), "creating file access properties");
  // cir locks stores itself (lock_file.hpp) and never writes a file twice.
  check(H5Pset_file_locking(fapl, false, true), "turning HDF5's file locking off");
  // Metadata in 64 KiB blocks: few, large writes.
  check(H5Pset_meta_block_size(fapl, 64 * 1024), "setting the metadata block size");
  return file_handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl), "creating the file");
}

Handle open_image(std::vector<char>& bytes) {
  silence_errors();
  Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), "creating file access properties");
  check(H5Pset_fapl_core(fapl, std::size_t{1} << 20, false), "choosing the in-memory driver");
  check(H5Pset_file_image(fapl, bytes.data(), bytes.size()), "handing HDF5 the file's bytes");
  return file_handle(H5Fopen(unique_image_name().c_str(), H5F_ACC_RDONLY, fapl), "opening the file");
}

}  // namespace cir::store::h5
