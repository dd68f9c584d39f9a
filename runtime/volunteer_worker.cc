#include "runtime/volunteer_worker.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>

#include "base/error.h"
#include "collectives/ucx/socket_address.h"
#include "collectives/ucx/ucx_worker.h"
#include "data/sample_order.h"
#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "runtime/contribution_tensors.h"
#include "runtime/job_setup.h"
#include "runtime/local_executor.h"
#include "runtime/state_chain.h"
#include "runtime/stop_signal.h"
#include "verify/hash.h"
#include "verify/node_key.h"
#include "volunteer/contribution.h"
#include "volunteer/session.h"
#include "volunteer/tensor_transfer.h"

namespace mlcp::runtime {

namespace ucx = collectives::ucx;
namespace vol = volunteer;
using Clock = std::chrono::steady_clock;

namespace {

// Ends the volunteer with `code` and one sentence.
struct Stop {
  int code;
  std::string why;
};

class Volunteer {
 public:
  explicit Volunteer(const VolunteerOptions& o) : o_(o), worker_(context_) {}

  VolunteerResult run() {
    VolunteerResult result;
    try {
      connect();
      loop();
    } catch (const Stop& s) {
      result.exit_code = s.code;
      result.why = s.why;
    }
    result.units = units_;
    return result;
  }

 private:
  void say(const std::string& line) {
    if (o_.say) o_.say("mlcp volunteer: " + line);
  }

  void connect() {
    try {
      key_.emplace(verify::KeyPair::load(o_.key_file));
    } catch (const Error& e) {
      throw Stop{kVolunteerUsage, e.what()};
    }
    const verify::KeyPair& key = *key_;
    vol::ClientOptions co;
    co.job_id = o_.job;
    if (!o_.job_key.empty()) {
      try {
        co.expected_job_key = verify::arrayFromHex<32>(o_.job_key, "--job-key");
      } catch (const Error& e) {
        throw Stop{kVolunteerUsage, e.what()};
      }
    }
    try {
      ucx::SocketAddress::parse(o_.connect);
    } catch (const Error& e) {
      throw Stop{kVolunteerUsage, std::string("--connect: ") + e.what()};
    }
    say(fmt::format("connecting to {} for job '{}' as key {}", o_.connect, o_.job,
                    key.publicKeyHex()));
    const auto deadline = ucx::deadlineIn(
        std::chrono::milliseconds(static_cast<int64_t>(o_.connect_timeout_s * 1000)));
    // A job that is not listening yet (volunteers may start first) is dialled again until the
    // connect timeout; a refusal is final.
    for (int attempt = 1;; ++attempt) {
      try {
        session_.emplace(vol::Session::connect(worker_, o_.connect, key, co, deadline));
        break;
      } catch (const UsageError& e) {
        throw Stop{kVolunteerRefused, fmt::format("the job refused this volunteer: {}", e.what())};
      } catch (const VerificationError& e) {
        throw Stop{kVolunteerRefused, e.what()};
      } catch (const Error& e) {
        if (ucx::Clock::now() + std::chrono::milliseconds(250) >= deadline) {
          throw Stop{kVolunteerLost,
                     fmt::format("could not join the job at {} within {} s ({} "
                                 "attempts): {}",
                                 o_.connect, o_.connect_timeout_s, attempt, e.what())};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    const vol::Message first = receive(ucx::deadlineIn(std::chrono::seconds(60)));
    if (vol::typeOf(first) != vol::MessageType::kWelcome) {
      throw Stop{kVolunteerLost, fmt::format("the job sent a {} where a Welcome was due",
                                             vol::messageTypeName(vol::typeOf(first)))};
    }
    welcome(std::get<vol::Welcome>(first));
  }

  void welcome(const vol::Welcome& w) {
    try {
      spec_ = jobs::parseJobSpec(w.job_file,
                                 fmt::format("the job file of '{}' from {}", o_.job, o_.connect));
      if (!o_.data.empty()) {
        if (spec_.data.sources.size() > 1) {
          throw UsageError("--data names one data set; this job mixes " +
                           std::to_string(spec_.data.sources.size()) + " sources");
        }
        spec_.data.path = o_.data;
        for (auto& s : spec_.data.sources) s.path = o_.data;
      }
      spec_.runtime.intra_op_threads = o_.threads;
      setIntraOpThreads(spec_);
      data_ = loadJobData(spec_);
    } catch (const Error& e) {
      throw Stop{kVolunteerUsage, e.what()};
    }
    if (data_.content_hash != w.data_hash.hex()) {
      session_->send(vol::Bye{vol::ByeReason::kError, "my copy of the data is not the job's"},
                     ucx::deadlineIn(std::chrono::seconds(2)));
      throw Stop{kVolunteerUsage,
                 fmt::format("the data at {} is not the job's (content hash {}, the job's {})",
                             spec_.data.path, data_.content_hash, w.data_hash.hex())};
    }
    model_ = models::buildModel(spec_.model, data_.num_classes, spec_.seed, nullptr,
                                jobOperators(spec_));
    model_->train();
    for (const auto& item : model_->named_parameters()) {
      params_.push_back(item.value());
      std::vector<uint64_t> shape;
      for (int64_t d : item.value().sizes()) shape.push_back(static_cast<uint64_t>(d));
      shapes_.push_back(shape);
    }
    plan_.emplace(spec_.seed, data_.train->size(), spec_.train.global_batch,
                  spec_.train.micro_batches);
    node_ = w.node_id;
    say(fmt::format("joined job '{}' as node {}: {} ({} parameters), data {}; waiting for work",
                    w.job_id, w.node_id, spec_.model.kind, model_->numParameters(),
                    data_.train->describe()));
  }

  vol::Message receive(ucx::Deadline deadline) {
    try {
      return session_->receive(deadline);
    } catch (const TimeoutError&) {
      throw;
    } catch (const Error& e) {
      throw Stop{kVolunteerLost,
                 fmt::format("the connection to the job at {} failed: {}", o_.connect, e.what())};
    }
  }

  // A send failed: a Bye that arrived before the job closed the connection says why (an
  // eviction, the job's end); without one the job is gone.
  [[noreturn]] void connectionFailed(const Error& e) {
    try {
      while (auto m = session_->tryReceive()) handle(std::move(*m));
    } catch (const Error&) {
      // The connection is gone; what it had delivered was handled above.
    }
    throw Stop{kVolunteerLost,
               fmt::format("the connection to the job at {} failed: {}", o_.connect, e.what())};
  }

  void leave(const char* signal) {
    try {
      session_->send(vol::Bye{vol::ByeReason::kShutdown, std::string("left on ") + signal},
                     ucx::deadlineIn(std::chrono::seconds(2)));
      session_->close(ucx::deadlineIn(std::chrono::seconds(2)));
    } catch (const Error&) {
    }
    throw Stop{kVolunteerDone, fmt::format("left the job on {} after {} unit(s)", signal, units_)};
  }

  void loop() {
    const StopSignal stop;
    auto last_message = Clock::now();
    for (;;) {
      if (stop.requested()) leave(stop.name());
      if (!queue_.empty()) {
        const vol::Assign a = queue_.front();
        queue_.pop_front();
        compute(a);
        continue;
      }
      std::optional<vol::Message> m;
      try {
        m = receive(ucx::deadlineIn(std::chrono::milliseconds(200)));
      } catch (const TimeoutError&) {
        const double idle = std::chrono::duration<double>(Clock::now() - last_message).count();
        if (idle > o_.idle_timeout_s) {
          throw Stop{kVolunteerLost, fmt::format("no message from the job for {:.0f} s "
                                                 "(--idle-timeout)",
                                                 idle)};
        }
        continue;
      }
      last_message = Clock::now();
      handle(std::move(*m));
    }
  }

  void handle(vol::Message&& m) {
    switch (vol::typeOf(m)) {
      case vol::MessageType::kState:
        onState(std::get<vol::State>(std::move(m)));
        return;
      case vol::MessageType::kAssign:
        queue_.push_back(std::get<vol::Assign>(m));
        return;
      case vol::MessageType::kBye: {
        const auto& bye = std::get<vol::Bye>(m);
        if (bye.reason == vol::ByeReason::kDone) {
          throw Stop{kVolunteerJobEnded,
                     fmt::format("the job finished; this volunteer computed {} unit(s)", units_)};
        }
        if (bye.reason == vol::ByeReason::kEvicted) {
          throw Stop{kVolunteerRefused, "the job evicted this volunteer: " + bye.detail};
        }
        throw Stop{kVolunteerLost, "the job stopped: " + bye.detail};
      }
      case vol::MessageType::kReject: {
        const auto& r = std::get<vol::Reject>(m);
        say(fmt::format("the job refused a {}: {} {}", vol::messageTypeName(r.rejected),
                        vol::rejectReasonText(r.reason), r.detail));
        return;
      }
      case vol::MessageType::kHeartbeat:
      case vol::MessageType::kAck:
        return;
      default:
        throw Stop{kVolunteerLost, fmt::format("the job sent a {}, which jobs do not send",
                                               vol::messageTypeName(vol::typeOf(m)))};
    }
  }

  void onState(vol::State&& s) {
    if (s.chunk_index == 0) assembler_.emplace(shapes_, "State tensors");
    if (!assembler_) throw Stop{kVolunteerLost, "the job sent a State chunk out of order"};
    try {
      assembler_->add(s.chunk_index, s.chunk_count, std::move(s.tensors));
    } catch (const Error& e) {
      throw Stop{kVolunteerLost, e.what()};
    }
    if (!assembler_->complete()) return;
    auto tensors = assembler_->take();
    assembler_.reset();
    std::vector<Hash256> hashes;
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params_.size(); ++i) {
        auto& p = params_[i];
        std::memcpy(p.data_ptr<float>(), tensors[i].data(), tensors[i].size() * sizeof(float));
        hashes.push_back(verify::hashTensor(verify::DType::kFloat32, p.sizes().vec(),
                                            p.data_ptr<float>(),
                                            tensors[i].size() * sizeof(float)));
      }
    }
    const Hash256 digest = stateDigest(hashes);
    if (digest != s.state_hash) {
      session_->send(vol::Reject{vol::RejectReason::kBadHash, vol::MessageType::kState, s.step, 0,
                                 "the parameters do not match the state digest"},
                     ucx::deadlineIn(std::chrono::seconds(2)));
      throw Stop{kVolunteerLost,
                 fmt::format("the job's parameters for step {} do not match its state digest {}",
                             s.step + 1, s.state_hash.hex())};
    }
    state_step_ = static_cast<int64_t>(s.step);
    state_digest_ = digest;
  }

  void compute(const vol::Assign& a) {
    const auto step = static_cast<int64_t>(a.step);
    const auto j = static_cast<int64_t>(a.micro_batch);
    if (step != state_step_ || j < 0 || j >= spec_.train.micro_batches) {
      session_->send(vol::Reject{vol::RejectReason::kUnexpected, vol::MessageType::kAssign, a.step,
                                 a.micro_batch, "no state for that step or no such unit"},
                     ucx::deadlineIn(std::chrono::seconds(2)));
      return;
    }
    say(fmt::format("computing step {} micro-batch {}", step + 1, j));
    const auto t0 = Clock::now();
    const auto batch = data_.train->batch(plan_->microBatch(step, j));
    StepObserver none;
    const LossFunction loss_fn = [this](const torch::Tensor& logits, const torch::Tensor& target) {
      return models::modelLoss(*model_, logits, target, nullptr);
    };
    const auto loss = computeMicroBatch(*model_, batch, spec_.seed, step, j, loss_fn, none,
                                        spec_.runtime.recompute);
    if (o_.slow_ms > 0) {
      // A slow machine: the unit is "in hand" until this passes (a signal ends the wait early
      // only after the unit is sent).
      std::this_thread::sleep_until(
          t0 + std::chrono::microseconds(static_cast<int64_t>(o_.slow_ms * 1000)));
    }
    std::vector<std::vector<float>> tensors = contributionTensors(params_, loss.item<float>());
    if (o_.lie_step > 0 && step + 1 >= o_.lie_step && !lied_ && !tensors[0].empty()) {
      tensors[0][0] += 1e-3f;  // a lie, hashed and signed like the truth
      lied_ = true;
      say(fmt::format("LYING about step {} micro-batch {} (--lie)", step + 1, j));
    }
    const Hash256 hash = vol::gradientHash(tensors);
    const auto signature =
        vol::signContribution(*key_, o_.job, a.step, a.micro_batch, state_digest_, hash);
    std::vector<vol::TensorRef> refs;
    for (size_t k = 0; k < tensors.size(); ++k) {
      refs.push_back({"", k < shapes_.size() ? shapes_[k] : std::vector<uint64_t>{},
                      tensors[k].data(), tensors[k].size()});
    }
    const auto chunks = vol::splitTensors(refs, vol::floatsPerMessage(refs.size()));
    try {
      for (size_t c = 0; c < chunks.size(); ++c) {
        vol::Contribution msg;
        msg.step = a.step;
        msg.micro_batch = a.micro_batch;
        msg.chunk_index = static_cast<uint32_t>(c);
        msg.chunk_count = static_cast<uint32_t>(chunks.size());
        msg.gradient_hash = hash;
        msg.signature = signature;
        msg.tensors = chunks[c];
        session_->send(msg, ucx::deadlineIn(std::chrono::seconds(60)));
      }
    } catch (const Error& e) {
      connectionFailed(e);
    }
    ++units_;
  }

  const VolunteerOptions& o_;
  ucx::Context context_;
  ucx::Worker worker_;
  std::optional<vol::Session> session_;
  std::optional<verify::KeyPair> key_;
  jobs::JobSpec spec_;
  data::DataSplits data_;
  std::shared_ptr<models::LayerModel> model_;
  std::vector<torch::Tensor> params_;
  std::vector<std::vector<uint64_t>> shapes_;
  std::optional<data::MicroBatchPlan> plan_;
  std::optional<vol::TensorAssembler> assembler_;
  std::deque<vol::Assign> queue_;
  int64_t state_step_ = -1;
  Hash256 state_digest_;  // of the state of state_step_, signed into each contribution
  uint64_t node_ = 0;
  int64_t units_ = 0;
  bool lied_ = false;
};

}  // namespace

VolunteerResult runVolunteer(const VolunteerOptions& options) {
  Volunteer v(options);
  return v.run();
}

}  // namespace mlcp::runtime
