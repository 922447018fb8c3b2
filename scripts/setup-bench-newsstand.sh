#!/usr/bin/env bash
# Installs what bench/newsstand/ needs besides paperboy's own build (scripts/setup-debian.sh):
# the prototype's path (Celery 5 on RabbitMQ with a Redis result backend) and matplotlib for the
# chart, with apt-get. Idempotent. Run as root (or via sudo). The bench starts its own
# rabbitmq-server and redis-server on free ports as the current user; it does not use the system
# services these packages may start.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-bench-newsstand \
  rabbitmq-server redis-server python3-celery python3-redis python3-matplotlib
