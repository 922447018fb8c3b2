#include "connect_args.hpp"

#include <chrono>
#include <utility>

#include "duration_option.hpp"

namespace paperboy::cli {
namespace {

void add_tls_file_option(CLI::App& command, const std::string& name, std::string& file,
                         const std::string& description) {
  command.add_option(name, file, description)
      ->type_name("FILE")
      ->check(CLI::ExistingFile)
      ->group("TLS");
}

}  // namespace

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
  add_duration_option(command, "--timeout", args.timeout,
                      "How long to wait for the connection and for each answer from the broker: "
                      "a number with a unit (500ms, 2s, 1m, 1h), or seconds",
                      std::chrono::milliseconds(1), "5s")
      ->group("Connection");
  command.add_flag("--tls", args.tls, "Connect with TLS (paperboyd's --tls-port)")->group("TLS");
  add_tls_file_option(command, "--ca", args.ca_file,
                      "PEM file of the CAs to trust for the broker's certificate (implies --tls; "
                      "default: the system's trusted CAs)");
  add_tls_file_option(command, "--cert", args.cert_file,
                      "PEM client certificate, for a broker that requires one (implies --tls; "
                      "needs --key)");
  add_tls_file_option(command, "--key", args.key_file, "PEM private key of --cert (implies --tls)");
}

void add_reconnect_option(CLI::App& command, ConnectArgs& args) {
  args.reconnect = true;
  command
      .add_flag("!--no-reconnect", args.reconnect,
                "Exit with an error when the connection is lost, instead of connecting again "
                "(with backoff, forever) and subscribing again")
      ->group("Connection");
}

client::Timeout timeout_of(const ConnectArgs& args) {
  return args.timeout;
}

client::Client connect(const ConnectArgs& args,
                       std::function<void(const client::Event&)> on_flow_control) {
  client::ConnectOptions options;
  options.on_flow_control = std::move(on_flow_control);
  options.client_name = args.name;
  options.token = args.token;
  options.connect_timeout = timeout_of(args);
  options.write_timeout = timeout_of(args);
  options.reconnect.enabled = args.reconnect;
  options.tls.enabled =
      args.tls || !args.ca_file.empty() || !args.cert_file.empty() || !args.key_file.empty();
  options.tls.ca_file = args.ca_file;
  options.tls.cert_file = args.cert_file;
  options.tls.key_file = args.key_file;
  client::Client client;
  client.connect(args.host, args.port, options);
  return client;
}

}  // namespace paperboy::cli
