#pragma once

#include "paperboy/client/event.hpp"

namespace paperboy::client {

/// Copies a delivery seen in place into a fresh `message` where it will stay (a stream's queue,
/// a request's answer): each string is copied once and the Message is never moved.
void fill_message(Message& message, const MessageView& view);

}  // namespace paperboy::client
