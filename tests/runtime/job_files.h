// Small job files for end-to-end tests, written into a test's temporary directory.
#pragma once

#include <string>

namespace mlcp::test {

// An MLP on the first 4096 Fashion-MNIST images: 7 micro-batches per step, so 2, 3 and 4 ranks
// get unequal shares of the step.
inline std::string mlpJob(const std::string& name, int steps, int threads = 1) {
  return "[job]\nname = \"" + name +
         "\"\nseed = 7\n"
         "[model]\nkind = \"mlp\"\nhidden = [64, 32]\n"
         "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
         "train_limit = 4096\neval_limit = 1000\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.002\nweight_decay = 0.01\n"
         "[train]\nglobal_batch = 126\nmicro_batches = 7\nsteps = " +
         std::to_string(steps) +
         "\n"
         "log_every = 5\n"
         "[runtime]\nintra_op_threads = " +
         std::to_string(threads) + "\n";
}

// A two-layer GPT on fortunes with dropout (counter-based dropout masks are part of the test).
inline std::string gptJob(const std::string& name, int steps, int threads = 1) {
  return "[job]\nname = \"" + name +
         "\"\nseed = 11\n"
         "[model]\nkind = \"gpt\"\nd_model = 32\nlayers = 2\nheads = 2\ncontext = 16\n"
         "dropout = 0.1\n"
         "[data]\nkind = \"text\"\npath = \"/usr/share/games/fortunes\"\n"
         "train_limit = 20000\neval_limit = 200\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.003\n"
         "[lr_schedule]\nkind = \"cosine\"\nwarmup_steps = 3\n"
         "[train]\nglobal_batch = 30\nmicro_batches = 5\nsteps = " +
         std::to_string(steps) +
         "\n"
         "[runtime]\nintra_op_threads = " +
         std::to_string(threads) + "\n";
}

inline std::string cnnJob(const std::string& name, int steps) {
  return "[job]\nname = \"" + name +
         "\"\nseed = 3\n"
         "[model]\nkind = \"cnn\"\nchannels = [8, 16]\n"
         "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
         "train_limit = 2048\neval_limit = 500\n"
         "[optimizer]\nkind = \"sgd\"\nlr = 0.05\nmomentum = 0.9\n"
         "[train]\nglobal_batch = 60\nmicro_batches = 5\nsteps = " +
         std::to_string(steps) + "\n";
}

// A model described in the job file (model.kind "stack"): a conv layer, a dense layer without
// activation, a dense layer with ReLU, then the head. `extra`: more sections ([parallel]).
inline std::string stackJob(const std::string& name, int steps, const std::string& extra = "") {
  return "[job]\nname = \"" + name +
         "\"\nseed = 5\n"
         "[model]\nkind = \"stack\"\n"
         "[[model.stack]]\ntype = \"conv\"\nchannels = 6\n"
         "[[model.stack]]\ntype = \"dense\"\nwidth = 40\nactivation = \"none\"\n"
         "[[model.stack]]\ntype = \"dense\"\nwidth = 24\n"
         "[data]\nkind = \"fashion-mnist\"\npath = \"/usr/share/datasets/fashion-mnist\"\n"
         "train_limit = 2048\neval_limit = 500\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.002\n"
         "[train]\nglobal_batch = 60\nmicro_batches = 5\nsteps = " +
         std::to_string(steps) + "\n" + extra;
}

}  // namespace mlcp::test
