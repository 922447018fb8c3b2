"""Throwaway TLS certificates made with the openssl command (as the C++ tests'
support/test_certificates does): a CA, a server certificate it signed for IP:127.0.0.1 and
DNS:localhost, client certificates it signs on demand, and a second CA nobody trusts with a
server certificate of its own."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

SERVER_NAMES = "subjectAltName=IP:127.0.0.1,DNS:localhost"


def _make(directory: Path, name: str, subject: str, ca: Optional[str], extensions: list[str]) -> None:
    args = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-keyout", str(directory / f"{name}.key"),
        "-out", str(directory / f"{name}.pem"), "-subj", subject,
    ]  # fmt: skip
    if ca is not None:
        extensions = [*extensions, "basicConstraints=critical,CA:FALSE"]
        args += ["-CA", str(directory / f"{ca}.pem"), "-CAkey", str(directory / f"{ca}.key")]
    for extension in extensions:
        args += ["-addext", extension]
    subprocess.run(args, check=True, capture_output=True, timeout=30)


class Certificates:
    """The files, in ``directory``: ``ca``, ``server_cert``/``server_key``, ``untrusted_*``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        _make(directory, "ca", "/CN=paperboy-test-ca", None, [])
        _make(directory, "server", "/CN=localhost", "ca", [SERVER_NAMES])
        _make(directory, "untrusted-ca", "/CN=paperboy-untrusted-ca", None, [])
        _make(directory, "untrusted-server", "/CN=localhost", "untrusted-ca", [SERVER_NAMES])
        self.ca = directory / "ca.pem"
        self.server_cert = directory / "server.pem"
        self.server_key = directory / "server.key"
        self.untrusted_server_cert = directory / "untrusted-server.pem"
        self.untrusted_server_key = directory / "untrusted-server.key"

    def client(self, name: str) -> "tuple[Path, Path]":
        """A client certificate with CN=``name`` signed by the CA: (certificate, key)."""
        _make(self.directory, f"client-{name}", f"/CN={name}", "ca", [])
        return self.directory / f"client-{name}.pem", self.directory / f"client-{name}.key"
