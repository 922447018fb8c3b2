"""paperboyd --http with --users: POST /queues/purge is an admin request (HTTP Basic NAME:TOKEN of
a user with admin = true); GET /healthz, /metrics and /stats stay open to whoever reaches the
listener. The CLI's `paperboy queue purge --name --token` sends the credentials."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import paperboy

from conftest import support
from test_http_listener import DaemonFactory, deadline, http_port, request

ALL = '["/queue/>", "/topic/>"]'


def token_hash(token: str) -> str:
    made = subprocess.run(
        [support.PAPERBOY_CLI, "passwd"], input=token + "\n", capture_output=True, text=True,
        timeout=60, check=True,
    )
    return made.stdout.splitlines()[0]


def users_file(path: Path) -> Path:
    users = path / "users.toml"
    users.write_text(
        f'[[user]]\nname = "ops"\ntoken_hash = "{token_hash("ops-token")}"\n'
        f"publish = {ALL}\nsubscribe = {ALL}\nadmin = true\n"
        f'[[user]]\nname = "worker"\ntoken_hash = "{token_hash("worker-token")}"\n'
        f"publish = {ALL}\nsubscribe = {ALL}\n"
    )
    return users


def basic(name: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()}


def purge_cli(web: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [support.PAPERBOY_CLI, "queue", "purge", "/queue/jobs", "--yes",
         "--http", f"127.0.0.1:{web}", *args],
        capture_output=True, text=True, timeout=30,
    )


@deadline(120)
async def test_only_an_admin_user_may_purge(daemon_factory: DaemonFactory, tmp_path: Path) -> None:
    daemon = daemon_factory("--http", "127.0.0.1:0", "--users", str(users_file(tmp_path)),
                            "--auth-failures", "100")
    web = http_port(daemon)
    purge = "/queues/purge?channel=/queue/jobs"

    async with await paperboy.connect("127.0.0.1", daemon.port, name="worker",
                                      token="worker-token") as publisher:
        for i in range(5):
            await publisher.publish("/queue/jobs", b"%d" % i, confirm=True)
        await publisher.flush()

        assert (await request(web, "GET", "/healthz")).status == 200
        assert (await request(web, "GET", "/metrics")).status == 200
        assert (await request(web, "GET", "/stats")).status == 200

        nobody = await request(web, "POST", purge)
        assert nobody.status == 401 and "error" in nobody.json()
        assert nobody.authenticate == 'Basic realm="paperboy"'
        wrong = await request(web, "POST", purge, basic("ops", "not-the-token"))
        assert wrong.status == 401
        stranger = await request(web, "POST", purge, basic("mallory", "x"))
        assert stranger.status == 401
        garbled = await request(web, "POST", purge, {"Authorization": "Basic %%%"})
        assert garbled.status == 400
        not_admin = await request(web, "POST", purge, basic("worker", "worker-token"))
        assert not_admin.status == 403 and not_admin.json() == {"error": "user is not an admin"}

        depth = {c["name"]: c["backlog_messages"]
                 for c in (await request(web, "GET", "/stats")).json()["channels"]}
        assert depth["/queue/jobs"] == 5  # nothing refused purged anything

        admin = await request(web, "POST", purge, basic("ops", "ops-token"))
        assert admin.status == 200 and admin.json() == {"channel": "/queue/jobs", "purged": 5}

        # The CLI: refused without credentials or as a non-admin, obeyed as an admin.
        await publisher.publish("/queue/jobs", b"again", confirm=True)
        await publisher.flush()
        refused = purge_cli(web)
        assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr
        refused = purge_cli(web, "--name", "worker", "--token", "worker-token")
        assert refused.returncode != 0 and "not an admin" in refused.stderr, refused.stderr
        done = purge_cli(web, "--name", "ops", "--token", "ops-token")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "purged 1 message from /queue/jobs\n"

    log = daemon.log_path.read_text()
    assert "auth.admin_refused" in log
    assert daemon.process is not None and daemon.process.poll() is None
