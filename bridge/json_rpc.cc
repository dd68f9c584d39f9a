#include "bridge/json_rpc.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <thread>

namespace mlcp::bridge {

namespace {

void globalInit() {
  // curl_global_init is not thread-safe; run it once before the first handle.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    throw ChainError(fmt::format("curl_global_init failed: {}", curl_easy_strerror(rc)));
}

size_t appendBody(char* ptr, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * nmemb);
  return size * nmemb;
}

// A response body for one line of a message: HTML tags dropped, runs of whitespace (newlines
// included) as one space, control and non-ASCII bytes as '?', at most `n` characters.
std::string shorten(const std::string& body, size_t n = 200) {
  std::string s;
  bool in_tag = false, space = false;
  for (char c : body) {
    if (c == '<') in_tag = true;
    if (in_tag) {
      if (c == '>') {
        in_tag = false;
        space = true;
      }
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      space = true;
      continue;
    }
    if (space && !s.empty()) s += ' ';
    space = false;
    s += u < 0x20 || u >= 0x7f ? '?' : c;
  }
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s.empty() ? std::string("(empty body)") : s;
}

// Answers worth retrying: the node is busy or restarting (429, 502, 503, 504).
bool transientHttp(long http) { return http == 429 || http == 502 || http == 503 || http == 504; }

}  // namespace

// RAII over the easy handle and the header list; the handle is reused across calls so that
// its connection stays open (keep-alive).
struct JsonRpcClient::Curl {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  ~Curl() {
    if (headers) curl_slist_free_all(headers);
    if (easy) curl_easy_cleanup(easy);
  }
};

JsonRpcClient::JsonRpcClient(std::string url, RpcOptions options)
    : url_(std::move(url)), options_(options), curl_(std::make_unique<Curl>()) {
  if (url_.rfind("http://", 0) != 0 && url_.rfind("https://", 0) != 0) {
    throw UsageError(fmt::format("RPC URL '{}' must start with http:// or https://", url_));
  }
  require(options_.max_attempts >= 1, "RpcOptions::max_attempts must be at least 1");
  globalInit();
  curl_->easy = curl_easy_init();
  if (!curl_->easy) throw ChainError("curl_easy_init failed");
  curl_->headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl_->easy, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl_->easy, CURLOPT_HTTPHEADER, curl_->headers);
  curl_easy_setopt(curl_->easy, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl_->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_->easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_s * 1000));
  curl_easy_setopt(curl_->easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout_s * 1000));
}

JsonRpcClient::~JsonRpcClient() = default;

nlohmann::json JsonRpcClient::call(const std::string& method, const nlohmann::json& params) {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json request = {
      {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
  const std::string body = request.dump();
  curl_easy_setopt(curl_->easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl_->easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));

  double backoff = options_.backoff_initial_s;
  std::string last_problem;
  auto t0 = std::chrono::steady_clock::now();
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    last_attempts_ = attempt;
    std::string response;
    curl_easy_setopt(curl_->easy, CURLOPT_WRITEDATA, &response);
    CURLcode rc = curl_easy_perform(curl_->easy);
    long http = 0;
    curl_easy_getinfo(curl_->easy, CURLINFO_RESPONSE_CODE, &http);
    if (rc != CURLE_OK) {
      last_problem = curl_easy_strerror(rc);
    } else {
      nlohmann::json reply = nlohmann::json::parse(response, nullptr, false);
      if (reply.is_object() && reply.contains("error") && !reply["error"].is_null()) {
        const nlohmann::json& err = reply["error"];
        // Any "error" is the node's refusal; a code that is missing or not an int reads as 0.
        int code = 0;
        if (err.is_object() && err.contains("code")) {
          const nlohmann::json& c = err["code"];
          constexpr int64_t kMin = std::numeric_limits<int>::min();
          constexpr int64_t kMax = std::numeric_limits<int>::max();
          if (c.is_number_unsigned()
                  ? c.get<uint64_t>() <= static_cast<uint64_t>(kMax)
                  : c.is_number_integer() && c.get<int64_t>() >= kMin && c.get<int64_t>() <= kMax) {
            code = c.get<int>();
          }
        }
        std::string msg = err.contains("message") && err["message"].is_string()
                              ? err["message"].get<std::string>()
                              : err.dump();
        nlohmann::json data = err.contains("data") ? err["data"] : nlohmann::json();
        throw JsonRpcError(
            fmt::format("the chain node at {} refused {}: {} (code {})", url_, method, msg, code),
            code, msg, data);
      }
      if (reply.is_object() && reply.contains("result")) return reply["result"];
      if (transientHttp(http)) {
        last_problem = fmt::format("HTTP {} {}", http, shorten(response, 120));
      } else {
        // A reply that is not JSON-RPC will not improve on retry.
        throw ChainError(fmt::format("the server at {} answered {} with HTTP {}, not JSON-RPC: {}",
                                     url_, method, http, shorten(response)));
      }
    }
    if (attempt < options_.max_attempts) {
      std::this_thread::sleep_for(
          std::chrono::duration<double>(backoff));  // backoff between retries
      backoff = std::min(backoff * 2, options_.backoff_max_s);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  throw RpcUnreachable(
      fmt::format("cannot reach the chain node at {}: {} ({} attempts over {:.1f} s)", url_,
                  last_problem, options_.max_attempts, secs));
}

}  // namespace mlcp::bridge
