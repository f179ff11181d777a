#!/usr/bin/env bash
# Prepares a Debian 12 host (as root) for refit and its tests: installs from Debian what is
# missing, adds the Compose v2 CLI plugin from Debian trixie's docker-compose package, and
# starts dockerd when it is not running. Idempotent: a second run changes nothing.
set -euo pipefail

log() { printf 'host-setup: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }

packages=(docker.io docker-compose haproxy nginx-light docker-registry siege wrk git openssl
  apache2-utils busybox-static iproute2 ca-certificates curl systemd php8.2-fpm)
missing=()
# Caddy: the operator's proxy in the tests of refit's caddy guest mode.
packages+=(caddy)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d keeps Debian's maintainer scripts from starting nginx/haproxy/registry/caddy services:
  # refit and its tests run their own instances on their own ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Compose v2: the CLI plugin binary from Debian trixie's docker-compose package (Debian 12
# only has Compose v1). Fetched with a private apt configuration; the host's sources stay as
# they are.
plugin=/usr/libexec/docker/cli-plugins/docker-compose
if [ ! -x "$plugin" ]; then
  log "installing the Compose v2 CLI plugin from Debian trixie"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  cat > "$work/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_opts=(-o "Dir::Etc::SourceList=$work/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work" && apt-get "${apt_opts[@]}" download docker-compose >/dev/null)
  dpkg -x "$work"/docker-compose_*.deb "$work/x"
  install -D -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
fi

# dockerd: started in the background when not answering (no systemd on CI machines).
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose v2 /'), $(docker-compose version --short 2>/dev/null | sed 's/^/compose v1 /')"
