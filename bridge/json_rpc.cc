#include "bridge/json_rpc.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
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

std::string shorten(std::string s, size_t n = 300) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

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
        int code = err.value("code", 0);
        std::string msg = err.contains("message") && err["message"].is_string()
                              ? err["message"].get<std::string>()
                              : err.dump();
        nlohmann::json data = err.contains("data") ? err["data"] : nlohmann::json();
        throw JsonRpcError(
            fmt::format("the chain node at {} refused {}: {} (code {})", url_, method, msg, code),
            code, msg, data);
      }
      if (reply.is_object() && reply.contains("result")) return reply["result"];
      if (http == 429 || http >= 500) {
        last_problem = fmt::format("HTTP {} {}", http, shorten(response, 120));
      } else {
        // A reply that is not JSON-RPC will not improve on retry.
        throw ChainError(
            fmt::format("the server at {} did not answer {} with JSON-RPC (HTTP {}): {}", url_,
                        method, http, shorten(response)));
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
