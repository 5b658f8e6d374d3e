#include "src/ingest/csv.hpp"

#include <cstddef>

namespace reelbatch {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") s_.remove_prefix(3);
  }

  CsvDocument run() {
    while (pos_ < s_.size()) {
      // Completely empty lines between records are skipped.
      if (at_line_break()) {
        consume_line_break();
        continue;
      }
      read_record();
    }
    return std::move(doc_);
  }

 private:
  bool at_line_break() const { return pos_ < s_.size() && (s_[pos_] == '\n' || s_[pos_] == '\r'); }

  // Consumes LF, CRLF or a lone CR; counts one line.
  void consume_line_break() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  // After an error: skip to the start of the next physical line.
  void skip_rest_of_line() {
    while (pos_ < s_.size() && !at_line_break()) ++pos_;
    if (pos_ < s_.size()) consume_line_break();
  }

  void skip_blanks() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  void read_record() {
    CsvRecord rec;
    rec.line = line_;
    for (;;) {
      std::string field;
      // Spaces before an opening quote are insignificant; elsewhere they are data.
      std::size_t start = pos_;
      skip_blanks();
      if (pos_ < s_.size() && s_[pos_] == '"') {
        const int open_line = line_;
        const std::size_t open_pos = pos_;
        ++pos_;
        bool closed = false;
        while (pos_ < s_.size()) {
          const char c = s_[pos_];
          if (c == '"') {
            if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\n' || c == '\r') {
            // Line breaks inside quotes are data, kept as written.
            if (c == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
              field += "\r\n";
              pos_ += 2;
            } else {
              field += c;
              ++pos_;
            }
            ++line_;
            continue;
          }
          field += c;
          ++pos_;
        }
        if (!closed) {
          doc_.errors.push_back(CsvError{rec.line, open_line, "unterminated quoted field (opening quote on line " +
                                                                  std::to_string(open_line) + ")"});
          // Resume on the line after the opening quote.
          pos_ = open_pos;
          line_ = open_line;
          skip_rest_of_line();
          return;
        }
        skip_blanks();
        if (pos_ < s_.size() && s_[pos_] != ',' && !at_line_break()) {
          doc_.errors.push_back(CsvError{rec.line, line_, "text after closing quote"});
          skip_rest_of_line();
          return;
        }
      } else {
        pos_ = start;
        while (pos_ < s_.size() && s_[pos_] != ',' && !at_line_break()) field += s_[pos_++];
      }
      rec.fields.push_back(std::move(field));
      if (pos_ >= s_.size()) break;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      consume_line_break();
      break;
    }
    doc_.records.push_back(std::move(rec));
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int line_ = 1;
  CsvDocument doc_;
};

}  // namespace

CsvDocument parse_csv(std::string_view text) { return Reader(text).run(); }

}  // namespace reelbatch
