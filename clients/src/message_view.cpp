#include "message_fill.hpp"
#include "paperboy/protocol/headers.hpp"

namespace paperboy::client {

namespace {

void append_headers(Headers& headers, std::string_view block) {
  for (const auto& header : protocol::HeaderBlock(block)) {
    headers.push_back({std::string(header.key), std::string(header.value)});
  }
}

}  // namespace

void fill_message(Message& message, const MessageView& view) {
  message.channel = view.channel;
  message.reply_to = view.reply_to;
  message.payload = view.payload;
  message.delivery = view.delivery;
  message.redelivered = view.redelivered;
  message.published_at = view.published_at;
  message.connection = view.connection;
  append_headers(message.headers, view.header_block);
}

Headers MessageView::headers() const {
  Headers headers;
  append_headers(headers, header_block);
  return headers;
}

Message MessageView::to_message() const {
  Message message;
  fill_message(message, *this);
  return message;
}

}  // namespace paperboy::client
