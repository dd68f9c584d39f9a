// Models users bring. A program registers a model kind built from mlcp's layers — DenseLayer
// (models/mlp.h), ConvBlock (models/cnn.h), the GPT's GptEmbedding, GptBlock and GptHead
// (models/gpt.h) — or from its own Layer subclasses, then runs mlcp's command line
// (app/command_line.h); every job whose model.kind names the kind runs it: run, validate, plan,
// replay, dispute, export, volunteers. docs/models.md shows a whole program.
//
//   mlcp::models::ModelKind kind;
//   kind.name = "residual_mlp";
//   kind.summary = "an MLP whose hidden blocks add their input back";
//   kind.options = {"width", "blocks"};
//   kind.layers = [](const mlcp::jobs::ModelOptions& o, int64_t classes, mlcp::models::Operators
//   ops) {
//     ... return the layers in order, each built with `ops` ...
//   };
//   mlcp::models::registerModel(std::move(kind));
//
// Contract of a registered kind, the same as the built-in ones':
// - the layers are the model's pipeline-cuttable units, in order; parameter names are
//   "layers.<i>.<name>" (LayerModel), the names checkpoints, exports and disputes use;
// - `layers` is a pure function of (options, classes, ops): every rank, replayer and volunteer
//   builds the same model. Initial parameters are not its business: mlcp draws them from the job's
//   seed — by each Layer::initOf under the reproducible operators (the same bits on every CPU),
//   by LibTorch's initialisers under the native set — and every computation goes through `ops`.
// - input: kImages reads data.kind "fashion-mnist" ([B, 1, 28, 28] float images, `classes` = 10);
//   kTokens reads "text" or "tokens" ([B, T] int64 token ids, `classes` = the vocabulary) and
//   returns [B, T, classes] logits. The loss is the mean cross-entropy of the last layer's
//   logits.
// - no tensor parallelism (parallel.tp = 1): only the built-in GPT splits its matrices.
//
// The registry is process-wide, like LibTorch's operator registry or torchvision's
// register_model: a model kind is code linked into the program, not state of a run. Register
// from main() before any job is read, from one thread; afterwards it is only read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jobs/job_spec.h"
#include "models/layer_model.h"

namespace mlcp::models {

enum class ModelInput { kImages, kTokens };

struct ModelKind {
  std::string name;     // model.kind: a-z, 0-9 and _, starting with a letter; not a built-in
  std::string summary;  // one line, listed by `mlcp info`
  ModelInput input = ModelInput::kImages;
  std::vector<std::string> options;  // the keys of [model.options] it reads; others are refused
  std::function<std::vector<std::shared_ptr<Layer>>(const jobs::ModelOptions& options,
                                                    int64_t classes, Operators ops)>
      layers;
};

// Adds `kind`. Throws UsageError for a malformed or built-in name, a name registered twice or
// a kind without a layers function.
void registerModel(ModelKind kind);

// The registered kind `name`, or nullptr.
const ModelKind* findModelKind(const std::string& name);

// The names of the registered kinds, sorted.
std::vector<std::string> registeredModelKinds();

// Throws UsageError (one sentence, naming the job file) unless this program can build the
// job's model: a built-in kind, or a registered one whose input matches data.kind and which
// reads every key of [model.options].
void checkModelKind(const jobs::JobSpec& spec);

// The layers of a registered kind's model (checkModelKind's name and option checks first), as
// a LayerModel named after the kind; buildModel calls it.
std::shared_ptr<LayerModel> buildRegisteredModel(const jobs::ModelSpec& spec, int64_t classes,
                                                 Operators ops);

}  // namespace mlcp::models
