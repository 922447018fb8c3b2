"""The encoder writes protocol/PROTOCOL.md's example frames byte for byte; channel matching
follows its wildcard table."""

from __future__ import annotations

import pytest

from paperboy import codec
from paperboy.channels import matches


def frame(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.replace("\n", " "))


def test_hello_version_2() -> None:
    assert codec.encode_hello(2, "billing-7", "") == frame(
        "00 00 00 11 00 50 42 02 00 09 62 69 6c 6c 69 6e 67 2d 37 00 00"
    )


def test_sub_manual_ack_prefetch_16() -> None:
    assert codec.encode_sub(2, codec.SUB_FLAG_MANUAL_ACK, 16, b"/queue/jobs") == frame(
        "00 00 00 15 02 00 00 00 02 01 00 10 00 0b 2f 71 75 65 75 65 2f 6a 6f 62 73"
    )


def test_unsub_ack_nack() -> None:
    assert codec.encode_unsub(3, b"/topic/news") == frame(
        "00 00 00 12 03 00 00 00 03 00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73"
    )
    assert codec.encode_u64_op(codec.OP_ACK, 7) == frame("00 00 00 09 06 00 00 00 00 00 00 00 07")
    assert codec.encode_u64_op(codec.OP_NACK, 8) == frame("00 00 00 09 07 00 00 00 00 00 00 00 08")


def test_pub_version_1() -> None:
    assert codec.encode_pub(1, 4, 0, 0, b"/topic/news", b"", b"", b"hello") == frame(
        "00 00 00 19 04 00 00 00 04 00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73 00 00 68 65 6c 6c 6f"
    )


def test_pub_version_2_with_flags_ttl_and_headers() -> None:
    headers = codec.encode_header_block({"content-type": "text/plain"})
    assert codec.encode_pub(
        2, 4, codec.PUB_FLAG_REQUIRE_SUBSCRIBER, 5000, b"/topic/news", b"", headers, b"hello"
    ) == frame(
        """00 00 00 39 04 00 00 00 04 01 00 00 13 88 00 0b 2f 74 6f 70 69 63 2f 6e 65 77 73 00 00
        00 19 0c 63 6f 6e 74 65 6e 74 2d 74 79 70 65 00 0a 74 65 78 74 2f 70 6c 61 69 6e
        68 65 6c 6c 6f"""
    )
    assert codec.decode_header_block(headers) == [("content-type", b"text/plain")]


@pytest.mark.parametrize("version", [1, 2])
def test_plain_pub_prefix_is_the_full_encoder_without_options(version: int) -> None:
    prefix = codec.pub_prefix(version, b"/queue/jobs")
    whole = codec.encode_pub(version, 0, 0, 0, b"/queue/jobs", b"", b"", b"payload")
    assert whole == codec.U32.pack(len(prefix) + 7) + prefix + b"payload"


@pytest.mark.parametrize("key", ["", "a b", "a:b", "caf\u00e9", "x" * 256])
def test_bad_header_keys_are_refused(key: str) -> None:
    with pytest.raises((codec.Error, UnicodeEncodeError)):
        codec.encode_header_block({key: "v"})


def test_names_over_255_bytes_are_refused() -> None:
    with pytest.raises(codec.Error) as refused:
        codec.name_bytes("/topic/" + "\u00e9" * 125, "channel name")  # 257 bytes, 132 characters
    assert refused.value.code == 3


@pytest.mark.parametrize(
    "subscription, channel, expected",
    [
        ("/topic/news/*", "/topic/news/sports", True),
        ("/topic/news/*", "/topic/news", False),
        ("/topic/news/*", "/topic/news/a/b", False),
        ("/topic/news/>", "/topic/news/sports", True),
        ("/topic/news/>", "/topic/news/a/b", True),
        ("/topic/news/>", "/topic/news", False),
        ("/topic/>", "/topic/anything/at/all", True),
        ("/topic/*/scores", "/topic/football/scores", True),
        ("/topic/*/scores", "/topic/scores", False),
        ("/topic/a*", "/topic/ab", False),
        ("/topic/a//b", "/topic/a//b", True),
        ("/topic/>", "/topic/_reply/abc/1", False),
        ("/topic/_reply/abc", "/topic/_reply/abc/1", True),
        ("/topic/_reply/abc", "/topic/_reply/abcd/1", False),
        ("/queue/jobs", "/queue/jobs", True),
        ("/queue/jobs", "/queue/jobs2", False),
    ],
)
def test_wildcard_table(subscription: str, channel: str, expected: bool) -> None:
    assert matches(subscription, channel) is expected
