#!/usr/bin/env bash
# Installs what bench/durable_vs_rabbitmq.py needs besides paperboy's own build
# (scripts/setup-debian.sh): RabbitMQ 3.10 from Debian, the broker the durable-queue figures are
# compared with, and rabbitmq-c (librabbitmq-dev), which paperboy-rabbit-bench is built on (CMake
# builds that tool only when the library is found). Idempotent. Run as root (or via sudo).
# Not part of the CI setup: the CI runs no RabbitMQ.
#
# The comparison script starts its own rabbitmq-server as the current user on free ports with its
# data in a temporary directory (RABBITMQ_MNESIA_BASE etc.), so it needs neither systemd nor the
# system service this package may start. By hand, without systemd:
#   rabbitmq-server -detached        # as root, the Debian default node
#   rabbitmqctl await_startup        # wait until it serves on 5672
#   rabbitmqctl stop
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-bench-durable rabbitmq-server librabbitmq-dev
