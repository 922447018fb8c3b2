#include "connect_args.hpp"

#include <chrono>
#include <map>
#include <string>

namespace paperboy::cli {

void add_connect_options(CLI::App& command, ConnectArgs& args) {
  command.add_option("--host", args.host, "Broker address or host name")
      ->type_name("HOST")
      ->capture_default_str()
      ->group("Connection");
  command.add_option("--port", args.port, "Broker TCP port")
      ->type_name("PORT")
      ->capture_default_str()
      ->group("Connection");
  command.add_option("--name", args.name, "Client name shown in the broker's logs")
      ->type_name("NAME")
      ->capture_default_str()
      ->group("Connection");
  command.add_option("--token", args.token, "Auth token, if the broker wants one")
      ->type_name("TOKEN")
      ->envname("PAPERBOY_TOKEN")
      ->group("Connection");
  // A plain number is seconds, as it always was; "2s", "500ms", "1m" name their unit.
  const std::map<std::string, double> units{{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
  command
      .add_option("--timeout", args.timeout_seconds,
                  "How long to wait for the connection and for each answer from the broker: "
                  "seconds, or a number with a unit (500ms, 2s, 1m, 1h)")
      ->type_name("DURATION")
      ->capture_default_str()
      ->transform(CLI::AsNumberWithUnit(units, CLI::AsNumberWithUnit::CASE_SENSITIVE, "UNIT")
                      .description(""))
      ->check(CLI::Range(0.001, 1e6).description(""))
      ->group("Connection");
}

client::Timeout timeout_of(const ConnectArgs& args) {
  return std::chrono::duration_cast<client::Timeout>(
      std::chrono::duration<double>(args.timeout_seconds));
}

client::Client connect(const ConnectArgs& args) {
  client::ConnectOptions options;
  options.client_name = args.name;
  options.token = args.token;
  options.connect_timeout = timeout_of(args);
  options.write_timeout = timeout_of(args);
  client::Client client;
  client.connect(args.host, args.port, options);
  return client;
}

}  // namespace paperboy::cli
