#include "verify/hdf5_handle.h"

#include <fmt/format.h>

#include "runtime/error.h"

namespace mlcp::verify {
namespace {

herr_t collectFrame(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  char minor[256] = {0};
  H5E_type_t type;
  if (H5Eget_msg(err->min_num, &type, minor, sizeof(minor)) < 0) minor[0] = '\0';
  if (!out->empty()) *out += "; ";
  *out += fmt::format("{}: {}", err->func_name ? err->func_name : "?",
                      err->desc && *err->desc ? err->desc : minor);
  if (minor[0] != '\0' && err->desc && *err->desc) *out += fmt::format(" ({})", minor);
  return 0;
}

}  // namespace

void silenceHdf5Errors() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

std::string hdf5ErrorStack() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collectFrame, &out);
  H5Eclear2(H5E_DEFAULT);
  return out;
}

hid_t h5check(hid_t id, const std::string& what) {
  if (id < 0) {
    std::string stack = hdf5ErrorStack();
    throw IoError(stack.empty() ? what : fmt::format("{}: {}", what, stack));
  }
  return id;
}

herr_t h5check(herr_t status, const std::string& what) {
  if (status < 0) {
    std::string stack = hdf5ErrorStack();
    throw IoError(stack.empty() ? what : fmt::format("{}: {}", what, stack));
  }
  return status;
}

H5Handle::H5Handle(hid_t id, Closer closer, const std::string& what)
    : id_(h5check(id, what)), closer_(closer) {}

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = -1;
  }
  return *this;
}

void H5Handle::reset() noexcept {
  if (id_ >= 0 && closer_ != nullptr) {
    if (closer_(id_) < 0) H5Eclear2(H5E_DEFAULT);
  }
  id_ = -1;
}

void H5Handle::close(const std::string& what) {
  if (id_ < 0) return;
  hid_t id = id_;
  id_ = -1;
  h5check(closer_(id), what);
}

void writeStringAttribute(hid_t object, const std::string& name, const std::string& value) {
  std::string what = fmt::format("cannot write HDF5 attribute '{}'", name);
  H5Handle type = h5Type(H5Tcopy(H5T_C_S1), what);
  h5check(H5Tset_size(type.get(), H5T_VARIABLE), what);
  h5check(H5Tset_cset(type.get(), H5T_CSET_UTF8), what);
  H5Handle space = h5Space(H5Screate(H5S_SCALAR), what);
  H5Handle attr = h5Attr(
      H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what);
  const char* p = value.c_str();
  h5check(H5Awrite(attr.get(), type.get(), &p), what);
}

void writeInt64Attribute(hid_t object, const std::string& name, int64_t value) {
  std::string what = fmt::format("cannot write HDF5 attribute '{}'", name);
  H5Handle space = h5Space(H5Screate(H5S_SCALAR), what);
  H5Handle attr = h5Attr(
      H5Acreate2(object, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), what);
  h5check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), what);
}

}  // namespace mlcp::verify
