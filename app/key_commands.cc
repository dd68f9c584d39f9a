#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "app/commands.h"
#include "base/error.h"
#include "verify/checkpoint.h"
#include "verify/node_key.h"

namespace mlcp::app {
using namespace verify;
namespace {

struct KeysNewOptions {
  std::string out;
  bool force = false;
};

struct VerifyCheckpointOptions {
  std::string path;
  std::string signer;
};

}  // namespace

void addKeyCommands(CLI::App& app) {
  CLI::App* keys = app.add_subcommand("keys", "Create and show this node's ed25519 signing key");
  keys->require_subcommand(1);

  auto new_opts = std::make_shared<KeysNewOptions>();
  CLI::App* keys_new = keys->add_subcommand(
      "new",
      "Create a new node key (file mode 0600); default $MLCP_KEY_FILE or ~/.config/mlcp/node.key");
  keys_new->add_option("--out", new_opts->out, "Where to write the key file");
  keys_new->add_flag("--force", new_opts->force, "Replace an existing key file");
  keys_new->callback([new_opts] {
    std::string path = new_opts->out.empty() ? defaultKeyPath() : new_opts->out;
    KeyPair key = KeyPair::generate();
    key.save(path, new_opts->force);
    fmt::print("public key: {}\nkey file:   {}\n", key.publicKeyHex(), path);
  });

  auto show_path = std::make_shared<std::string>();
  CLI::App* keys_show = keys->add_subcommand("show", "Print a node key's public key and path");
  keys_show->add_option("path", *show_path,
                        "Key file (default $MLCP_KEY_FILE or ~/.config/mlcp/node.key)");
  keys_show->callback([show_path] {
    std::string path = show_path->empty() ? defaultKeyPath() : *show_path;
    KeyPair key = KeyPair::load(path);
    fmt::print("public key: {}\nkey file:   {}\n", key.publicKeyHex(), path);
  });
}

void addVerifyCheckpointCommand(CLI::App& verify) {
  auto ck = std::make_shared<VerifyCheckpointOptions>();
  CLI::App* verify_ck = verify.add_subcommand(
      "checkpoint", "Check a checkpoint's signature, Merkle root and every tensor hash");
  verify_ck->add_option("path", ck->path, "Checkpoint folder (RUN_DIR/checkpoints/step-N)")
      ->required();
  verify_ck->add_option("--signer", ck->signer, "Refuse unless signed by this public key (hex)");
  verify_ck->callback([ck] {
    ReaderOptions options;
    if (!ck->signer.empty()) options.expected_signer = ck->signer;
    CheckpointReader reader = CheckpointReader::open(ck->path, options);
    reader.verifyAll();
    fmt::print(
        "checkpoint: {}\nstep:       {}\ntensors:    {}\nsigner:     {}\nroot:       {}\nOK\n",
        ck->path, reader.step(), reader.manifest().tensors.size(),
        reader.manifest().signer_public_key, reader.root().hex());
  });
}

}  // namespace mlcp::app
