#!/usr/bin/env bash
# The docker backend in CI: install docker.io and debootstrap, start dockerd without
# systemd with the flags DESIGN.md section 10 records, build the base image fresh,
# run the docker-marked tests and the happy_path, fallback and chaos suites on the
# docker backend, and stop dockerd (and every container of ours) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq docker.io debootstrap >/dev/null
fi
python -m pip install -q -e '.[test]'

dockerd_pid=""
cleanup() {
    # Our containers and networks first (labelled), then the daemon we started.
    if docker info >/dev/null 2>&1; then
        ids=$(docker ps -aq --filter label=io.ullc-harness=1)
        [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
        nets=$(docker network ls -q --filter label=io.ullc-harness=1)
        [ -n "$nets" ] && docker network rm $nets >/dev/null 2>&1 || true
    fi
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    echo "docker step: $((SECONDS - started)) s" >&2
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
    # overlay2 (vfs copies every layer); no iptables and no forwarding: without
    # --ip-forward=false, internal networks could reach each other.
    dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false \
        --ip-forward=false --bridge=none >/tmp/ullc-ci-dockerd.log 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null
fi

# Fresh every run: debootstrap base, dependencies layer, the project's layer.
ullc-harness image build --fresh
python -m pytest -m docker tests
python -m pytest --ullc-backend docker suites/happy_path suites/fallback suites/chaos
