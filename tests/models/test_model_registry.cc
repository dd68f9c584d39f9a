// Models users bring (models/model_registry.h): what registration accepts and refuses, the
// sentence a job gets for a kind, option or data this program cannot build, and that a
// registered model is built like a built-in one (names, initial bits from the seed alone).
// test_install_find_package runs a registered model end to end from an installed mlcp.
#include <gtest/gtest.h>

#include "base/error.h"
#include "models/mlp.h"
#include "models/model_registry.h"

namespace mlcp::models {
namespace {

// Two dense layers whose hidden width is the option `width`.
ModelKind tinyKind(const std::string& name) {
  ModelKind kind;
  kind.name = name;
  kind.summary = "a dense layer of width model.options.width, then the head";
  kind.options = {"width"};
  kind.layers = [](const jobs::ModelOptions& o, int64_t classes, Operators ops) {
    const int64_t width = o.getInt("width", 16);
    std::vector<std::shared_ptr<Layer>> layers;
    layers.push_back(std::make_shared<DenseLayer>(28 * 28, width, true, ops));
    layers.push_back(std::make_shared<DenseLayer>(width, classes, false, ops));
    return layers;
  };
  return kind;
}

jobs::JobSpec jobOf(const std::string& kind, const std::string& data = "fashion-mnist") {
  jobs::JobSpec spec;
  spec.source_path = "jobs/x.toml";
  spec.model.kind = kind;
  spec.data.kind = data;
  return spec;
}

std::string usageErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ModelRegistry, RegistrationRefusesBadNamesBuiltInsTwiceAndNoLayers) {
  EXPECT_EQ(usageErrorOf([] { registerModel(tinyKind("Tiny")); }),
            "registerModel: a model kind's name is 1 to 64 characters from a-z, 0-9 and _ "
            "starting with a letter, got \"Tiny\"");
  EXPECT_EQ(usageErrorOf([] { registerModel(tinyKind("mlp")); }),
            "registerModel: \"mlp\" is a built-in model kind");
  ModelKind empty = tinyKind("empty");
  empty.layers = nullptr;
  EXPECT_EQ(usageErrorOf([&] { registerModel(empty); }),
            "registerModel: model kind \"empty\" has no layers function");
  registerModel(tinyKind("twice"));
  EXPECT_EQ(usageErrorOf([] { registerModel(tinyKind("twice")); }),
            "registerModel: model kind \"twice\" is registered twice");
  EXPECT_NE(findModelKind("twice"), nullptr);
  EXPECT_EQ(findModelKind("empty"), nullptr);
}

TEST(ModelRegistry, AJobGetsOneSentenceForWhatThisProgramCannotBuild) {
  if (findModelKind("tiny_mlp") == nullptr) registerModel(tinyKind("tiny_mlp"));
  EXPECT_NO_THROW(checkModelKind(jobOf("tiny_mlp")));
  EXPECT_NO_THROW(checkModelKind(jobOf("mlp")));
  const std::string unknown = usageErrorOf([] { checkModelKind(jobOf("tiny_mpl")); });
  EXPECT_EQ(unknown.rfind("jobs/x.toml: model.kind: expected a built-in model (mlp, cnn, gpt, "
                          "stack) or one this program registered (",
                          0),
            0u)
      << unknown;
  EXPECT_NE(unknown.find("got \"tiny_mpl\" (did you mean \"tiny_mlp\"?); a C++ program registers "
                         "its own models: docs/models.md"),
            std::string::npos)
      << unknown;

  jobs::JobSpec typo = jobOf("tiny_mlp");
  typo.model.options.set("widht", int64_t{8});
  EXPECT_EQ(
      usageErrorOf([&] { checkModelKind(typo); }),
      "jobs/x.toml: model.options.widht: expected a key model \"tiny_mlp\" reads (width), got "
      "unknown key 'widht' (did you mean 'width'?)");

  EXPECT_EQ(usageErrorOf([] { checkModelKind(jobOf("tiny_mlp", "text")); }),
            "jobs/x.toml: data.kind: must be \"fashion-mnist\" for model.kind \"tiny_mlp\" (it "
            "reads images), got \"text\"");
}

TEST(ModelRegistry, ARegisteredModelIsBuiltLikeABuiltInOne) {
  if (findModelKind("tiny_mlp") == nullptr) registerModel(tinyKind("tiny_mlp"));
  jobs::ModelSpec spec;
  spec.kind = "tiny_mlp";
  spec.options.set("width", int64_t{24});
  auto model = buildModel(spec, 10, 5);
  EXPECT_EQ(model->kind(), "tiny_mlp");
  EXPECT_EQ(model->numLayers(), 2);
  EXPECT_EQ(model->numParameters(), 28 * 28 * 24 + 24 + 24 * 10 + 10);
  const auto named = model->named_parameters();
  EXPECT_TRUE(named.contains("layers.0.linear.weight"));
  EXPECT_TRUE(named.contains("layers.1.linear.bias"));
  EXPECT_EQ(model->forward(torch::zeros({3, 1, 28, 28})).sizes(), torch::IntArrayRef({3, 10}));

  // The same parameter name under the same seed starts at the same bits as the built-in mlp's
  // (initial values are keyed by seed and name, not by the model kind).
  jobs::ModelSpec mlp;
  mlp.kind = "mlp";
  mlp.hidden = {24};
  auto reference = buildModel(mlp, 10, 5);
  EXPECT_TRUE(torch::equal(named["layers.0.linear.weight"],
                           reference->named_parameters()["layers.0.linear.weight"]));
  auto other_seed = buildModel(spec, 10, 6);
  EXPECT_FALSE(torch::equal(named["layers.0.linear.weight"],
                            other_seed->named_parameters()["layers.0.linear.weight"]));
}

}  // namespace
}  // namespace mlcp::models
