// A thin checked layer over the HDF5 C API (serial, 1.10): one RAII class owning an hid_t with
// its matching H5*close, and check functions that turn a failed call into an IoError carrying
// HDF5's own error stack (walked with H5Ewalk2). HDF5's automatic printing of errors to stderr
// is switched off on each thread that uses this layer (silenceHdf5Errors()).
#pragma once

#include <hdf5.h>

#include <string>

namespace mlcp::verify {

// Turns off HDF5's automatic error printing for the calling thread (idempotent, cheap).
void silenceHdf5Errors();

// The current thread's HDF5 error stack as one line, the reason first — the system's message
// where the innermost frame has one — then the outermost and innermost frames:
// "No space left on device (HDF5 H5Dwrite: can't write data ... H5FD__sec2_write: Write failed)".
// Clears the stack. Empty when the stack is empty.
std::string hdf5ErrorStack();

// Throws IoError("<what>: <HDF5 error stack>") when `id` < 0; returns `id` otherwise.
hid_t h5check(hid_t id, const std::string& what);
herr_t h5check(herr_t status, const std::string& what);

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  H5Handle() = default;
  // Takes ownership of `id`; throws IoError with the HDF5 stack when `id` < 0.
  H5Handle(hid_t id, Closer closer, const std::string& what);
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now (errors on close are ignored: destructors never throw; use close() to see them).
  void reset() noexcept;
  // Closes now and throws IoError when HDF5 reports a failure (e.g. flushing a file).
  void close(const std::string& what);

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Named constructors for the kinds used here.
inline H5Handle h5File(hid_t id, const std::string& what) { return H5Handle(id, H5Fclose, what); }
inline H5Handle h5Dataset(hid_t id, const std::string& what) {
  return H5Handle(id, H5Dclose, what);
}
inline H5Handle h5Space(hid_t id, const std::string& what) { return H5Handle(id, H5Sclose, what); }
inline H5Handle h5Type(hid_t id, const std::string& what) { return H5Handle(id, H5Tclose, what); }
inline H5Handle h5Attr(hid_t id, const std::string& what) { return H5Handle(id, H5Aclose, what); }
inline H5Handle h5Plist(hid_t id, const std::string& what) { return H5Handle(id, H5Pclose, what); }

// Writes a scalar variable-length UTF-8 string attribute (h5py reads it as str).
void writeStringAttribute(hid_t object, const std::string& name, const std::string& value);
// Writes a scalar int64 attribute.
void writeInt64Attribute(hid_t object, const std::string& name, int64_t value);

}  // namespace mlcp::verify
