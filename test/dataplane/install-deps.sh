#!/usr/bin/env bash
# Debian packages the dataplane (and its root tests) need. Idempotent: installs only what is
# missing, so it costs nothing on a machine that has them. For .ci/run:
#   bash test/dataplane/install-deps.sh
#   iproute2     ip, bridge (with -json and -batch)
#   nftables     nft
#   dnsmasq-base dnsmasq (the binary only; no system service is started)
#   busybox      ping and udhcpc for the end-to-end tests (the image has no ping at all)
#   util-linux   nsenter (essential in Debian, listed for completeness)
#   isc-dhcp-client  dhclient -6, the DHCPv6 client of the end-to-end test (busybox has no udhcpc6)
#   conntrack    conntrack -D: the L2 agent drops connections a security group change no longer allows,
#                the L3 agent those of a floating IP that goes
#   haproxy      the metadata proxies in qdhcp-/qrouter- namespaces (as Neutron runs them; no service started)
#   curl         the instance's metadata client in the end-to-end tests
#   radvd        IPv6 router advertisements from router namespaces (as Neutron runs it; its service is not used)
#   iputils-arping  arping -U: the L3 agent's gratuitous ARP for addresses that appear on a gateway
#   keepalived   VRRP for HA routers (the L3 agent runs one per HA router in its namespace)
#   procps       sysctl: the L3 agent turns on ip_forward in router namespaces
#   socat        the L3 end-to-end test's TCP servers and clients
#   python3-oslo.messaging  the real oslo.messaging peer of the RPC interop test (test/rpc/oslo_peer.py)
#   neutron-server  the real Neutron the import test (test/db/import-neutron.test.ts) builds, fills and
#                reads back (neutron-db-manage too); policy-rc.d keeps Debian from starting its service
#   neutron-linuxbridge-agent, neutron-dhcp-agent  Debian's own Neutron agents, run unchanged against a
#                neutrino server by the mixed-deployment test (test/e2e/neutron-agents.root.test.ts) with
#                configuration files of the test's own; they bring sudo (privsep-helper runs through it),
#                iptables, ebtables and ipset; policy-rc.d keeps their services from starting
#   neutron-l3-agent, neutron-metadata-agent  Debian's L3 agent (routers in qrouter- namespaces, its
#                haproxy metadata proxies) and metadata agent, in the same test against a neutrino server
#   python3-psycopg2  PostgreSQL driver of that Neutron (the import test reads a Neutron on PostgreSQL too)
#   chromium     headless browser of the /ui/ page's test (test/ui/), driven by playwright-core
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(iproute2 nftables dnsmasq-base busybox util-linux isc-dhcp-client conntrack haproxy radvd curl iputils-arping keepalived procps socat python3-oslo.messaging neutron-server neutron-linuxbridge-agent neutron-dhcp-agent neutron-l3-agent neutron-metadata-agent python3-psycopg2 chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -o DPkg::Lock::Timeout=600 -q >/dev/null
  # No package may start its service (neutron-server would take 9696): policy-rc.d refuses every start.
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; fi
  apt-get install -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
