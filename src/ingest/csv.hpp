// RFC 4180 CSV reader, as a pure function over the file's bytes.
//
// Accepted: fields separated by ','; records ended by LF or CRLF (a lone CR
// is also taken as a line break); quoted fields ("...") that may contain
// commas, doubled quotes ("") and line breaks (LF, CR or CRLF, kept as
// written); a UTF-8 byte order mark at the start (dropped). Lenient where
// being strict would help no one: a '"' inside an unquoted field is a literal
// character, spaces/tabs before an opening quote or after a closing quote are
// ignored, and the last record may lack its line break. Completely empty
// lines between records are skipped.
//
// Errors (an unterminated quoted field, text after a closing quote) are
// reported with their line and do not stop the reader: it skips the rest of
// the offending physical line and goes on with the next one, so one bad
// record does not hide the good ones after it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reelbatch {

/// One CSV record (row).
struct CsvRecord {
  int line = 0;                     ///< 1-based physical line the record starts on
  std::vector<std::string> fields;  ///< unquoted field values, at least one
};

/// A syntax error; the record it occurred in is not returned.
struct CsvError {
  int line = 0;        ///< 1-based physical line the bad record starts on
  int error_line = 0;  ///< 1-based physical line of the problem (for an
                       ///< unterminated quote: where the quote opened)
  std::string reason;  ///< e.g. "unterminated quoted field", "text after closing quote"
};

/// The result of reading a whole CSV text.
struct CsvDocument {
  std::vector<CsvRecord> records;  ///< good records, in file order
  std::vector<CsvError> errors;    ///< syntax errors, in file order
};

/// Reads `text` (UTF-8, optionally with a BOM) as CSV. Never throws except
/// std::bad_alloc. Byte content of fields is not validated (no UTF-8 check).
/// Records and errors are each in file order; merge them by `line` to
/// recover the original interleaving.
CsvDocument parse_csv(std::string_view text);

}  // namespace reelbatch
