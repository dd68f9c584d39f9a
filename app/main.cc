// `mlcp` — the one binary: the command line (app/command_line.h) with the built-in models
// only. A program with models of its own registers them first (models/model_registry.h).
#include "app/command_line.h"

int main(int argc, char** argv) { return mlcp::app::runCommandLine(argc, argv); }
