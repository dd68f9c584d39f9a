// The job spec: every example job in jobs/ loads; every kind of mistake is rejected with the
// exact "<file>:<line>:<col>: <key>: <expected>, got <found>" sentence; the canonical text is
// stable and covers exactly the logical program; world sizes are checked against the plan.
#include "jobs/job_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "jobs/memory_estimate.h"
#include "jobs/spec_reader.h"
#include "tests/common/test_util.h"

namespace mlcp::jobs {
namespace {

namespace fs = std::filesystem;
using mlcp::test::TempDir;
using mlcp::test::writeFile;

// The message of the UsageError that parsing `text` (as "jobs/x.toml") throws; "" if none.
std::string errorOf(const std::string& text, const std::string& source = "jobs/x.toml") {
  try {
    parseJobSpec(text, source);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// A valid job to vary: lines 1-9 (so that tests can predict line numbers of appended text).
const std::string kMlpHead =
    "[model]\n"                   // 1
    "kind = \"mlp\"\n"            // 2
    "[data]\n"                    // 3
    "kind = \"fashion-mnist\"\n"  // 4
    "[train]\n"                   // 5
    "global_batch = 64\n"         // 6
    "micro_batches = 4\n"         // 7
    "steps = 10\n";               // 8

const std::string kGptHead =
    "[model]\n"                               // 1
    "kind = \"gpt\"\n"                        // 2
    "[data]\n"                                // 3
    "kind = \"text\"\n"                       // 4
    "path = \"/usr/share/games/fortunes\"\n"  // 5
    "[train]\n"                               // 6
    "global_batch = 32\n"                     // 7
    "micro_batches = 4\n"                     // 8
    "steps = 10\n";                           // 9

// Volunteer public keys (ed25519, 64 hex digits); kVolunteerKeyUpper is kVolunteerKey1 in capitals.
const std::string kVolunteerKey1 =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kVolunteerKeyUpper =
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
const std::string kVolunteerKey2(64, 'b');
const std::string kVolunteerKey3(64, 'c');

// Makes a directory that looks like Fashion-MNIST (empty IDX files; only names are checked).
void makeFashionDir(const std::string& dir, bool with_t10k_labels = true) {
  fs::create_directories(dir);
  writeFile(dir + "/train-images-idx3-ubyte.gz", "");
  writeFile(dir + "/train-labels-idx1-ubyte", "");
  writeFile(dir + "/t10k-images-idx3-ubyte.gz", "");
  if (with_t10k_labels) writeFile(dir + "/t10k-labels-idx1-ubyte.gz", "");
}

// ---- example jobs ---------------------------------------------------------------------------

TEST(JobSpecExamples, EveryExampleInJobsLoads) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(test::sourceDir() + "/jobs")) {
    if (e.path().extension() == ".toml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  const std::vector<std::string> expected = {"fashion_mnist_cnn.toml",    "fashion_mnist_mlp.toml",
                                             "fashion_mnist_stack.toml",  "gpt_fortunes.toml",
                                             "gpt_fortunes_pp2_tp2.toml", "quick_mlp.toml"};
  for (const auto& name : expected) {
    EXPECT_NE(std::find(files.begin(), files.end(), test::sourceDir() + "/jobs/" + name),
              files.end())
        << "missing example " << name;
  }
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    const std::string text = test::readFile(f);
    // A token-data example names a folder `mlcp data prepare` writes, which a fresh checkout
    // lacks: it must then say exactly that, and its header must give the prepare command
    // (test_runtime_large_gpt prepares the data and runs the example).
    if (text.find("kind = \"tokens\"") != std::string::npos) {
      try {
        loadJobSpec(f);
      } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("make it with `mlcp data prepare"), std::string::npos)
            << e.what();
        EXPECT_NE(text.find("build/mlcp data prepare "), std::string::npos)
            << "a token example's header says how to prepare its data";
        continue;
      }
    }
    JobSpec spec;
    ASSERT_NO_THROW(spec = loadJobSpec(f)) << f;
    EXPECT_EQ(spec.name, fs::path(f).stem().string()) << "an example's name is its file stem";
    EXPECT_EQ(spec.source_text, test::readFile(f));
    EXPECT_EQ(spec.source_path, f);
  }
}

TEST(JobSpecExamples, ExamplesHaveTheAdvertisedSettings) {
  const std::string dir = test::sourceDir() + "/jobs/";
  const JobSpec mlp = loadJobSpec(dir + "fashion_mnist_mlp.toml");
  EXPECT_EQ(mlp.model.kind, "mlp");
  EXPECT_EQ(mlp.model.hidden, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(mlp.optimizer.kind, "adamw");
  EXPECT_DOUBLE_EQ(mlp.optimizer.lr, 1e-3);
  EXPECT_EQ(mlp.train.global_batch, 128);
  EXPECT_EQ(mlp.train.micro_batches, 4);
  EXPECT_EQ(mlp.train.epochs, 3);
  EXPECT_EQ(mlp.train.steps, 0);

  const JobSpec cnn = loadJobSpec(dir + "fashion_mnist_cnn.toml");
  EXPECT_EQ(cnn.model.kind, "cnn");
  EXPECT_EQ(cnn.data.path, "/usr/share/datasets/fashion-mnist") << "the default data path";

  const JobSpec gpt = loadJobSpec(dir + "gpt_fortunes.toml");
  EXPECT_EQ(gpt.model.kind, "gpt");
  EXPECT_EQ(gpt.model.d_model, 128);
  EXPECT_EQ(gpt.model.layers, 4);
  EXPECT_EQ(gpt.model.heads, 4);
  EXPECT_EQ(gpt.model.context, 64);
  EXPECT_EQ(gpt.train.global_batch, 32);
  EXPECT_EQ(gpt.train.micro_batches, 4);
  EXPECT_EQ(gpt.train.steps, 300);
  EXPECT_EQ(gpt.lr_schedule.kind, "cosine");
  EXPECT_GT(gpt.lr_schedule.warmup_steps, 0);
  EXPECT_EQ(gpt.parallel.pp, 1);
  EXPECT_EQ(gpt.parallel.tp, 1);

  const JobSpec gpt22 = loadJobSpec(dir + "gpt_fortunes_pp2_tp2.toml");
  EXPECT_EQ(gpt22.parallel.pp, 2);
  EXPECT_EQ(gpt22.parallel.tp, 2);
  // The pp2/tp2 job differs from gpt_fortunes in its parallel plan only.
  JobSpec gpt_as_22 = gpt;
  gpt_as_22.parallel = gpt22.parallel;
  EXPECT_EQ(gpt_as_22.canonicalText(), gpt22.canonicalText());

  const JobSpec quick = loadJobSpec(dir + "quick_mlp.toml");
  EXPECT_EQ(quick.data.train_limit, 2048);
  EXPECT_EQ(quick.train.steps, 20);
}

// ---- defaults and paths ---------------------------------------------------------------------

TEST(JobSpecDefaults, MinimalJobGetsDocumentedDefaults) {
  const JobSpec s = parseJobSpec(kMlpHead, "jobs/minimal.toml");
  EXPECT_EQ(s.name, "minimal");
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.output_dir, (fs::current_path() / "runs" / "minimal").string());
  EXPECT_EQ(s.model.hidden, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(s.data.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(s.optimizer.kind, "adamw");
  EXPECT_DOUBLE_EQ(s.optimizer.lr, 1e-3);
  EXPECT_EQ(s.lr_schedule.kind, "constant");
  EXPECT_EQ(s.train.log_every, 10);
  EXPECT_EQ(s.parallel.dp, 0);
  EXPECT_EQ(s.parallel.schedule, "1f1b");
  EXPECT_EQ(s.runtime.intra_op_threads, 1);
  EXPECT_DOUBLE_EQ(s.runtime.collective_timeout_s, 300);
  EXPECT_FALSE(s.bridge.enabled);
  EXPECT_EQ(s.slurm.time, "00:30:00");
  EXPECT_TRUE(s.slurm.requeue);
}

TEST(JobSpecDefaults, IntegerAcceptedWhereFloatExpected) {
  const JobSpec s = parseJobSpec(kMlpHead + "[optimizer]\nlr = 1\n", "jobs/x.toml");
  EXPECT_DOUBLE_EQ(s.optimizer.lr, 1.0);
}

TEST(JobSpecPaths, RelativePathsResolveAgainstTheJobFilesDirectory) {
  TempDir tmp("mlcp-jobs");
  makeFashionDir(tmp.file("sub/fm"));
  fs::create_directories(tmp.file("elsewhere"));
  const std::string job = tmp.file("sub/job.toml");
  fs::create_directories(tmp.file("sub/keys"));
  writeFile(tmp.file("sub/keys/node.key"), "");
  writeFile(job,
            "[job]\noutput_dir = \"../out/run1\"\n"
            "[model]\nkind = \"mlp\"\n"
            "[data]\nkind = \"fashion-mnist\"\npath = \"fm\"\n"
            "[train]\nglobal_batch = 64\nsteps = 1\n"
            "[checkpoint]\nkey_file = \"keys/node.key\"\n");
  // Load from another working directory: resolution must not depend on it.
  const fs::path old = fs::current_path();
  fs::current_path(tmp.file("elsewhere"));
  JobSpec s;
  EXPECT_NO_THROW(s = loadJobSpec("../sub/job.toml"));
  fs::current_path(old);
  EXPECT_EQ(s.data.path, tmp.file("sub/fm"));
  EXPECT_EQ(s.output_dir, tmp.file("out/run1"));
  EXPECT_EQ(s.checkpoint.key_file, tmp.file("sub/keys/node.key"));
  EXPECT_EQ(s.source_path, "../sub/job.toml");
}

TEST(JobSpecPaths, MissingJobFileIsAUsageError) {
  try {
    loadJobSpec("/nonexistent/job.toml");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/job.toml: expected a job file, got a path that does not exist");
  }
}

// ---- errors: file:line:col, key path, one sentence ------------------------------------------

struct ErrorCase {
  const char* name;
  std::string text;
  std::string expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class JobSpecErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JobSpecErrors, ExactMessage) {
  const ErrorCase& c = GetParam();
  EXPECT_EQ(errorOf(c.text), c.expected) << "case " << c.name << "\n--- job text ---\n" << c.text;
}

const std::vector<ErrorCase> kErrorCases = {
    // TOML syntax: toml++'s own message with its position.
    {"syntax", "[train]\nglobal_batch = = 3\n",
     "jobs/x.toml:2:16: TOML syntax error: Error while parsing value: could not determine value "
     "type"},
    {"duplicate_key", kMlpHead + "steps = 20\n",
     "jobs/x.toml:9:9: TOML syntax error: Error while parsing key-value pair: cannot redefine "
     "existing integer 'steps'"},
    // Unknown sections and keys, with suggestions.
    {"unknown_section", kMlpHead + "[trian]\nsteps = 1\n",
     "jobs/x.toml:9:2: trian: expected one of the sections [job], [model], [data], [optimizer], "
     "[lr_schedule], [train], [parallel], [checkpoint], [runtime], [bridge], [slurm], "
     "[volunteers], got unknown section [trian] (did you mean [train]?)"},
    {"unknown_key_typo",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n[train]\nglobal_bach = 64\n"
     "steps = 1\n",
     "jobs/x.toml:6:1: train.global_bach: expected a key of [train], got unknown key "
     "'global_bach' (did you mean 'global_batch'?)"},
    {"unknown_key_other_section", kMlpHead + "lr = 0.1\n",
     "jobs/x.toml:9:1: train.lr: expected a key of [train], got unknown key 'lr' (did you mean "
     "'optimizer.lr'?)"},
    {"unknown_key_no_match", kMlpHead + "wibble = 1\n",
     "jobs/x.toml:9:1: train.wibble: expected a key of [train], got unknown key 'wibble' (known "
     "keys: global_batch, micro_batches, steps, epochs, eval_every, log_every)"},
    {"top_level_key", "name = \"x\"\n" + kMlpHead,
     "jobs/x.toml:1:1: name: expected a section ([job], [model], ...), got a top-level key "
     "'name' (did you mean 'job.name'?)"},
    {"section_not_table", "train = 5\n",
     "jobs/x.toml:1:9: train: expected a table ([train]), got an integer (5)"},
    // Wrong types.
    {"int_got_string",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n[train]\n"
     "global_batch = \"128\"\nsteps = 1\n",
     "jobs/x.toml:6:16: train.global_batch: expected an integer, got a string (\"128\")"},
    {"int_got_float", kMlpHead + "epochs = 3.5\n",
     "jobs/x.toml:9:10: train.epochs: expected an integer, got a float (3.5)"},
    {"float_got_string", kMlpHead + "[optimizer]\nlr = \"1e-3\"\n",
     "jobs/x.toml:10:6: optimizer.lr: expected a number, got a string (\"1e-3\")"},
    {"array_element", "[model]\nkind = \"mlp\"\nhidden = [256, \"x\"]\n" + kMlpHead.substr(21),
     "jobs/x.toml:3:16: model.hidden[1]: expected an integer, got a string (\"x\")"},
    {"bool_got_string", kMlpHead + "[slurm]\nrequeue = \"yes\"\n",
     "jobs/x.toml:10:11: slurm.requeue: expected a boolean (true or false), got a string "
     "(\"yes\")"},
    // Enums.
    // Any lower-case name may be a kind the running program registered
    // (models/model_registry.h checks it); others are refused here.
    {"enum_unknown", "[model]\nkind = \"Transformer\"\n",
     "jobs/x.toml:2:8: model.kind: must be one of \"mlp\", \"cnn\", \"gpt\", \"stack\", or the "
     "name of a model the program registered (a-z, 0-9 and _, starting with a letter, at most "
     "64), got \"Transformer\""},
    {"model_kind_suggest", "[model]\nkind = \"MLP\"\n",
     "jobs/x.toml:2:8: model.kind: must be one of \"mlp\", \"cnn\", \"gpt\", \"stack\", "
     "or the name of a model the program registered (a-z, 0-9 and _, starting with a "
     "letter, at most 64), got \"MLP\" (did you mean \"mlp\"?)"},
    {"enum_suggest", kMlpHead + "[parallel]\nschedule = \"1F1B\"\n",
     "jobs/x.toml:10:12: parallel.schedule: must be one of \"gpipe\", \"1f1b\", \"interleaved\", "
     "got \"1F1B\" (did you mean \"1f1b\"?)"},
    // Missing required keys.
    {"missing_model_kind", "[model]\nhidden = [8]\n",
     "jobs/x.toml:1:1: model.kind: is required (one of \"mlp\", \"cnn\", \"gpt\", \"stack\", or "
     "the name of a model the program registered), got no 'kind' in [model]"},
    {"missing_data_section", "[model]\nkind = \"mlp\"\n",
     "jobs/x.toml:1:1: data.kind: is required (one of \"fashion-mnist\", \"text\", \"tokens\"), "
     "got "
     "no [data] section"},
    {"missing_global_batch",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nsteps = 1\n",
     "jobs/x.toml:5:1: train.global_batch: is required (a positive integer), got no "
     "'global_batch' in [train]"},
    // Keys that do not apply to this job.
    // A model described in the job file ([[model.stack]]).
    {"stack_without_layers", "[model]\nkind = \"stack\"\n" + kMlpHead.substr(21),
     "jobs/x.toml:2:8: model.stack: is required with model.kind \"stack\" (one "
     "[[model.stack]] table per layer, e.g. {type = \"dense\", width = 128}), got no "
     "layers"},
    {"stack_layer_type", "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"pool\"\n",
     "jobs/x.toml:3:1: model.stack[0].type: expected \"conv\" or \"dense\", got a string "
     "(\"pool\")"},
    {"stack_layer_without_type", "[model]\nkind = \"stack\"\n[[model.stack]]\nwidth = 8\n",
     "jobs/x.toml:3:1: model.stack[0].type: expected \"conv\" or \"dense\", got a layer "
     "without a type"},
    {"stack_dense_unknown_key",
     "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"dense\"\nchannels = 8\n",
     "jobs/x.toml:3:1: model.stack[0].channels: expected a key of a dense layer (type, "
     "width, activation), got unknown key 'channels'"},
    {"stack_dense_without_width", "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"dense\"\n",
     "jobs/x.toml:3:1: model.stack[0].width: is required (the layer's output width), got "
     "a layer without it"},
    {"stack_width_not_positive",
     "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"conv\"\nchannels = 0\n",
     "jobs/x.toml:3:1: model.stack[0].channels: expected a positive channel count, got an "
     "integer (0)"},
    {"stack_activation",
     "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"dense\"\nwidth = 8\n"
     "activation = \"tanh\"\n",
     "jobs/x.toml:3:1: model.stack[0].activation: expected \"relu\" or \"none\", got a "
     "string (\"tanh\")"},
    {"stack_conv_after_dense",
     "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"dense\"\nwidth = 8\n"
     "[[model.stack]]\ntype = \"conv\"\nchannels = 4\n" +
         kMlpHead.substr(21),
     "jobs/x.toml:6:1: model.stack[1].type: expected conv layers before every dense layer "
     "(a dense layer flattens the image), got a conv layer after the dense layer "
     "model.stack[0]"},
    {"stack_with_mlp", "[model]\nkind = \"mlp\"\n[[model.stack]]\ntype = \"dense\"\nwidth = 8\n",
     "jobs/x.toml:3:9: model.stack: is used only with model.kind \"stack\", got "
     "model.kind \"mlp\""},
    // A registered kind's [model.options].
    {"options_with_built_in", "[model]\nkind = \"mlp\"\n[model.options]\nwidth = 8\n",
     "jobs/x.toml:3:8: model.options: is used only with a model kind the program "
     "registered (not mlp, cnn, gpt or stack), got model.kind \"mlp\""},
    {"options_value_type", "[model]\nkind = \"residual_mlp\"\n[model.options]\nwidths = [8, 1.5]\n",
     "jobs/x.toml:4:10: model.options.widths: expected an integer, a finite float, a "
     "boolean, a string or an array of integers, got an array"},
    {"options_not_a_table", "[model]\nkind = \"residual_mlp\"\noptions = 3\n",
     "jobs/x.toml:3:11: model.options: expected a table ([model.options]), got an integer "
     "(3)"},
    {"hidden_with_gpt", "[model]\nkind = \"gpt\"\nhidden = [8]\n",
     "jobs/x.toml:3:1: model.hidden: is used only with model.kind \"mlp\", got model.kind "
     "\"gpt\""},
    {"momentum_with_adamw", kMlpHead + "[optimizer]\nmomentum = 0.9\n",
     "jobs/x.toml:10:1: optimizer.momentum: is used only with optimizer.kind \"sgd\", got "
     "optimizer.kind \"adamw\""},
    {"holdout_with_fashion",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "holdout_fraction = 0.1\n",
     "jobs/x.toml:5:1: data.holdout_fraction: is used only with data.kind \"text\" or "
     "\"tokens\", got data.kind \"fashion-mnist\""},
    {"min_lr_with_constant", kMlpHead + "[lr_schedule]\nmin_lr_ratio = 0.1\n",
     "jobs/x.toml:10:1: lr_schedule.min_lr_ratio: is used only with lr_schedule.kind \"cosine\" "
     "or \"linear\", got lr_schedule.kind \"constant\""},
    // Ranges.
    {"lr_zero", kMlpHead + "[optimizer]\nlr = 0\n",
     "jobs/x.toml:10:6: optimizer.lr: must be > 0, got 0"},
    {"lr_negative", kMlpHead + "[optimizer]\nlr = -1e-3\n",
     "jobs/x.toml:10:6: optimizer.lr: must be > 0, got -0.001"},
    {"beta2_one", kMlpHead + "[optimizer]\nbeta2 = 1.0\n",
     "jobs/x.toml:10:9: optimizer.beta2: must be in [0, 1), got 1"},
    {"batch_zero",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n[train]\n"
     "global_batch = 0\nsteps = 1\n",
     "jobs/x.toml:6:16: train.global_batch: must be a positive integer, got 0"},
    {"seed_negative", "[job]\nseed = -1\n" + kMlpHead,
     "jobs/x.toml:2:8: job.seed: must be a non-negative integer, got -1"},
    {"bad_name", "[job]\nname = \"my job\"\n" + kMlpHead,
     "jobs/x.toml:2:8: job.name: expected 1 to 100 characters from A-Z a-z 0-9 . _ - starting "
     "with a letter or digit (it names the run directory and the Slurm job), got \"my job\""},
    {"dropout_one", kGptHead.substr(0, 21) + "dropout = 1.0\n" + kGptHead.substr(21),
     "jobs/x.toml:3:11: model.dropout: must be in [0, 1), got 1"},
    {"threads_zero", kMlpHead + "[runtime]\nintra_op_threads = 0\n",
     "jobs/x.toml:10:20: runtime.intra_op_threads: must be in [1, 1024], got 0"},
    {"ops_unknown", kMlpHead + "[runtime]\nops = \"fast\"\n",
     "jobs/x.toml:10:7: runtime.ops: must be one of \"reproducible\", \"native\", got \"fast\""},
    {"timeout_zero", kMlpHead + "[runtime]\ncollective_timeout_s = 0\n",
     "jobs/x.toml:10:24: runtime.collective_timeout_s: must be > 0, got 0"},
    // Cross-field rules.
    {"steps_and_epochs", kMlpHead + "epochs = 2\n",
     "jobs/x.toml:9:10: train.epochs: must be 0 when train.steps is set (exactly one of steps and "
     "epochs is > 0), got 2 with train.steps = 10"},
    {"neither_steps_nor_epochs",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nglobal_batch = 64\n",
     "jobs/x.toml:5:1: train.steps: expected exactly one of train.steps and train.epochs to be > "
     "0, got neither"},
    {"heads_not_dividing",
     kGptHead.substr(0, 21) + "d_model = 100\nheads = 8\n" + kGptHead.substr(21),
     "jobs/x.toml:4:9: model.heads: must divide model.d_model (100) so each head has "
     "d_model/heads dimensions, got 8"},
    {"tp_not_dividing_heads", kGptHead + "[parallel]\ntp = 8\n",
     "jobs/x.toml:11:6: parallel.tp: must divide model.heads (4), got 8"},
    {"tp_without_gpt", kMlpHead + "[parallel]\ntp = 3\n",
     "jobs/x.toml:10:6: parallel.tp: tensor parallelism splits the GPT's attention heads and "
     "matrices; model.kind \"mlp\" has no tensor-parallel layers: use parallel.tp = 1 (and dp or "
     "pp to spread it), got 3"},
    {"pp_more_than_layers", kMlpHead + "[parallel]\npp = 4\n",
     "jobs/x.toml:10:6: parallel.pp: must be at most the model's pipeline layer count 3 "
     "(len(model.hidden)+1), got 4"},
    {"micro_batches_below_pp",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nglobal_batch = 64\nmicro_batches = 2\nsteps = 1\n"
     "[parallel]\npp = 3\n",
     "jobs/x.toml:7:17: train.micro_batches: must be at least parallel.pp (3) so that every "
     "pipeline stage has work, got 2"},
    {"micro_batches_default_below_pp",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nglobal_batch = 64\nsteps = 1\n[parallel]\n"
     "pp = 2\n",
     "jobs/x.toml:9:6: train.micro_batches: must be at least parallel.pp (2) so that every "
     "pipeline stage has work, got 1"},
    {"virtual_stages_without_interleaved", kGptHead + "[parallel]\npp = 2\nvirtual_stages = 2\n",
     "jobs/x.toml:12:18: parallel.virtual_stages: must be 1 unless parallel.schedule is "
     "\"interleaved\", got 2 with schedule \"1f1b\""},
    {"interleaved_without_virtual_stages",
     kGptHead + "[parallel]\npp = 2\n"
                "schedule = \"interleaved\"\n",
     "jobs/x.toml:12:12: parallel.virtual_stages: must be at least 2 with schedule "
     "\"interleaved\", got 1"},
    {"interleaved_without_pp",
     kGptHead + "[parallel]\nschedule = \"interleaved\"\n"
                "virtual_stages = 2\n",
     "jobs/x.toml:11:12: parallel.schedule: must not be \"interleaved\" without pipelining "
     "(parallel.pp >= 2), got \"interleaved\" with parallel.pp = 1"},
    {"interleaved_too_many_chunks",
     kGptHead + "[parallel]\npp = 2\nschedule = \"interleaved\"\n"
                "virtual_stages = 4\n",
     "jobs/x.toml:13:18: parallel.virtual_stages: must leave every one of the pp*virtual_stages "
     "model chunks at least one of the model's 6 (model.layers+2: embedding, blocks, head) "
     "layers, got 4 (2*4 = 8 chunks)"},
    {"warmup_beyond_steps", kMlpHead + "[lr_schedule]\nkind = \"cosine\"\nwarmup_steps = 50\n",
     "jobs/x.toml:11:16: lr_schedule.warmup_steps: must be at most train.steps (10), got 50"},
    {"model_data_mismatch",
     "[model]\nkind = \"gpt\"\n[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nglobal_batch = 8\nsteps = 1\n",
     "jobs/x.toml:4:8: data.kind: must be \"text\" or \"tokens\" for model.kind \"gpt\", got "
     "\"fashion-mnist\""},
    {"cnn_too_deep",
     "[model]\nkind = \"cnn\"\nchannels = [8, 8, 8, 8, 8]\n"
     "[data]\nkind = \"fashion-mnist\"\n"
     "[train]\nglobal_batch = 8\nsteps = 1\n",
     "jobs/x.toml:3:12: model.channels: must hold 1 to 4 conv widths (28x28 images halve at each "
     "2x2 maxpool: 28, 14, 7, 3, 1), got 5 entries"},
    // Files.
    {"data_path_missing",
     "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
     "path = \"/nonexistent/fm\"\n"
     "[train]\nglobal_batch = 8\nsteps = 1\n",
     "jobs/x.toml:5:8: data.path: expected a Fashion-MNIST directory, got \"/nonexistent/fm\", "
     "which does not exist (Debian package dataset-fashion-mnist installs "
     "/usr/share/datasets/fashion-mnist)"},
    {"text_path_missing",
     "[model]\nkind = \"gpt\"\n[data]\nkind = \"text\"\n"
     "path = \"/nonexistent/corpus.txt\"\n"
     "[train]\nglobal_batch = 8\nsteps = 1\n",
     "jobs/x.toml:5:8: data.path: expected a text file or a directory of text files, got "
     "\"/nonexistent/corpus.txt\", which does not exist"},
    {"text_path_required", "[model]\nkind = \"gpt\"\n[data]\nkind = \"text\"\n",
     "jobs/x.toml:3:1: data.path: is required (a text file or a directory of text files), got no "
     "'path' in [data]"},
    {"key_file_missing", kMlpHead + "[checkpoint]\nkey_file = \"/nonexistent/node.key\"\n",
     "jobs/x.toml:10:12: checkpoint.key_file: expected an existing signing key file, got "
     "\"/nonexistent/node.key\", which does not exist"},
    // Bridge and Slurm.
    {"bridge_no_contract",
     kMlpHead + "[bridge]\nenabled = true\nrpc_url = \"http://127.0.0.1:8545\"\n",
     "jobs/x.toml:10:11: bridge.contract: is required when bridge.enabled is true (a 0x-prefixed "
     "20-byte hex address), got nothing"},
    {"bridge_bad_contract", kMlpHead + "[bridge]\ncontract = \"0x1234\"\n",
     "jobs/x.toml:10:12: bridge.contract: expected a 0x-prefixed 20-byte hex address (42 "
     "characters), got \"0x1234\""},
    {"slurm_bad_time", kMlpHead + "[slurm]\ntime = \"30 minutes\"\n",
     "jobs/x.toml:10:8: slurm.time: expected a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, "
     "D-HH:MM or D-HH:MM:SS), got \"30 minutes\""},
    {"slurm_world_mismatch",
     kGptHead + "[parallel]\npp = 2\ntp = 2\n[slurm]\nnodes = 1\n"
                "tasks_per_node = 6\n",
     "jobs/x.toml:15:18: slurm.tasks_per_node: expected a rank count divisible by pp*tp = 2*2 = "
     "4 (parallel.dp = 0 means dp = ranks/(pp*tp)), got slurm.nodes*tasks_per_node = 1*6 = 6 "
     "ranks"},
};

// Cases whose text is easier to build in code.
std::vector<ErrorCase> allErrorCases() {
  std::vector<ErrorCase> out;
  for (const auto& c : kErrorCases) {
    out.push_back(c);
  }
  out.push_back({"array_got_int", "[model]\nkind = \"mlp\"\nhidden = 256\n",
                 "jobs/x.toml:3:10: model.hidden: expected an array of integers, got an integer "
                 "(256)"});
  out.push_back({"train_limit_below_batch",
                 "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\ntrain_limit = 32\n"
                 "[train]\nglobal_batch = 64\nsteps = 1\n",
                 "jobs/x.toml:5:15: data.train_limit: must be at least train.global_batch (64) "
                 "so that one step has its samples, got 32"});
  out.push_back({"warmup_beyond_epochs",
                 "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\ntrain_limit = 300\n"
                 "[train]\nglobal_batch = 64\nepochs = 2\n[lr_schedule]\nwarmup_steps = 9\n",
                 "jobs/x.toml:10:16: lr_schedule.warmup_steps: must be at most the run's 8 steps "
                 "(2 epochs of 300 samples / train.global_batch 64), got 9"});
  out.push_back({"log_every_zero", kMlpHead + "log_every = 0\n",
                 "jobs/x.toml:9:13: train.log_every: must be a positive integer, got 0"});
  // The brief's example: line 12, column 16.
  out.push_back({"batch_not_divisible",
                 "# a job\n\n[model]\nkind = \"mlp\"\n\n[data]\nkind = \"fashion-mnist\"\n\n"
                 "[train]\nmicro_batches = 8\nsteps = 100\nglobal_batch = 250\n",
                 "jobs/x.toml:12:16: train.global_batch: must be divisible by "
                 "train.micro_batches (8), got 250"});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllKinds, JobSpecErrors, ::testing::ValuesIn(allErrorCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(JobSpecFiles, FashionDirectoryMissingOneFileNamesIt) {
  TempDir tmp("mlcp-jobs");
  makeFashionDir(tmp.file("fm"), /*with_t10k_labels=*/false);
  const std::string text = "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\npath = \"" +
                           tmp.file("fm") + "\"\n[train]\nglobal_batch = 8\nsteps = 1\n";
  EXPECT_EQ(errorOf(text),
            "jobs/x.toml:5:8: data.path: expected a Fashion-MNIST directory holding "
            "t10k-labels-idx1-ubyte[.gz], got \"" +
                tmp.file("fm") + "\" without it");
  makeFashionDir(tmp.file("fm"), /*with_t10k_labels=*/true);
  EXPECT_EQ(errorOf(text), "") << "all four files present (plain or .gz) must pass";
}

TEST(JobSpecFiles, TextDirectoryWithoutTextFiles) {
  TempDir tmp("mlcp-jobs");
  fs::create_directories(tmp.file("corpus"));
  writeFile(tmp.file("corpus/art.dat"), "index");
  writeFile(tmp.file("corpus/.hidden"), std::string(10000, 'x'));
  const std::string text = "[model]\nkind = \"gpt\"\n[data]\nkind = \"text\"\npath = \"" +
                           tmp.file("corpus") + "\"\n[train]\nglobal_batch = 4\nsteps = 1\n";
  EXPECT_EQ(errorOf(text),
            "jobs/x.toml:5:8: data.path: expected a text file or a directory holding text files "
            "(hidden, *.dat and *.u8 files and symlinks are skipped), got \"" +
                tmp.file("corpus") + "\" with none");
  writeFile(tmp.file("corpus/art"), std::string(100000, 'a'));
  EXPECT_EQ(errorOf(text), "");
}

TEST(JobSpecFiles, TextCorpusTooSmallForContext) {
  TempDir tmp("mlcp-jobs");
  writeFile(tmp.file("tiny.txt"), std::string(1000, 'a'));
  const std::string text = "[model]\nkind = \"gpt\"\n[data]\nkind = \"text\"\npath = \"" +
                           tmp.file("tiny.txt") + "\"\n[train]\nglobal_batch = 4\nsteps = 1\n";
  EXPECT_EQ(errorOf(text),
            "jobs/x.toml:5:8: data.holdout_fraction: must leave at least model.context+1 = 65 "
            "bytes in the held-out split and 130 in the training split of the 1000-byte corpus "
            "\"" +
                tmp.file("tiny.txt") + "\", got 0.05 (50 held out, 950 for training)");
}

TEST(JobSpecFiles, BridgeKeyFileMustExistOnlyWhenEnabled) {
  const std::string bridge =
      "[bridge]\nrpc_url = \"http://127.0.0.1:8545\"\n"
      "contract = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n"
      "key_file = \"/nonexistent/solver.key\"\njob_id = 3\n";
  EXPECT_EQ(errorOf(kMlpHead + bridge), "") << "disabled: paths are not checked";
  EXPECT_EQ(errorOf(kMlpHead + bridge + "enabled = true\n"),
            "jobs/x.toml:12:12: bridge.key_file: expected an existing secp256k1 key file, got "
            "\"/nonexistent/solver.key\", which does not exist");
}

TEST(JobSpecFiles, BridgeNeedsACheckpointIntervalAndOfflineAChainId) {
  TempDir tmp("mlcp-jobs");
  mlcp::test::writeFile(tmp.file("solver.key"), "0x" + std::string(64, '1') + "\n");
  const std::string bridge = "[bridge]\nenabled = true\noutbox = \"" + tmp.file("commits.outbox") +
                             "\"\ncontract = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n"
                             "key_file = \"" +
                             tmp.file("solver.key") + "\"\njob_id = 0\n";
  EXPECT_EQ(errorOf(kMlpHead + "[checkpoint]\nevery = 5\n" + bridge),
            "jobs/x.toml:12:11: bridge.chain_id: is required offline (bridge.outbox without "
            "bridge.rpc_url): transactions are signed for one chain, got nothing");
  EXPECT_EQ(errorOf(kMlpHead + bridge + "chain_id = 31337\n"),
            "jobs/x.toml:10:11: checkpoint.every: must be > 0 when bridge.enabled is true "
            "(checkpoint k, committed on chain, is the state after k x every steps), got 0");
  EXPECT_EQ(errorOf(kMlpHead + "[checkpoint]\nevery = 5\n" + bridge + "chain_id = 31337\n"), "");
}

// ---- volunteers -----------------------------------------------------------------------------

TEST(JobSpecVolunteers, DefaultsWhenTheTableIsAbsent) {
  const JobSpec s = parseJobSpec(kMlpHead, "jobs/x.toml");
  const VolunteersSpec& v = s.volunteers;
  EXPECT_FALSE(v.enabled);
  EXPECT_EQ(v.listen, "0.0.0.0:0");
  EXPECT_TRUE(v.allow.empty());
  EXPECT_EQ(v.allow_file, "");
  EXPECT_TRUE(v.allowed_keys.empty());
  EXPECT_EQ(v.key_file, "");
  EXPECT_DOUBLE_EQ(v.deadline_s, 30);
  EXPECT_EQ(v.max_volunteers, 16);
  EXPECT_DOUBLE_EQ(v.audit_rate, 0.05);
  EXPECT_EQ(v.audit_trust_after, 8);
  EXPECT_EQ(v.min_units, 0);
  // An empty table is the same as none.
  EXPECT_EQ(parseJobSpec(kMlpHead + "[volunteers]\n", "jobs/x.toml").volunteers.listen,
            "0.0.0.0:0");
}

TEST(JobSpecVolunteers, FullTableIsReadWithKeysLowerCasedAndTheAllowFileMerged) {
  TempDir tmp("mlcp-jobs");
  makeFashionDir(tmp.file("sub/fm"));
  fs::create_directories(tmp.file("elsewhere"));
  fs::create_directories(tmp.file("sub/keys"));
  writeFile(tmp.file("sub/keys/node.key"), "");
  // Comments, blank lines, surrounding blanks, CRLF, upper case; key 1 repeats `allow`.
  writeFile(tmp.file("sub/keys/allow.keys"), "# volunteers of the lab\n\n  " + kVolunteerKeyUpper +
                                                 "  # also in allow\r\n" + kVolunteerKey3 +
                                                 "\n\t\n# the end\n");
  const std::string job = tmp.file("sub/job.toml");
  writeFile(job,
            "[model]\nkind = \"mlp\"\n"
            "[data]\nkind = \"fashion-mnist\"\npath = \"fm\"\n"
            "[train]\nglobal_batch = 64\nmicro_batches = 4\nsteps = 1\n"
            "[volunteers]\nenabled = true\nlisten = \"10.0.0.1:7700\"\n"
            "allow = [\"" +
                kVolunteerKey2 + "\", \"" + kVolunteerKeyUpper +
                "\"]\n"
                "allow_file = \"keys/allow.keys\"\nkey_file = \"keys/node.key\"\n"
                "deadline_s = 12.5\nmax_volunteers = 1024\naudit_rate = 1\n"
                "audit_trust_after = 0\nmin_units = 2\n");
  // Load from another working directory: resolution must not depend on it.
  const fs::path old = fs::current_path();
  fs::current_path(tmp.file("elsewhere"));
  JobSpec s;
  EXPECT_NO_THROW(s = loadJobSpec("../sub/job.toml"));
  fs::current_path(old);
  const VolunteersSpec& v = s.volunteers;
  EXPECT_TRUE(v.enabled);
  EXPECT_EQ(v.listen, "10.0.0.1:7700");
  EXPECT_EQ(v.allow, (std::vector<std::string>{kVolunteerKey2, kVolunteerKey1}))
      << "as written, lower-cased";
  EXPECT_EQ(v.allow_file, tmp.file("sub/keys/allow.keys"));
  EXPECT_EQ(v.allowed_keys,
            (std::vector<std::string>{kVolunteerKey2, kVolunteerKey1, kVolunteerKey3}))
      << "allow first, then the file's new keys, each once";
  EXPECT_EQ(v.key_file, tmp.file("sub/keys/node.key"));
  EXPECT_DOUBLE_EQ(v.deadline_s, 12.5);
  EXPECT_EQ(v.max_volunteers, 1024);
  EXPECT_DOUBLE_EQ(v.audit_rate, 1.0);
  EXPECT_EQ(v.audit_trust_after, 0);
  EXPECT_EQ(v.min_units, 2);
}

TEST(JobSpecVolunteers, ListenTakesHostsNamesAndBracketedIpv6) {
  for (const std::string listen : {"0.0.0.0:0", "127.0.0.1:65535", "coordinator.example:7700",
                                   "[::1]:7700", "[fe80::1%eth0]:7700"}) {
    EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nlisten = \"" + listen + "\"\n"), "") << listen;
  }
  for (const std::string listen :
       {"localhost", "localhost:", ":7700", "host:65536", "host:-1", "host:http", "::1:7700",
        "[::1]7700", "[]:7700", "two words:7700", ""}) {
    EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nlisten = \"" + listen + "\"\n"),
              "jobs/x.toml:10:10: volunteers.listen: expected HOST:PORT with a port 0..65535 "
              "(e.g. 0.0.0.0:7700, coordinator.example:7700 or [::1]:7700; port 0 picks a free "
              "port), got \"" +
                  listen + "\"")
        << listen;
  }
}

// A key in `allow` is 64 hex digits, once; the message names the entry by index and text.
TEST(JobSpecVolunteers, AllowListErrorsNameTheEntry) {
  const std::string head = kMlpHead + "[volunteers]\nallow = [\"" + kVolunteerKey1 + "\", ";
  EXPECT_EQ(errorOf(head + "\"3F2A\"]\n"),
            "jobs/x.toml:10:78: volunteers.allow[1]: expected an ed25519 public key (64 hex "
            "digits), got \"3F2A\"");
  const std::string not_hex = "g" + kVolunteerKey1.substr(1);
  EXPECT_EQ(errorOf(head + "\"" + not_hex + "\"]\n"),
            "jobs/x.toml:10:78: volunteers.allow[1]: expected an ed25519 public key (64 hex "
            "digits), got \"" +
                not_hex + "\"");
  EXPECT_EQ(errorOf(head + "\"" + kVolunteerKey1 + "0\"]\n"),
            "jobs/x.toml:10:78: volunteers.allow[1]: expected an ed25519 public key (64 hex "
            "digits), got \"" +
                kVolunteerKey1 + "0\"");
  EXPECT_EQ(errorOf(head + "\"" + kVolunteerKeyUpper + "\"]\n"),
            "jobs/x.toml:10:78: volunteers.allow[1]: expected each key once, got \"" +
                kVolunteerKeyUpper + "\" again (volunteers.allow[0] is the same key)")
      << "keys compare case-insensitively";
  EXPECT_EQ(errorOf(head + "5]\n"),
            "jobs/x.toml:10:78: volunteers.allow[1]: expected an ed25519 public key (a string of "
            "64 hex digits), got an integer (5)");
  EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nallow = \"" + kVolunteerKey1 + "\"\n"),
            "jobs/x.toml:10:9: volunteers.allow: expected an array of ed25519 public keys (64 hex "
            "digits each), got a string (\"" +
                kVolunteerKey1 + "\")");
}

TEST(JobSpecVolunteers, AllowFileMustExistAndHoldOnlyKeys) {
  TempDir tmp("mlcp-jobs");
  const std::string file = tmp.file("allow.keys");
  const std::string job = kMlpHead + "[volunteers]\nallow_file = \"" + file + "\"\n";
  EXPECT_EQ(errorOf(job),
            "jobs/x.toml:10:14: volunteers.allow_file: expected a file of volunteer public keys, "
            "got \"" +
                file + "\", which does not exist")
      << "checked when the job loads, enabled or not";
  fs::create_directories(file);
  EXPECT_EQ(errorOf(job),
            "jobs/x.toml:10:14: volunteers.allow_file: expected a file of volunteer public keys, "
            "got \"" +
                file + "\", which is not a regular file");
  fs::remove(file);
  writeFile(file, "# keys\n" + kVolunteerKey1 + "\n\n" + kVolunteerKey2 + " " + kVolunteerKey3 +
                      "\n3f2a\n");
  EXPECT_EQ(errorOf(job),
            "jobs/x.toml:10:14: volunteers.allow_file: expected one ed25519 public key (64 hex "
            "digits) a line ('#' starts a comment), got \"" +
                kVolunteerKey2 + " " + kVolunteerKey3 + "\" on line 4 of \"" + file + "\"");
  writeFile(file, "# keys\n" + kVolunteerKey1 + "\n\n" + kVolunteerKey2 + "\n3f2a # short\n");
  EXPECT_EQ(errorOf(job),
            "jobs/x.toml:10:14: volunteers.allow_file: expected one ed25519 public key (64 hex "
            "digits) a line ('#' starts a comment), got \"3f2a\" on line 5 of \"" +
                file + "\"");
  writeFile(file, "# keys\n" + kVolunteerKey1 + "\n" + kVolunteerKey1 + "\n");
  JobSpec s;
  ASSERT_NO_THROW(s = parseJobSpec(job + "enabled = true\n", "jobs/x.toml"));
  EXPECT_TRUE(s.volunteers.allow.empty());
  EXPECT_EQ(s.volunteers.allowed_keys, std::vector<std::string>{kVolunteerKey1})
      << "a key repeated in the file is admitted once";
}

TEST(JobSpecVolunteers, EnabledNeedsKeysAndOneModelReplicaPerRank) {
  const std::string allow = "allow = [\"" + kVolunteerKey1 + "\"]\n";
  EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nenabled = true\n"),
            "jobs/x.toml:10:11: volunteers.allow: is required when volunteers.enabled is true (a "
            "job that takes volunteers names the keys it allows: volunteers.allow or "
            "volunteers.allow_file), got no keys");
  EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nenabled = true\nallow = []\n"),
            "jobs/x.toml:11:9: volunteers.allow: is required when volunteers.enabled is true (a "
            "job that takes volunteers names the keys it allows: volunteers.allow or "
            "volunteers.allow_file), got no keys");
  EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\n" + allow), "") << "disabled: no keys needed";
  EXPECT_EQ(errorOf(kMlpHead + "[volunteers]\nenabled = true\n" + allow), "");
  EXPECT_EQ(errorOf(kMlpHead + "[parallel]\npp = 2\n[volunteers]\nenabled = true\n" + allow),
            "jobs/x.toml:10:6: parallel.pp: must be 1 when volunteers.enabled is true (volunteers "
            "compute whole logical micro-batches of the whole model), got 2");
  EXPECT_EQ(errorOf(kGptHead + "[parallel]\ntp = 2\n[volunteers]\nenabled = true\n" + allow),
            "jobs/x.toml:11:6: parallel.tp: must be 1 when volunteers.enabled is true (volunteers "
            "compute whole logical micro-batches of the whole model), got 2");
  EXPECT_EQ(errorOf(kMlpHead + "[parallel]\npp = 2\n[volunteers]\n" + allow), "")
      << "disabled: any plan";
}

TEST(JobSpecVolunteers, RangesAndUnknownKeys) {
  const std::string head = kMlpHead + "[volunteers]\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"deadline_s = 0\n",
       "jobs/x.toml:10:14: volunteers.deadline_s: must be in (0, 86400] (the seconds a volunteer "
       "has for one work unit), got 0"},
      {"deadline_s = -1.5\n",
       "jobs/x.toml:10:14: volunteers.deadline_s: must be in (0, 86400] (the seconds a volunteer "
       "has for one work unit), got -1.5"},
      {"deadline_s = 86401\n",
       "jobs/x.toml:10:14: volunteers.deadline_s: must be in (0, 86400] (the seconds a volunteer "
       "has for one work unit), got 86401"},
      {"min_units = -1\n", "jobs/x.toml:10:13: volunteers.min_units: must be >= 0, got -1"},
      {"max_volunteers = 0\n",
       "jobs/x.toml:10:18: volunteers.max_volunteers: must be in [1, 1024], got 0"},
      {"max_volunteers = 1025\n",
       "jobs/x.toml:10:18: volunteers.max_volunteers: must be in [1, 1024], got 1025"},
      {"audit_rate = 0\n",
       "jobs/x.toml:10:14: volunteers.audit_rate: must be in (0, 1] (the share of a trusted "
       "volunteer's units recomputed on a rank), got 0"},
      {"audit_rate = 1.5\n",
       "jobs/x.toml:10:14: volunteers.audit_rate: must be in (0, 1] (the share of a trusted "
       "volunteer's units recomputed on a rank), got 1.5"},
      {"audit_trust_after = -1\n",
       "jobs/x.toml:10:21: volunteers.audit_trust_after: must be >= 0, got -1"},
      {"key_file = \"/nonexistent/node.key\"\n",
       "jobs/x.toml:10:12: volunteers.key_file: expected an existing ed25519 key file, got "
       "\"/nonexistent/node.key\", which does not exist"},
      {"enabled = \"yes\"\n",
       "jobs/x.toml:10:11: volunteers.enabled: expected a boolean (true or false), got a string "
       "(\"yes\")"},
      {"deadline = 10\n",
       "jobs/x.toml:10:1: volunteers.deadline: expected a key of [volunteers], got unknown key "
       "'deadline' (did you mean 'deadline_s'?)"},
      {"wibble = 1\n",
       "jobs/x.toml:10:1: volunteers.wibble: expected a key of [volunteers], got unknown key "
       "'wibble' (known keys: enabled, listen, allow, allow_file, key_file, deadline_s, "
       "max_volunteers, audit_rate, audit_trust_after, min_units)"},
  };
  for (const auto& [line, expected] : cases) {
    EXPECT_EQ(errorOf(head + line), expected) << line;
  }
  EXPECT_EQ(errorOf(head + "deadline_s = 86400\nmax_volunteers = 1\naudit_rate = 1\n"), "");
}

// ---- canonical text -------------------------------------------------------------------------

TEST(JobSpecCanonical, GoldenTextOfASmallJob) {
  const JobSpec s = parseJobSpec(kMlpHead + "[job]\nseed = 5\n", "jobs/x.toml");
  EXPECT_EQ(s.canonicalText(),
            "# mlcp canonical job v2\n"
            "checkpoint.every = 0\n"
            "data.eval_limit = 0\n"
            "data.kind = \"fashion-mnist\"\n"
            "data.train_limit = 0\n"
            "job.seed = 5\n"
            "lr_schedule.kind = \"constant\"\n"
            "lr_schedule.warmup_steps = 0\n"
            "model.hidden = [256, 128]\n"
            "model.kind = \"mlp\"\n"
            "optimizer.beta1 = 0.9\n"
            "optimizer.beta2 = 0.999\n"
            "optimizer.eps = 1e-08\n"
            "optimizer.grad_clip = 0\n"
            "optimizer.kind = \"adamw\"\n"
            "optimizer.lr = 0.001\n"
            "optimizer.weight_decay = 0\n"
            "parallel.pp = 1\n"
            "parallel.schedule = \"1f1b\"\n"
            "parallel.tp = 1\n"
            "parallel.virtual_stages = 1\n"
            "runtime.ops = \"reproducible\"\n"
            "train.epochs = 0\n"
            "train.eval_every = 0\n"
            "train.global_batch = 64\n"
            "train.micro_batches = 4\n"
            "train.steps = 10\n");
}

TEST(JobSpecCanonical, IgnoresPhysicalKnobsAndLayout) {
  const std::string base = parseJobSpec(kMlpHead, "jobs/x.toml").canonicalText();
  // Same program written differently: defaults spelt out, keys reordered, ints for floats.
  const std::string spelt =
      "[train]\nsteps = 10\nmicro_batches = 4\nglobal_batch = 64\n"
      "[optimizer]\nlr = 0.001\nkind = \"adamw\"\n"
      "[data]\nkind = \"fashion-mnist\"\n"
      "[model]\nhidden = [256, 128]\nkind = \"mlp\"\n"
      "[parallel]\npp = 1\n";
  EXPECT_EQ(parseJobSpec(spelt, "jobs/y.toml").canonicalText(), base);
  // Physical knobs: output dir, name, timeouts, dp, logging, Slurm, bridge, keep.
  const std::string physical = "[job]\nname = \"other\"\noutput_dir = \"/tmp/elsewhere\"\n" +
                               kMlpHead +
                               "log_every = 1\n"
                               "[runtime]\ncollective_timeout_s = 5\n"
                               "[parallel]\ndp = 3\n"
                               "[checkpoint]\nkeep = 2\n"
                               "[slurm]\npartition = \"gpu\"\ntime = \"2:00:00\"\nnodes = 3\n"
                               "[bridge]\nrpc_url = \"http://127.0.0.1:8545\"\njob_id = 4\n";
  EXPECT_EQ(parseJobSpec(physical, "jobs/z.toml").canonicalText(), base);
}

// Who computes a micro-batch is placement: a job with volunteers is the same program.
TEST(JobSpecCanonical, IgnoresVolunteers) {
  const std::string base = parseJobSpec(kMlpHead, "jobs/x.toml").canonicalText();
  const std::string with = kMlpHead +
                           "[volunteers]\nenabled = true\nlisten = \"0.0.0.0:7700\"\n"
                           "allow = [\"" +
                           kVolunteerKey1 +
                           "\"]\ndeadline_s = 5\nmax_volunteers = 2\naudit_rate = 0.5\n"
                           "audit_trust_after = 3\n";
  EXPECT_EQ(parseJobSpec(with, "jobs/x.toml").canonicalText(), base);
}

TEST(JobSpecCanonical, ChangesWithTheLogicalProgram) {
  const std::string base = parseJobSpec(kMlpHead, "jobs/x.toml").canonicalText();
  const std::vector<std::string> variants = {
      "[job]\nseed = 1\n" + kMlpHead,
      kMlpHead + "[optimizer]\nlr = 0.002\n",
      kMlpHead + "[runtime]\nops = \"native\"\n",
      kMlpHead + "[parallel]\npp = 2\n",
      kMlpHead + "[lr_schedule]\nwarmup_steps = 2\n",
      "[model]\nkind = \"stack\"\n[[model.stack]]\ntype = \"dense\"\nwidth = 8\n" +
          kMlpHead.substr(21),
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(parseJobSpec(variants[i], "jobs/x.toml").canonicalText(), base)
        << "variant " << i << ":\n"
        << variants[i];
  }
  const std::string micro =
      "[model]\nkind = \"mlp\"\n[data]\nkind = \"fashion-mnist\"\n"
      "[train]\nglobal_batch = 64\nmicro_batches = 8\nsteps = 10\n";
  EXPECT_NE(parseJobSpec(micro, "jobs/x.toml").canonicalText(), base) << "micro-batch split";
  // LibTorch's kernels split some reductions by thread count; the reproducible ones do not.
  const std::string native = kMlpHead + "[runtime]\nops = \"native\"\n";
  EXPECT_NE(parseJobSpec(native + "intra_op_threads = 2\n", "jobs/x.toml").canonicalText(),
            parseJobSpec(native, "jobs/x.toml").canonicalText());
  EXPECT_EQ(
      parseJobSpec(kMlpHead + "[runtime]\nintra_op_threads = 2\n", "jobs/x.toml").canonicalText(),
      base);
  // The tensor-parallel degree splits matmuls, so it is part of the program.
  EXPECT_NE(parseJobSpec(kGptHead + "[parallel]\ntp = 2\n", "jobs/x.toml").canonicalText(),
            parseJobSpec(kGptHead, "jobs/x.toml").canonicalText());
}

TEST(JobSpecValidation, TensorParallelismNeedsTheGpt) {
  for (const std::string kind : {"mlp", "cnn"}) {
    const std::string head = kind == "mlp" ? kMlpHead
                                           : "[model]\nkind = \"cnn\"\n[data]\nkind = "
                                             "\"fashion-mnist\"\n[train]\nglobal_batch = "
                                             "64\nmicro_batches = 4\nsteps = 10\n";
    try {
      parseJobSpec(head + "[parallel]\ntp = 2\n", "jobs/x.toml");
      FAIL() << kind << " with tp = 2 was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("parallel.tp: tensor parallelism splits the GPT"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("model.kind \"" + kind + "\""), std::string::npos)
          << e.what();
    }
  }
}

// ---- world size -----------------------------------------------------------------------------

TEST(JobSpecWorld, AutoDpTakesTheRanksLeftByTheModelMesh) {
  const JobSpec s = parseJobSpec(kGptHead + "[parallel]\npp = 2\ntp = 2\n", "jobs/x.toml");
  for (int world : {4, 8, 12}) {
    EXPECT_NO_THROW(checkWorldSize(s, world)) << world;
    EXPECT_EQ(resolvedDp(s, world), world / 4) << world;
  }
  for (int world : {1, 2, 3, 6}) {
    try {
      checkWorldSize(s, world);
      ADD_FAILURE() << "world " << world << " accepted";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()),
                "jobs/x.toml:12:6: parallel.dp: expected a rank count divisible by pp*tp = 2*2 = "
                "4 (parallel.dp = 0 means dp = ranks/(pp*tp)), got a world of " +
                    std::to_string(world) + " ranks");
    }
  }
}

TEST(JobSpecWorld, ExplicitDpNeedsExactlyDpTimesPpTimesTp) {
  const JobSpec s = parseJobSpec(kMlpHead + "[parallel]\ndp = 2\npp = 2\n", "jobs/x.toml");
  EXPECT_EQ(resolvedDp(s, 4), 2);
  for (int world : {1, 2, 3, 5, 8}) {
    try {
      checkWorldSize(s, world);
      ADD_FAILURE() << "world " << world << " accepted";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()),
                "jobs/x.toml:10:6: parallel.dp: expected dp*pp*tp = 2*2*1 = 4 ranks, got a "
                "world of " +
                    std::to_string(world) + " ranks");
    }
  }
}

TEST(JobSpecWorld, SingleRankDefaults) {
  const JobSpec s = parseJobSpec(kMlpHead, "jobs/x.toml");
  EXPECT_EQ(resolvedDp(s, 1), 1);
  EXPECT_EQ(resolvedDp(s, 3), 3);
  EXPECT_THROW(checkWorldSize(s, 0), UsageError);
}

// docs/job-spec.md documents every key of every section, in that section's table.
TEST(JobSpecDocs, EveryKeyIsDocumented) {
  const std::string doc = test::readFile(test::sourceDir() + "/docs/job-spec.md");
  for (const auto& [section, keys] : jobSchema()) {
    const size_t begin = doc.find("### `[" + section + "]`");
    ASSERT_NE(begin, std::string::npos) << "no heading for [" << section << "]";
    const size_t end = doc.find("\n### ", begin + 1);
    const std::string body = doc.substr(begin, end == std::string::npos ? end : end - begin);
    for (const auto& key : keys) {
      EXPECT_NE(body.find("| `" + key + "` |"), std::string::npos)
          << section << "." << key << " has no row in docs/job-spec.md";
    }
  }
}

TEST(JobSpecModel, LayerCounts) {
  ModelSpec m;
  m.kind = "mlp";
  EXPECT_EQ(modelLayerCount(m), 3);
  m.kind = "cnn";
  EXPECT_EQ(modelLayerCount(m), 3);
  m.kind = "gpt";
  EXPECT_EQ(modelLayerCount(m), 6);
  m.kind = "stack";
  m.stack = {{"conv", 8, true}, {"dense", 16, true}};
  EXPECT_EQ(modelLayerCount(m), 3);  // the layers and the head
  m.kind = "residual_mlp";           // registered: known once built
  EXPECT_EQ(modelLayerCount(m), 0);
}

TEST(JobSpecModel, StackIsReadInOrderAndCountedByTheMemoryEstimate) {
  const JobSpec s = parseJobSpec(
      "[model]\nkind = \"stack\"\n"
      "[[model.stack]]\ntype = \"conv\"\nchannels = 16\n"
      "[[model.stack]]\ntype = \"dense\"\nwidth = 64\nactivation = \"none\"\n" +
          kMlpHead.substr(21),
      "jobs/x.toml");
  ASSERT_EQ(s.model.stack.size(), 2u);
  EXPECT_EQ(s.model.stack[0].type, "conv");
  EXPECT_EQ(s.model.stack[0].width, 16);
  EXPECT_EQ(s.model.stack[1].type, "dense");
  EXPECT_EQ(s.model.stack[1].width, 64);
  EXPECT_FALSE(s.model.stack[1].relu);
  // conv 1->16 (3x3 + bias), dense 16*14*14 -> 64, head 64 -> 10.
  EXPECT_EQ(parameterCount(s.model, 10), (9 * 16 + 16) + (16 * 14 * 14 * 64 + 64) + (64 * 10 + 10));
  // A stack of dense layers has the mlp's parameters.
  ModelSpec mlp;
  mlp.kind = "mlp";
  mlp.hidden = {64, 32};
  ModelSpec dense = mlp;
  dense.kind = "stack";
  dense.stack = {{"dense", 64, true}, {"dense", 32, true}};
  EXPECT_EQ(parameterCount(dense, 10), parameterCount(mlp, 10));
}

TEST(JobSpecModel, RegisteredKindKeepsItsOptionsTypedAndInTheProgram) {
  const std::string head = "[model]\nkind = \"residual_mlp\"\n[model.options]\n";
  const std::string rest = kMlpHead.substr(21);
  const JobSpec s = parseJobSpec(
      head + "width = 96\nscale = 2.0\ngated = true\nnorm = \"layer\"\nwidths = [1, 2]\n" + rest,
      "jobs/x.toml");
  EXPECT_EQ(s.model.kind, "residual_mlp");
  EXPECT_EQ(s.model.options.getInt("width", 0), 96);
  EXPECT_EQ(s.model.options.getDouble("scale", 0), 2.0);
  EXPECT_EQ(s.model.options.getDouble("width", 0), 96.0);  // an integer where a float is asked
  EXPECT_TRUE(s.model.options.getBool("gated", false));
  EXPECT_EQ(s.model.options.getString("norm", ""), "layer");
  EXPECT_EQ(s.model.options.getIntArray("widths", {}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.model.options.getInt("blocks", 3), 3);  // absent: the default
  try {
    s.model.options.getInt("norm", 0);
    FAIL() << "a string was read as an integer";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "model.options.norm: expected an integer, got a string (\"layer\")");
  }
  // Each option is part of the logical program; a float stays a float.
  const std::string canonical = s.canonicalText();
  EXPECT_NE(canonical.find("model.options.scale = 2.0\n"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find("model.options.widths = [1, 2]\n"), std::string::npos) << canonical;
  EXPECT_NE(parseJobSpec(head + "width = 97\n" + rest, "jobs/x.toml").canonicalText(),
            parseJobSpec(head + "width = 96\n" + rest, "jobs/x.toml").canonicalText());
}

// Found by tests/fuzz/fuzz_job_spec: sizes and counts near 2^63 overflowed int64 where the
// checks multiply them (model.layers + 2, model.ffn_mult * model.d_model, parallel.pp *
// parallel.virtual_stages, slurm.nodes * slurm.tasks_per_node: undefined behaviour). Each is at
// most 2^20 now, refused with the usual sentence.
TEST(JobSpec, SizesAndCountsThatAreMultipliedAreAtMost2To20) {
  const std::string model = kGptHead.substr(0, 21), rest = kGptHead.substr(21);
  const std::string big = "9223372036854775807";
  EXPECT_EQ(errorOf(model + "layers = " + big + "\n" + rest),
            "jobs/x.toml:3:10: model.layers: must be at most 1048576, got " + big);
  EXPECT_EQ(errorOf(model + "layers = 1048576\n" + rest), "");
  for (const std::string key : {"d_model", "heads", "context", "ffn_mult"}) {
    EXPECT_NE(errorOf(model + key + " = " + big + "\n" + rest)
                  .find("model." + key + ": must be at most 1048576, got " + big),
              std::string::npos)
        << key;
  }
  EXPECT_NE(errorOf(kGptHead + "[parallel]\npp = 2\nschedule = \"interleaved\"\nvirtual_stages = " +
                    big + "\n")
                .find("parallel.virtual_stages: must be at most 1048576"),
            std::string::npos);
  EXPECT_NE(
      errorOf(kMlpHead + "[parallel]\ndp = " + big + "\n").find("parallel.dp: must be at most"),
      std::string::npos);
  EXPECT_NE(errorOf(kMlpHead + "[slurm]\nnodes = " + big + "\ntasks_per_node = 2\n")
                .find("slurm.nodes: must be at most 1048576, got " + big),
            std::string::npos);
  EXPECT_NE(errorOf(kMlpHead + "[slurm]\ntasks_per_node = " + big + "\n")
                .find("slurm.tasks_per_node: must be at most 1048576"),
            std::string::npos);
}

}  // namespace
}  // namespace mlcp::jobs
