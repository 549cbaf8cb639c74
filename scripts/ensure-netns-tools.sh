#!/usr/bin/env bash
# Makes sure the fault suite (`npm run test:chaos`, test/chaos/) can build its network: it must
# run as root (network namespaces, veth, a bridge, nftables rules) with iproute2 (`ip`, `tc`) and
# nftables (`nft`). Missing Debian packages are installed with apt-get; anything that cannot be
# fixed stops here with a message that says what is missing. Idempotent: a second run does nothing.
# Prints one line per tool found, and whether this kernel has tc netem (the suite falls back to a
# user-space delay link when it has not; see test/chaos/support/network.ts).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-netns-tools: the fault suite needs root (ip netns, veth, bridge, nft); run it as root" >&2
  exit 1
fi

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v tc >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || missing+=(nftables)
if [[ ${#missing[@]} -gt 0 ]]; then
  if ! command -v apt-get >/dev/null; then
    echo "ensure-netns-tools: missing ${missing[*]} and no apt-get to install them" >&2
    exit 1
  fi
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "ensure-netns-tools: installing ${pkgs[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# Can this machine make a namespace at all? (A container without CAP_SYS_ADMIN cannot.)
probe="imchaos-probe-$$"
if ! ip netns add "$probe" 2>/tmp/"$probe".err; then
  echo "ensure-netns-tools: cannot create a network namespace: $(cat /tmp/"$probe".err)" >&2
  rm -f /tmp/"$probe".err
  exit 1
fi
netem=no
ip -n "$probe" link set lo up
if ip netns exec "$probe" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then netem=yes; fi
ip netns del "$probe"
rm -f /tmp/"$probe".err

echo "ensure-netns-tools: $(ip -V 2>&1 | head -1); $(nft --version); tc netem in this kernel: $netem"
