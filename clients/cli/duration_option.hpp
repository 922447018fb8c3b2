#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

namespace paperboy::cli {

/// Adds an option that takes a duration as parse_duration() reads it (`500ms`, `5s`, `1m`, or
/// seconds) into `target`; a value under `least` is a usage error. Its default is shown as
/// `default_text`.
CLI::Option* add_duration_option(CLI::App& command, const std::string& name,
                                 std::chrono::milliseconds& target, const std::string& description,
                                 std::chrono::milliseconds least, const std::string& default_text);

}  // namespace paperboy::cli
