#include "data/fashion_mnist.h"

#include <zlib.h>

#include <filesystem>

#include "base/digest.h"
#include "base/error.h"

namespace mlcp::data {
namespace {

// RAII for a zlib gzFile (reads plain files too).
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (f_ == nullptr) throw UsageError("cannot open dataset file " + path);
  }
  ~GzReader() {
    if (f_ != nullptr) gzclose(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  void read(void* dst, size_t n) {
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      const int got = gzread(f_, p, chunk);
      if (got <= 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        throw UsageError("dataset file " + path_ + " is truncated or corrupt (" +
                         (err != Z_OK && msg ? msg : "unexpected end of file") + ")");
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
  }
  uint32_t readBigEndian32() {
    unsigned char b[4];
    read(b, 4);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

 private:
  std::string path_;
  gzFile f_;
};

std::string findIdx(const std::string& dir, const std::string& stem) {
  for (const char* ext : {"", ".gz"}) {
    std::string p = dir + "/" + stem + ext;
    if (std::filesystem::exists(p)) return p;
  }
  throw UsageError("Fashion-MNIST file " + dir + "/" + stem + "[.gz] does not exist");
}

// IDX format (LeCun): magic 0x00000803 (images) / 0x00000801 (labels), big-endian dims.
torch::Tensor readImages(const std::string& path, int64_t limit) {
  GzReader r(path);
  if (r.readBigEndian32() != 0x803) throw UsageError(path + " is not an IDX image file");
  const int64_t n = r.readBigEndian32(), h = r.readBigEndian32(), w = r.readBigEndian32();
  auto bytes = torch::empty({n, 1, h, w}, torch::kUInt8);
  r.read(bytes.data_ptr(), static_cast<size_t>(n * h * w));
  if (limit > 0 && limit < n) bytes = bytes.slice(0, 0, limit).clone();
  return bytes;
}

torch::Tensor readLabels(const std::string& path, int64_t limit) {
  GzReader r(path);
  if (r.readBigEndian32() != 0x801) throw UsageError(path + " is not an IDX label file");
  const int64_t n = r.readBigEndian32();
  auto bytes = torch::empty({n}, torch::kUInt8);
  r.read(bytes.data_ptr(), static_cast<size_t>(n));
  if (limit > 0 && limit < n) bytes = bytes.slice(0, 0, limit).clone();
  return bytes.to(torch::kInt64);
}

class ImageDataset : public Dataset {
 public:
  ImageDataset(torch::Tensor images, torch::Tensor labels, std::string name)
      : labels_(std::move(labels)), name_(std::move(name)) {
    images_ = images.to(torch::kFloat32).div_(255.0f).sub_(0.2860f).div_(0.3530f);
  }
  int64_t size() const override { return labels_.size(0); }
  Batch batch(const std::vector<int64_t>& indices) const override {
    auto idx = torch::tensor(indices, torch::kInt64);
    return {images_.index_select(0, idx), labels_.index_select(0, idx)};
  }
  std::string describe() const override {
    return name_ + " (" + std::to_string(size()) + " images 28x28, 10 classes)";
  }

 private:
  torch::Tensor images_, labels_;
  std::string name_;
};

}  // namespace

DataSplits loadFashionMnist(const std::string& dir, int64_t train_limit, int64_t eval_limit) {
  DataSplits s;
  auto train_x = readImages(findIdx(dir, "train-images-idx3-ubyte"), train_limit);
  auto train_y = readLabels(findIdx(dir, "train-labels-idx1-ubyte"), train_limit);
  auto test_x = readImages(findIdx(dir, "t10k-images-idx3-ubyte"), eval_limit);
  auto test_y = readLabels(findIdx(dir, "t10k-labels-idx1-ubyte"), eval_limit);
  if (train_x.size(0) != train_y.size(0) || test_x.size(0) != test_y.size(0)) {
    throw UsageError("Fashion-MNIST in " + dir + ": image and label counts differ");
  }
  s.train = std::make_shared<ImageDataset>(train_x, train_y, "Fashion-MNIST train");
  s.eval = std::make_shared<ImageDataset>(test_x, test_y, "Fashion-MNIST test");
  s.num_classes = 10;
  Blake2b256 h;
  h.update("fashion-mnist\n");
  for (const auto* t : {&train_x, &train_y, &test_x, &test_y}) {
    h.updateLe64(static_cast<uint64_t>(t->numel()));
    h.update(t->data_ptr(), static_cast<size_t>(t->nbytes()));
  }
  s.content_hash = h.finish().hex();
  return s;
}

}  // namespace mlcp::data
