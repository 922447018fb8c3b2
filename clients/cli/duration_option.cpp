#include "duration_option.hpp"

#include "option_values.hpp"

namespace paperboy::cli {

CLI::Option* add_duration_option(CLI::App& command, const std::string& name,
                                 std::chrono::milliseconds& target, const std::string& description,
                                 std::chrono::milliseconds least, const std::string& default_text) {
  return command
      .add_option_function<std::string>(
          name,
          [&target, name, least](const std::string& text) {
            const auto duration = parse_duration(text);
            if (!duration || *duration < least) {
              throw CLI::ValidationError(
                  name, "'" + text + "' is not a duration of at least " +
                            std::to_string(least.count()) +
                            " ms: a number with a unit (500ms, 2s, 1m, 1h), or seconds");
            }
            target = *duration;
          },
          description)
      ->type_name("DURATION")
      ->default_str(default_text);
}

}  // namespace paperboy::cli
