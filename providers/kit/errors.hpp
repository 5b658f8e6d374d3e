// Error classification shared by the adapters: a provider's error table is
// data in the provider's folder (code → ErrorClass plus the document's label
// and our explanation; HTTP status ranges → ErrorClass); the lookups and the
// message composition live here, with the "unusable answer" error every
// adapter reports the same way.
//
// Error contract: nothing here throws except std::bad_alloc.
#pragma once

#include "providers/kit/util.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace reelbatch::kit {

/// What a request was for: decides whether an unusable answer or a lost
/// answer leaves the task's existence unknown (a submit) or is retryable.
enum class Op { upload, submit, query };

// ---- error-code tables ------------------------------------------------------------

/// One row of a provider's documented business error codes.
struct CodeInfo {
  std::string_view code;  ///< the provider's code, e.g. "4003" or "INSUFFICIENT_CREDIT"
  ErrorClass cls;         ///< what the engine does about it
  std::string_view zh;    ///< the document's own label ("" when it has none)
  std::string_view en;    ///< our explanation, written into the message
};

/// The row of `table` whose code equals `code` exactly; nullptr when none
/// (an empty `code` finds nothing unless the table has an empty code).
const CodeInfo* find_code(std::span<const CodeInfo> table, std::string_view code);

/// How compose() writes an error when the provider sent no message.
enum class Bare {
  label_and_en,  ///< "<zh> (<en>)", even with an empty zh (juhuo's wording)
  en_when_no_label,  ///< "<zh> (<en>)", or "<en>" when zh is empty
};

/// The message of a classified error: "<message> (<zh>: <en>)"; without the
/// label when `zh` is empty or `message` already contains it ("<message>
/// (<en>)"); when `message` is blank, as `bare` says. `message` is trimmed.
std::string compose(std::string_view message, std::string_view zh, std::string_view en,
                    Bare bare = Bare::en_when_no_label);

/// `en` + "; retry after <n> ms" when `retry_after` is set; `en` otherwise.
std::string with_retry_after(std::string en, std::optional<std::chrono::milliseconds> retry_after);

// ---- HTTP-status tables --------------------------------------------------------------

/// One row of a status table: statuses first..last (inclusive) → cls, with
/// `en` appended to the caller's description of the answer.
struct StatusRule {
  int first, last;
  ErrorClass cls;
  std::string_view en;
};

/// The first row of `table` that holds `http_status`; nullptr when none.
const StatusRule* find_status(std::span<const StatusRule> table, int http_status);

/// The status table seedance2 (doc 错误码, HTTP 状态码) and vibegen (doc 6)
/// both document: 401/403 → auth ": the API key was rejected"; 402 →
/// out_of_credit ": payment required"; 408 and 5xx → retryable ": server or
/// gateway error; will retry"; anything else → permanent ": the request was
/// rejected".
std::span<const StatusRule> gateway_status_rules();

/// An error classified by `table` (find_status; a status no row holds is
/// permanent): class from the row, code `code`, message compose(message, "",
/// what + row.en), retry_after kept for retryable rows.
ProviderError classify_status(std::span<const StatusRule> table, int http_status, std::string code,
                              std::string_view message, std::string_view what, const std::string& profile,
                              std::optional<std::chrono::milliseconds> retry_after);

// ---- presigned uploads ----------------------------------------------------------------

/// One outcome's words in classify_upload(): the provider's label (`zh`, ""
/// for none) and our explanation (`en`).
struct UploadWords {
  std::string_view zh;
  std::string_view en;
};

/// A provider's wording of the answers to a PUT to a presigned URL.
struct UploadText {
  std::string_view where;     ///< follows "HTTP <status>", e.g. " from the upload URL"
  UploadWords expired;        ///< 403: the signature expired or was rejected
  UploadWords rate_limited;   ///< 429
  UploadWords storage_error;  ///< 408 and 5xx
  UploadWords rejected;       ///< any other non-2xx status
};

/// Classifies the answer to a PUT to a presigned URL (juhuo doc 4.2,
/// seedance2 文件上传): nullopt for 2xx; otherwise code "upload",
/// http_status kept, and 403 → retryable (presign again), 429 → rate_limited,
/// 408 and ≥ 500 → retryable, anything else → permanent; retry_after kept
/// except for permanent. Message: "<zh> (HTTP <status><where>: <en>)", or
/// "HTTP <status><where>: <en>" when zh is empty; then "; body: <excerpt>"
/// when `body` is not empty.
std::optional<ProviderError> classify_upload(int http_status, std::string_view body, const std::string& profile,
                                             std::optional<std::chrono::milliseconds> retry_after,
                                             const UploadText& text);

// ---- unusable answers -------------------------------------------------------------------

/// A provider's advice texts for bad_response() (e.g. "; will retry").
struct BadResponseText {
  std::string_view submit_advice;  ///< appended for a submit (the task may exist)
  std::string_view retry_advice;   ///< appended otherwise
};

/// kit::bad_response(http_status, what, profile, op == Op::submit,
/// text.submit_advice, text.retry_advice): code "bad_response";
/// unknown_outcome for a submit, retryable otherwise.
ProviderError bad_response(int http_status, std::string_view what, const std::string& profile, Op op,
                           const BadResponseText& text);

}  // namespace reelbatch::kit
