"""PB1 frames as bytes: encoders for what the client sends, decoders for what it receives.

The layouts are protocol/PROTOCOL.md's; protocol/src/messages.cpp is the reference codec. Packers
are precompiled ``struct.Struct`` objects because the publish and receive paths run once per
message.
"""

from __future__ import annotations

import struct
from typing import Iterable, Mapping, Union

from .errors import BAD_CHANNEL, Error

OP_HELLO = 0x00
OP_WELCOME = 0x01
OP_SUB = 0x02
OP_UNSUB = 0x03
OP_PUB = 0x04
OP_MSG = 0x05
OP_ACK = 0x06
OP_NACK = 0x07
OP_OK = 0x08
OP_ERR = 0x09
OP_PING = 0x0A
OP_PONG = 0x0B
OP_GAP = 0x0C
OP_BLOCKED = 0x0D
OP_UNBLOCKED = 0x0E

SUB_FLAG_MANUAL_ACK = 0x01
PUB_FLAG_REQUIRE_SUBSCRIBER = 0x01
MSG_FLAG_REDELIVERED = 0x01

MAX_NAME_BYTES = 255
# A frame may carry max_payload plus this much header (channel, reply-to, headers' framing).
FRAME_ALLOWANCE = 1024

U16 = struct.Struct(">H")
U32 = struct.Struct(">I")
U64 = struct.Struct(">Q")
OP_U32 = struct.Struct(">IBI")  # length, op, u32 (OK, UNSUB's req)
OP_U64 = struct.Struct(">IBQ")  # length, op, u64 (ACK, NACK, PING, PONG)
SUB_HEAD = struct.Struct(">IBIBHH")  # length, op, req, flags, prefetch, channel length
UNSUB_HEAD = struct.Struct(">IBIH")  # length, op, req, channel length
PUB1_HEAD = struct.Struct(">BIH")  # op, req, channel length
PUB2_HEAD = struct.Struct(">BIBIH")  # op, req, flags, ttl_ms, channel length
MSG1_HEAD = struct.Struct(">QBH")  # delivery, flags, channel length (after the op byte)
MSG2_HEAD = struct.Struct(">QBQH")  # delivery, flags, published_at, channel length
ERR_HEAD = struct.Struct(">IH")  # req, code
GAP_HEAD = struct.Struct(">QH")  # dropped, channel length
WELCOME_HEAD = struct.Struct(">BIH")  # version, max_payload, server_id length

HeaderValue = Union[str, bytes]
Headers = Union[Mapping[str, HeaderValue], Iterable["tuple[str, HeaderValue]"]]


def name_bytes(name: str, what: str) -> bytes:
    """``name`` as UTF-8, refused at once when no broker could accept it."""
    raw = name.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:
        raise Error(f"{what} of {len(raw)} bytes is longer than 255 bytes", BAD_CHANNEL)
    return raw


def str16(raw: bytes) -> bytes:
    return U16.pack(len(raw)) + raw


def encode_hello(version: int, name: str, token: str) -> bytes:
    body = bytes((OP_HELLO,)) + b"PB" + bytes((version,))
    body += str16(name.encode("utf-8")) + str16(token.encode("utf-8"))
    return U32.pack(len(body)) + body


def encode_sub(req: int, flags: int, prefetch: int, channel: bytes) -> bytes:
    return SUB_HEAD.pack(10 + len(channel), OP_SUB, req, flags, prefetch, len(channel)) + channel


def encode_unsub(req: int, channel: bytes) -> bytes:
    return UNSUB_HEAD.pack(7 + len(channel), OP_UNSUB, req, len(channel)) + channel


def encode_u64_op(op: int, value: int) -> bytes:
    return OP_U64.pack(9, op, value)


def encode_header_block(headers: Headers) -> bytes:
    """The v2 header block: ``u8 klen | key | u16 vlen | value`` per entry, in order."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    block = bytearray()
    for key, value in items:
        raw_key = key.encode("ascii")
        if not 1 <= len(raw_key) <= 255 or any(b <= 0x20 or b >= 0x7F or b == 0x3A for b in raw_key):
            raise Error(f"header key {key!r} is not 1-255 printable ASCII bytes without ':'")
        raw_value = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        if len(raw_value) > 0xFFFF:
            raise Error(f"header {key!r} has a value over 65535 bytes")
        block += bytes((len(raw_key),)) + raw_key + U16.pack(len(raw_value)) + raw_value
    if len(block) > 0xFFFF:
        raise Error(f"the header block of {len(block)} bytes is over 65535 bytes")
    return bytes(block)


def decode_header_block(block: bytes) -> list[tuple[str, bytes]]:
    """The entries of a header block, in order; the broker has checked it is well formed."""
    entries = []
    at, end = 0, len(block)
    while at < end:
        klen = block[at]
        key = block[at + 1 : at + 1 + klen].decode("ascii")
        at += 1 + klen
        (vlen,) = U16.unpack_from(block, at)
        at += 2
        entries.append((key, block[at : at + vlen]))
        at += vlen
    return entries


def pub_prefix(version: int, channel: bytes) -> bytes:
    """The body of a plain PUB (req 0, no flags, TTL, reply-to or headers) up to its payload."""
    if version >= 2:
        return PUB2_HEAD.pack(OP_PUB, 0, 0, 0, len(channel)) + channel + b"\0\0\0\0"
    return PUB1_HEAD.pack(OP_PUB, 0, len(channel)) + channel + b"\0\0"


def encode_pub(
    version: int,
    req: int,
    flags: int,
    ttl_ms: int,
    channel: bytes,
    reply_to: bytes,
    header_block: bytes,
    payload: bytes,
) -> bytes:
    """A whole PUB frame; the caller has refused headers, TTL and flags on version 1."""
    if version >= 2:
        head = PUB2_HEAD.pack(OP_PUB, req, flags, ttl_ms, len(channel)) + channel
        head += str16(reply_to) + str16(header_block)
    else:
        head = PUB1_HEAD.pack(OP_PUB, req, len(channel)) + channel + str16(reply_to)
    return U32.pack(len(head) + len(payload)) + head + payload
