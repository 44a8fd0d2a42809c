#!/usr/bin/env bash
# Build the Lotse image, with Docker where an engine runs, else with buildah (no daemon needed).
#
#   deploy/build-image.sh                    build (reuses cached layers), tag $LOTSE_IMAGE
#   deploy/build-image.sh podman ARGS...     podman with the same image store, e.g. `podman images`
#   deploy/build-image.sh run ARGS...        `podman run` with the flags this kind of machine needs
#
# Environment (all optional):
#   LOTSE_IMAGE          tag of the result                       (localhost/lotse:dev)
#   LOTSE_BUILDER        auto | docker | buildah                 (auto: docker if `docker info` answers)
#   LOTSE_BASE           auto | official | local                 (auto: official with docker; with buildah
#                        official if the registry answers, else a base made here with debootstrap)
#   LOTSE_STORE          buildah/podman image store              (/tmp/lotse-containers)
#   LOTSE_STORAGE_DRIVER overlay | vfs                           (overlay)
#   LOTSE_DEBIAN_MIRROR  mirror for debootstrap                  (http://deb.debian.org/debian)
#   TORCH_WHEEL_DIR      folder holding torch-2.13.0+cpu-cp311-*.whl; used instead of
#                        download.pytorch.org when set, or when /opt/wheels holds that wheel
# Extra arguments after `build` go to `docker build` / `buildah build` unchanged.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${LOTSE_IMAGE:-localhost/lotse:dev}
STORE=${LOTSE_STORE:-/tmp/lotse-containers}
DRIVER=${LOTSE_STORAGE_DRIVER:-overlay}
MIRROR=${LOTSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_BASE=localhost/debian-bookworm:lotse
PYTHON_BASE=localhost/python:3.11-slim-bookworm-local
STORE_ARGS=(--root "$STORE/root" --runroot "$STORE/run" --storage-driver "$DRIVER")
export BUILDAH_ISOLATION=chroot   # RUN steps without user namespaces, cgroups or a runtime

log() { printf 'build-image: %s\n' "$*" >&2; }

need() {  # need COMMAND DEBIAN-PACKAGE...: install Debian packages when a command is missing
    command -v "$1" >/dev/null 2>&1 && return 0
    shift
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing $*"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        log "missing: $* (apt-get install $*)"; exit 1
    fi
}

docker_works() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

podman_() { podman "${STORE_ARGS[@]}" "$@"; }

has_image() { podman_ image exists "$1" 2>/dev/null; }

run_flags() {  # flags that `podman run` needs here (printed one per line)
    # crun refuses hybrid cgroup setups (v1 controllers + /sys/fs/cgroup/unified): runc copes.
    if grep -qs ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts; then
        need runc runc
        echo --runtime; echo runc
    fi
    # Without CAP_SYS_RESOURCE, podman's default limits (nofile 1048576) cannot be set.
    local capbnd
    capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
    if [ -n "$capbnd" ] && (( (16#$capbnd >> 24 & 1) == 0 )); then
        local nofile
        nofile=$(ulimit -Hn)
        echo --ulimit; echo "nofile=$nofile:$nofile"
        echo --ulimit; echo "nproc=4096:4096"
    fi
}

registry_answers() {  # Docker Hub's registry API answers 401 (or 200) when it is reachable
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 https://registry-1.docker.io/v2/ 2>/dev/null) || true
    [ "$code" = 401 ] || [ "$code" = 200 ]
}

make_local_base() {  # a bookworm rootfs from Debian's mirror, then python3.11 from apt on top
    if ! has_image "$DEBIAN_BASE"; then
        need debootstrap debootstrap
        local tmp
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/lotse-rootfs.XXXXXX")
        log "debootstrap bookworm from $MIRROR (about 2 minutes)"
        if ! debootstrap --variant=minbase bookworm "$tmp/rootfs" "$MIRROR" >"$tmp/debootstrap.log" 2>&1; then
            tail -20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; exit 1
        fi
        rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
        tar -C "$tmp/rootfs" -c . | podman_ import --quiet - "$DEBIAN_BASE" >/dev/null
        rm -rf "$tmp"
    fi
    if ! has_image "$PYTHON_BASE"; then
        log "building $PYTHON_BASE (python3.11 from Debian)"
        buildah "${STORE_ARGS[@]}" build --isolation chroot --format docker --quiet \
            --build-arg DEBIAN_IMAGE="$DEBIAN_BASE" -t "$PYTHON_BASE" \
            -f "$ROOT/deploy/python-base.Containerfile" "$ROOT/deploy" >/dev/null
    fi
}

build_with_docker() {
    log "docker build -t $IMAGE"
    exec docker build -t "$IMAGE" "$@" "$ROOT"
}

build_with_buildah() {
    need buildah buildah
    need podman podman
    mkdir -p "$STORE"
    local base=${LOTSE_BASE:-auto} args=()
    if [ "$base" = auto ]; then
        if registry_answers; then base=official; else base=local; fi
    fi
    if [ "$base" = local ]; then
        make_local_base
        args+=(--build-arg "PYTHON_IMAGE=$PYTHON_BASE")
    fi
    # What pip inside the build needs from this machine, bind-mounted (read-only) at /mnt:
    # the host's CA bundle (TLS-inspecting proxies) and, if there is one, the CPU torch wheel.
    local support="$STORE/build-support"
    rm -rf "$support" && mkdir -p "$support/wheels"
    cp /etc/ssl/certs/ca-certificates.crt "$support/ca.crt" 2>/dev/null || true
    if [ -s "$support/ca.crt" ]; then
        printf '[global]\ncert = /mnt/ca.crt\n' >"$support/pip.conf"
        args+=(-v "$support/pip.conf:/etc/pip.conf:ro")
    fi
    local wheel_dir=${TORCH_WHEEL_DIR:-/opt/wheels} wheel
    wheel=$(find "$wheel_dir" -maxdepth 1 -name 'torch-2.13.0+cpu-cp311-*.whl' 2>/dev/null | head -1)
    if [ -n "$wheel" ]; then
        ln -f "$wheel" "$support/wheels/" 2>/dev/null || cp "$wheel" "$support/wheels/"
        args+=(--build-arg TORCH_INDEX_URL=https://pypi.org/simple --build-arg TORCH_FIND_LINKS=/mnt/wheels)
    fi
    args+=(-v "$support:/mnt:ro")
    log "buildah build -t $IMAGE (base: $base, store: $STORE)"
    # --format docker keeps HEALTHCHECK (the OCI image format has no field for it)
    buildah "${STORE_ARGS[@]}" build --isolation chroot --format docker --layers \
        "${args[@]}" -t "$IMAGE" "$@" -f "$ROOT/Dockerfile" "$ROOT"
}

cmd=${1:-build}
[ $# -gt 0 ] && shift
case "$cmd" in
    build)
        builder=${LOTSE_BUILDER:-auto}
        if [ "$builder" = auto ]; then
            if docker_works; then builder=docker; else builder=buildah; fi
        fi
        if [ "$builder" = docker ]; then build_with_docker "$@"; else build_with_buildah "$@"; fi
        ;;
    podman)
        need podman podman
        podman_ "$@"
        ;;
    run)
        need podman podman
        mapfile -t flags < <(run_flags)
        podman_ run "${flags[@]}" "$@"
        ;;
    run-flags)
        run_flags
        ;;
    *)
        echo "usage: $0 [build [BUILD-ARGS...] | podman ARGS... | run ARGS... | run-flags]" >&2
        exit 2
        ;;
esac
