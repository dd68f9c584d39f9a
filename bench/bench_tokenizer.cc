// bench_tokenizer — mlcp's tokenizer throughput against SentencePiece's own command-line tool,
// `spm_encode` (Debian sentencepiece), on the same corpus and model, measured in the same run:
//
//   spm_encode     `spm_encode --model=M --output_format=id < corpus > /dev/null`: one
//                  process, model load and the printing of ids included
//   mlcp encode    the encoding loop of `mlcp data prepare` in this process: the corpus read
//                  line by line (data/corpus_lines.h), each line encoded (data/token_vocabulary.h)
//   mlcp prepare   all of `mlcp data prepare --model M`: encode, shard, hash, fsync, manifest
//
// Each is run --reps times; the median wall time is reported, with MB/s of text, M tokens/s
// and the ratio of mlcp's throughput to spm_encode's (> 1: mlcp is faster). Without --model a
// vocabulary is trained first (not timed). docs/performance.md records the figures.
#include <fmt/format.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "bench/bench_cli.h"
#include "bench/bench_stats.h"
#include "data/corpus_lines.h"
#include "data/token_prepare.h"
#include "data/token_vocabulary.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Options {
  std::string corpus = "/usr/share/games/fortunes";
  std::string model;
  int64_t vocab_size = 8000;
  int reps = 3;
  std::string spm_encode = "spm_encode";
  std::string work = "";
};

int run(const Options& o) {
  const fs::path work =
      o.work.empty() ? fs::temp_directory_path() / "mlcp-bench-tokenizer" : fs::path(o.work);
  fs::remove_all(work);
  fs::create_directories(work);
  // The corpus as one file of the same lines in the same order: spm_encode's input.
  const std::string text = (work / "corpus.txt").string();
  int64_t bytes = 0, lines = 0;
  {
    mlcp::data::CorpusLines in(o.corpus);
    std::ofstream out(text, std::ios::binary);
    std::string line;
    while (in.next(&line)) out << line << '\n';
    bytes = in.bytes();
    lines = in.lines();
  }
  std::string model = o.model;
  if (model.empty()) {
    mlcp::data::VocabularyTraining t;
    t.vocab_size = o.vocab_size;
    t.model_type = "bpe";
    t.sample_lines = 20000;
    const auto t0 = Clock::now();
    const std::string bytes_of_model = mlcp::data::trainVocabulary(o.corpus, t);
    model = (work / "bench.model").string();
    std::ofstream(model, std::ios::binary) << bytes_of_model;
    fmt::print("trained a {}-piece BPE vocabulary in {:.1f} s (not timed below)\n", o.vocab_size,
               seconds(t0));
  }
  const auto vocabulary = mlcp::data::TokenVocabulary::load(model);
  fmt::print("corpus {}: {} lines, {:.2f} MB; model {} ({} pieces)\n", o.corpus, lines,
             static_cast<double>(bytes) / 1e6, model, vocabulary.size());

  std::vector<double> spm, encode, prepare;
  int64_t tokens = 0;
  for (int rep = 0; rep < o.reps; ++rep) {
    {
      const std::string cmd = fmt::format("{} --model={} --output_format=id < {} > /dev/null",
                                          o.spm_encode, model, text);
      const auto t0 = Clock::now();
      const int status = std::system(cmd.c_str());
      spm.push_back(seconds(t0));
      if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw mlcp::UsageError(
            fmt::format("`{}` failed (is Debian's sentencepiece installed?)", cmd));
      }
    }
    {
      const auto t0 = Clock::now();
      mlcp::data::CorpusLines in(o.corpus);
      std::string line;
      std::vector<int> ids;
      int64_t n = 0;
      while (in.next(&line)) {
        vocabulary.encode(line, &ids);
        n += static_cast<int64_t>(ids.size()) + 1;  // + </s>, as prepare writes it
      }
      encode.push_back(seconds(t0));
      tokens = n;
    }
    {
      mlcp::data::PrepareOptions p;
      p.corpus = o.corpus;
      p.out = (work / "prepared").string();
      p.model = model;
      const auto t0 = Clock::now();
      const auto s = mlcp::data::prepareTokenData(p);
      prepare.push_back(seconds(t0));
      if (s.tokens != tokens) throw mlcp::Error("prepare and the encode loop disagree");
      fs::remove_all(p.out);
    }
  }
  const double mb = static_cast<double>(bytes) / 1e6, mt = static_cast<double>(tokens) / 1e6;
  const double base = mlcp::bench::median(spm);
  fmt::print("{:<14} {:>9} {:>9} {:>12} {:>10}\n", "", "median s", "MB/s", "M tokens/s", "vs spm");
  for (const auto& [name, times] :
       {std::pair<const char*, std::vector<double>*>{"spm_encode", &spm},
        {"mlcp encode", &encode},
        {"mlcp prepare", &prepare}}) {
    const double t = mlcp::bench::median(*times);
    fmt::print("{:<14} {:>9.3f} {:>9.2f} {:>12.3f} {:>9.2f}x\n", name, t, mb / t, mt / t, base / t);
  }
  fmt::print("({} reps, {} tokens; ratio = spm_encode's time / mlcp's: > 1 is faster)\n", o.reps,
             tokens);
  fs::remove_all(work);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"mlcp's tokenizer vs spm_encode on one corpus", "bench_tokenizer"};
  app.add_option("--corpus", o.corpus, "A text file or directory")->capture_default_str();
  app.add_option("--model", o.model, "A SentencePiece model (default: train one)");
  app.add_option("--vocab-size", o.vocab_size, "Without --model: the vocabulary to train")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--reps", o.reps, "Repetitions (the median is reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--spm-encode", o.spm_encode, "The spm_encode program")->capture_default_str();
  app.add_option("--work", o.work, "Scratch folder (default: a temporary one)");
  return mlcp::bench::runBenchmark(app, argc, argv, [&] { return run(o); });
}
