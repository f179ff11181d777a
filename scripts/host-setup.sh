#!/usr/bin/env bash
# Prepares a Debian 12 host (as root) for refit and its tests: installs from Debian what is
# missing, adds the Compose v2 CLI plugin from Debian trixie's docker-compose package (from the
# Debian mirror the host's apt sources already name; no mirror is written here), and starts
# dockerd when it is not running. Idempotent: a second run changes nothing.
set -euo pipefail

log() { printf 'host-setup: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }

packages=(docker.io docker-compose haproxy nginx-light docker-registry siege wrk git openssl
  apache2-utils busybox-static iproute2 ca-certificates curl systemd php8.2-fpm postgresql)
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

# The Debian mirror this host already uses for its own release, from its apt sources (deb822
# `*.sources` files first, then one-line `sources.list` entries): "URI [SIGNED-BY]" of the first
# enabled `deb` source with the suite CODENAME and component main, or nothing. APT_DIR is only
# for trying this function on other source trees.
debian_mirror() {
  local codename=$1 dir=${APT_DIR:-/etc/apt} found='' f
  for f in "$dir"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    found=$(awk -v want="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && (" " comps " ") ~ / main / && enabled != "no" && uri != "") { print uri, signed; done = 1; exit }
        types = suites = comps = uri = signed = enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]/ { next }
      {
        key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[[:space:]]+/, ""); val = $0
        if (key == "types") types = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "enabled") enabled = tolower(val)
        else if (key == "signed-by" && val ~ /^\//) signed = val
        else if (key == "uris") { n = split(val, us, " "); for (i = 1; i <= n; i++) if (us[i] ~ /^https?:\/\//) { uri = us[i]; break } }
      }
      END { if (!done) flush() }' "$f")
    [ -n "$found" ] && { echo "$found"; return; }
  done
  for f in "$dir"/sources.list "$dir"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    found=$(awk -v want="$codename" '
      $1 == "deb" {
        i = 2; opts = ""
        if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
        uri = $i; main = 0
        for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
        if ($(i + 1) == want && main && uri ~ /^https?:\/\//) {
          signed = ""
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
          print uri, signed; exit
        }
      }' "$f")
    [ -n "$found" ] && { echo "$found"; return; }
  done
}

# Compose v2: the CLI plugin binary from Debian trixie's docker-compose package (Debian 12
# only has Compose v1), fetched from the mirror this host already uses, with a private apt
# configuration: the host's own sources stay as they are.
plugin=/usr/libexec/docker/cli-plugins/docker-compose
if [ ! -x "$plugin" ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  read -r mirror signed_by < <(debian_mirror "$codename"; echo) || true
  if [ -z "${mirror:-}" ]; then
    log "no enabled Debian source for '${codename:-unknown}' (component main) in ${APT_DIR:-/etc/apt}/sources.list or sources.list.d/*.sources|*.list:"
    log "  the Compose v2 CLI plugin is NOT installed. refit works with Compose v1 alone; its Compose v2 host tests need the plugin."
    log "  add a Debian source for '${codename:-unknown}' and run this script again, or install the plugin at $plugin yourself."
  else
    log "installing the Compose v2 CLI plugin from Debian trixie via $mirror (the host's own Debian source)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' \
      "$mirror" "${signed_by:-/usr/share/keyrings/debian-archive-keyring.gpg}" > "$work/trixie.sources"
    apt_opts=(-o "Dir::Etc::SourceList=$work/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work" && apt-get "${apt_opts[@]}" download docker-compose >/dev/null)
    dpkg -x "$work"/docker-compose_*.deb "$work/x"
    install -D -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
  fi
fi

# dockerd: started in the background when not answering (no systemd on CI machines).
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  # In a session of its own: the Engine is the host's, and must outlive the shell or CI run that
  # happened to start it (stopping that run's process group must not take dockerd with it).
  setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 60 s; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose v2 /'), $(docker-compose version --short 2>/dev/null | sed 's/^/compose v1 /')"
