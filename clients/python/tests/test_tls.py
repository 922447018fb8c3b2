"""TLS: the client against paperboyd's --tls-port, with certificates made by the openssl command.
The server is verified by our CA and by name (an IP host against its IP SAN), refused when its
CA is not trusted or its certificate names another host; mTLS with a client certificate; and a
reconnect after the broker restarts redoes the TLS handshake."""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import subprocess
import time
from pathlib import Path

import paperboy
import pytest

from certificates import Certificates
from conftest import PAPERBOYD, START_TIMEOUT, Daemon, Events, deadline

FAST = {"reconnect_initial_delay": 0.05, "reconnect_max_delay": 0.3}
# The TLS handshake is part of connecting; a daemon under sanitizers on a loaded machine is slow.
connect = functools.partial(paperboy.connect, connect_timeout=20.0)


class TlsDaemon(Daemon):
    """paperboyd with a plain and a TLS listener; restarts on the same two ports."""

    def __init__(self, log_dir: Path, cert: Path, key: Path, *args: str) -> None:
        super().__init__(log_dir, ["--tls-cert", str(cert), "--tls-key", str(key), *args])
        self.tls_port = 0

    def start(self) -> "TlsDaemon":
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [PAPERBOYD, "--port", str(self.port), "--tls-port", str(self.tls_port),
                 "--bind", "127.0.0.1", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            lines = re.findall(rb"server\.listening[^\n]*", self.log_path.read_bytes())
            tls = [line for line in lines if b"tls=true" in line]
            plain = [line for line in lines if b"tls=true" not in line]
            if tls and plain:
                self.tls_port = int(re.search(rb"\bport=(\d+)", tls[0]).group(1))  # type: ignore[union-attr]
                self.port = int(re.search(rb"\bport=(\d+)", plain[0]).group(1))  # type: ignore[union-attr]
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"paperboyd did not start its TLS listener; its log:\n{self.log_tail()}")


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    directory = tmp_path / "certificates"
    directory.mkdir()
    return Certificates(directory)


@pytest.fixture
def tls_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    daemons: list[TlsDaemon] = []

    def make(cert: Path, key: Path, *args: str) -> TlsDaemon:
        daemon = TlsDaemon(tmp_path, cert, key, *args).start()
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.stop()


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def round_trip(pb: paperboy.Client, channel: str) -> None:
    sub = await pb.subscribe(channel)
    await pb.publish(channel, b"over tls", confirm=True)
    assert (await sub.next_msg(10)).payload == b"over tls"


@deadline(60)
async def test_round_trip_verified_by_ip_and_by_name(certificates: Certificates, tls_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tls_factory(certificates.server_cert, certificates.server_key)
    for host in ("127.0.0.1", "localhost"):
        async with await connect(host, daemon.tls_port, ssl=trusting(certificates.ca)) as pb:
            assert pb.is_connected
            await round_trip(pb, f"/topic/tls/{host}")


@deadline(60)
async def test_untrusted_ca_and_wrong_name_are_refused(certificates: Certificates, tls_factory) -> None:  # type: ignore[no-untyped-def]
    untrusted = tls_factory(certificates.untrusted_server_cert, certificates.untrusted_server_key)
    with pytest.raises(paperboy.ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        await connect("127.0.0.1", untrusted.tls_port, ssl=trusting(certificates.ca), reconnect=False)
    # ssl=True trusts only the system's CAs, which do not know ours either.
    with pytest.raises(paperboy.ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        await connect("127.0.0.1", untrusted.tls_port, ssl=True, reconnect=False)

    daemon = tls_factory(certificates.server_cert, certificates.server_key)
    with pytest.raises(paperboy.ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        await connect(
            "127.0.0.1",
            daemon.tls_port,
            ssl=trusting(certificates.ca),
            server_hostname="broker.example.com",
            reconnect=False,
        )
    # The name the certificate holds is accepted when given explicitly.
    async with await connect(
        "127.0.0.1", daemon.tls_port, ssl=trusting(certificates.ca), server_hostname="localhost"
    ) as pb:
        await round_trip(pb, "/topic/tls/by-name")


@deadline(60)
async def test_mutual_tls_needs_a_client_certificate(certificates: Certificates, tls_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tls_factory(certificates.server_cert, certificates.server_key, "--tls-ca", str(certificates.ca))
    context = trusting(certificates.ca)
    cert, key = certificates.client("billing-worker")
    context.load_cert_chain(str(cert), str(key))
    async with await connect("127.0.0.1", daemon.tls_port, ssl=context) as pb:
        await round_trip(pb, "/topic/mtls")
    with pytest.raises(paperboy.ConnectionLost):
        await connect("127.0.0.1", daemon.tls_port, ssl=trusting(certificates.ca), reconnect=False)


@deadline(90)
async def test_reconnect_after_restart_redoes_the_tls_handshake(certificates: Certificates, tls_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tls_factory(certificates.server_cert, certificates.server_key)
    events = Events()
    pb = await connect(
        "localhost", daemon.tls_port, ssl=trusting(certificates.ca), **FAST, **events.options()
    )
    async with pb:
        sub = await pb.subscribe("/topic/again")
        daemon.kill()
        await asyncio.wait_for(events.disconnected.wait(), 20)
        daemon.restart()
        await asyncio.wait_for(events.reconnected.wait(), 30)
        await pb.publish("/topic/again", b"after restart", confirm=True)
        assert (await sub.next_msg(20)).payload == b"after restart"
        assert events.reconnects == 1


async def test_server_hostname_needs_ssl() -> None:
    with pytest.raises(paperboy.Error, match="needs ssl"):
        await connect("127.0.0.1", 1, server_hostname="localhost")
