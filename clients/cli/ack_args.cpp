#include "ack_args.hpp"

namespace paperboy::cli {

void add_ack_options(CLI::App& command, AckArgs& args) {
  command
      .add_option("--ack", args.ack,
                  "auto, or manual: ack each /queue message once handled (unacked ones go to "
                  "another consumer if we stop)")
      ->type_name("MODE")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "manual"}).description(""))
      ->group("Acknowledgement");
  auto* prefetch =
      command
          .add_option("--prefetch", args.prefetch,
                      "With --ack manual: most unacked messages held at once (0: the broker's "
                      "default)")
          ->type_name("N")
          ->capture_default_str()
          ->group("Acknowledgement");
  // Prefetch is credit for unacked deliveries; auto-ack has none, so the value would be ignored.
  command.parse_complete_callback([&args, prefetch] {
    if (*prefetch && args.ack != "manual") {
      throw CLI::ValidationError("--prefetch", "only means something with --ack manual");
    }
  });
}

client::SubscribeOptions subscribe_options(const AckArgs& args) {
  client::SubscribeOptions options;
  options.manual_ack = args.ack == "manual";
  options.prefetch = args.prefetch;
  return options;
}

}  // namespace paperboy::cli
