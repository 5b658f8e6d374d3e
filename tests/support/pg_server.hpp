// A throwaway PostgreSQL server for tests (issue 13): initdb + pg_ctl from
// Debian's postgresql package (/usr/lib/postgresql/<major>/bin) into a
// temporary folder, listening on a free 127.0.0.1 port with its socket in
// that folder; no system service, nothing outside the folder. Password
// login (scram-sha-256) over TCP, so the tests take the same path as a
// daemon with [storage] password_env. Run as root, the server runs as the
// `postgres` user (initdb refuses root), else as the current user.
//
// One server per test binary: a gtest Environment registered by
// pg_server.cpp starts it (PgServer::shared()) before the first test, skips
// every test where PostgreSQL is not installed, and stops the server and
// removes the folder after the last. Each test takes a fresh database from
// it (create_database()). Register such a binary with add_test (one ctest
// test), not gtest_discover_tests (a server per case).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace reelbatch::testing_support {

class PgServer {
 public:
  /// The folder holding initdb and pg_ctl: $REELBATCH_TEST_PG_BIN when set,
  /// else the newest /usr/lib/postgresql/<major>/bin; nullopt when PostgreSQL
  /// is not installed there (tests skip with why_unavailable()).
  static std::optional<std::filesystem::path> find_bin_dir();

  /// Starts a server (initdb into a new temp folder, pg_ctl start -w). Throws
  /// std::runtime_error naming the command and the server log's tail when a
  /// step fails.
  PgServer();
  /// Stops the server (pg_ctl stop -m immediate) and removes the folder.
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  /// The binary-wide server, started on first call; nullptr (and
  /// why_unavailable() set) when PostgreSQL is missing or did not start.
  static PgServer* shared();
  /// Why shared() returned nullptr.
  static const std::string& why_unavailable();
  /// Stops the binary-wide server (registered as a gtest Environment's
  /// TearDown by pg_server.cpp).
  static void stop_shared();

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  /// "postgresql://<user>@127.0.0.1:<port>/<db>": no password.
  std::string url(const std::string& db) const;

  /// Creates an empty database (CREATE DATABASE ... TEMPLATE template0)
  /// named "t<n>" and returns its name. Throws on failure.
  std::string create_database();

 private:
  std::filesystem::path bin_, dir_;
  std::string run_as_;  ///< "" = this user; else the account the server runs as
  std::string user_ = "reelbatch";
  std::string password_;
  int port_ = 0;
  int databases_ = 0;
  bool started_ = false;
};

}  // namespace reelbatch::testing_support
