// Normalization of the manifest's single-valued fields (DESIGN.md, "Manifest
// rows"; the rules are listed in manifest.hpp): id, provider, model, prompt,
// duration, resolution, aspect_ratio, audio, seed, priority, output.
//
// Every function here takes the field's value as JSON: a CSV cell arrives as
// a JSON string holding the cell as written, a JSONL value as it is. The value
// must not be null (the caller treats null as "unset"). Each returns the
// normalized value; nullopt when the field is unset (an empty or blank
// string) or bad. For a bad value it appends one FieldError naming the field
// to `errors`, with the reason as shown to the user; it never throws (except
// std::bad_alloc).
#pragma once

#include "src/core/job_spec.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reelbatch {

/// A text field: a JSON string, trimmed. Unset when blank. Errors (naming
/// `field`): not a string ("expected a string, got a number"), not valid UTF-8.
std::optional<std::string> read_text(const std::string& field, const boost::json::value& v,
                                     std::vector<FieldError>& errors);

/// read_text() that also rejects control characters ("contains a control
/// character (U+0009)"). For provider and model.
std::optional<std::string> read_plain_text(const std::string& field, const boost::json::value& v,
                                           std::vector<FieldError>& errors);

/// The explicit `id`: a string (or a JSON integer, taken as its digits),
/// trimmed, at most 128 code points, no control characters.
std::optional<std::string> normalize_id(const boost::json::value& v, std::vector<FieldError>& errors);

/// The `prompt`: trimmed text with line breaks normalized to "\n"; tabs and
/// line breaks allowed, other control characters rejected. A blank prompt is
/// unset here; RowBuilder::finish reports it as required.
std::optional<std::string> normalize_prompt(const boost::json::value& v, std::vector<FieldError>& errors);

/// The `duration`, in whole seconds, 1..86400: a JSON integer, an integral
/// JSON double, or a string of digits with an optional 's'/'S' suffix ("8",
/// "8s"). Errors: not a positive whole number, above 86400, or not a number
/// or string.
std::optional<int> normalize_duration(const boost::json::value& v, std::vector<FieldError>& errors);

/// The `resolution`, as written ("720p"); a JSON integer 720 becomes "720".
/// Other values as read_plain_text.
std::optional<std::string> normalize_resolution(const boost::json::value& v, std::vector<FieldError>& errors);

/// The `aspect_ratio`: "W:H" with positive integers, kept as written, or a
/// word (letters, digits, '_', '-', starting with a letter) lowercased
/// ("adaptive"). Anything else is an error.
std::optional<std::string> normalize_aspect_ratio(const boost::json::value& v, std::vector<FieldError>& errors);

/// `audio`: a JSON bool, the JSON integers 0/1, or the strings
/// true/false, yes/no, 1/0, on/off in any case (a blank string is unset).
std::optional<bool> normalize_audio(const boost::json::value& v, std::vector<FieldError>& errors);

/// `seed`: a signed 64-bit integer, as a JSON integer or a decimal string
/// (optional leading '+'). Errors name the accepted range.
std::optional<std::int64_t> normalize_seed(const boost::json::value& v, std::vector<FieldError>& errors);

/// `priority`: an `int`, as a JSON integer or a decimal string. Errors name
/// the accepted range.
std::optional<int> normalize_priority(const boost::json::value& v, std::vector<FieldError>& errors);

/// `output`, the output file stem: trimmed text without '/', '\\', "..", a
/// lone ".", or control characters, at most 200 bytes, and nothing
/// output_stem_problem() refuses (a leading '.', a trailing '.' or space, a
/// reserved device name such as "CON").
std::optional<std::string> normalize_output(const boost::json::value& v, std::vector<FieldError>& errors);

}  // namespace reelbatch
