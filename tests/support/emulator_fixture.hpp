// The opening every emulator test file shares: the emulator, the test client
// (emulator_client.hpp), the Asio/JSON/filesystem headers the tests use, and
// the short names asio, json, fs and the chrono literals in
// reelbatch::emulator. Test-only: include it from tests, never from src.
#pragma once

#include "providers/emulator/emulator.hpp"
#include "src/core/sha256.hpp"
#include "src/net/http_client.hpp"
#include "tests/support/emulator_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace reelbatch::emulator {
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
}  // namespace reelbatch::emulator
