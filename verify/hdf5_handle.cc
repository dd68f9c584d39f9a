#include "verify/hdf5_handle.h"

#include <fmt/format.h>

#include <vector>

#include "base/error.h"

namespace mlcp::verify {
namespace {

struct Frame {
  std::string func, desc, minor;
};

herr_t collectFrame(unsigned, const H5E_error2_t* err, void* client) {
  auto* frames = static_cast<std::vector<Frame>*>(client);
  char minor[256] = {0};
  H5E_type_t type;
  if (H5Eget_msg(err->min_num, &type, minor, sizeof(minor)) < 0) minor[0] = '\0';
  frames->push_back({err->func_name ? err->func_name : "?", err->desc ? err->desc : "", minor});
  return 0;
}

// HDF5 1.10 registers an atexit handler that closes every file still open; after a write that
// failed on a full disk, closing such a file again dereferences freed state (H5F__close_cb, a
// segmentation fault at exit, after mlcp's own message). The handles here close every file
// themselves, so the handler is switched off before the library starts.
const bool kNoHdf5Atexit = [] {
  H5dont_atexit();
  return true;
}();

}  // namespace

void silenceHdf5Errors() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

std::string hdf5ErrorStack() {
  std::vector<Frame> frames;  // outermost (the API call) first
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collectFrame, &frames);
  H5Eclear2(H5E_DEFAULT);
  if (frames.empty()) return "";
  // The reason first: the system's own message where the innermost frame carries one
  // ("..., error message = 'No space left on device', ..."), else its minor message.
  const Frame& inner = frames.back();
  std::string reason = inner.minor.empty() ? inner.desc : inner.minor;
  const auto at = inner.desc.find("error message = '");
  if (at != std::string::npos) {
    const auto begin = at + 17, end = inner.desc.find('\'', begin);
    if (end != std::string::npos) reason = inner.desc.substr(begin, end - begin);
  }
  const Frame& outer = frames.front();
  if (frames.size() == 1) return fmt::format("{} (HDF5 {}: {})", reason, outer.func, outer.desc);
  return fmt::format("{} (HDF5 {}: {} ... {}: {})", reason, outer.func, outer.desc, inner.func,
                     inner.minor.empty() ? "failed" : inner.minor);
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
