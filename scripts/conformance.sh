#!/bin/bash
# Runs Tempest's network API tests against a fresh neutrino server with real Keystone auth.
#
#   scripts/conformance.sh [REGEX] [NAME]
#
# Builds the project (skip with NO_BUILD=1), starts `./bin/neutrino server` on $BIND_HOST:$BIND_PORT
# (default 127.0.0.1:9696) with a generated configuration (auth_strategy = keystone, SQLite under
# a temporary state_path, ML2 ranges that Tempest's configuration expects), waits for it, runs
# ../shared/conformance/tempest-run.sh against it, prints the summary and stops the server.
# Keystone must be up (../shared/conformance/keystone-setup.sh). Tempest's results land in
# /var/lib/harness-tempest/results/NAME.{md,log,subunit,tempest.log.gz}; the server's own log is
# copied to the same directory as NAME.server.log when the run ends. KEEP_STATE=1 keeps the
# temporary state directory (database, configuration).
#
# [DEFAULT] dns_domain is openstackgate.local. as devstack sets it (DNS_DOMAIN overrides it), which
# neutron-tempest-plugin's DNS tests expect. The plugin suite: CONCURRENCY=4 scripts/conformance.sh
# '^neutron_tempest_plugin\.api' plugin-api.
#
# DHCP_AGENT=1 also runs a real DHCP agent (`neutrino agent dhcp`, as root, dnsmasq in qdhcp-*
# namespaces) talking to the server over RabbitMQ in a virtual host of its own (made with
# rabbitmqctl and deleted at the end), as a devstack Neutron has one: Tempest's
# test_dhcp_agent_scheduler needs a DHCP agent. Its links (brq bridges, taps) live in a network
# namespace of its own (`--netns`), so the host's are untouched; at the end its dnsmasq processes,
# qdhcp-* namespaces and that namespace are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CONFORMANCE=${CONFORMANCE_DIR:-$ROOT/../shared/conformance}
DEFAULT_REGEX='^tempest\.api\.network\.(test_networks|test_networks_negative|test_ports|admin\.test_ports|test_extensions|test_versions|test_tags|admin\.test_quotas|admin\.test_negative_quotas)'
REGEX=${1:-$DEFAULT_REGEX}
NAME=${2:-neutrino-core}
: "${BIND_HOST:=127.0.0.1}"
: "${BIND_PORT:=9696}"
: "${RESULTS_DIR:=/var/lib/harness-tempest/results}"
: "${KEYSTONE_URL:=http://127.0.0.1:5000}"
: "${NEUTRON_PASS:=neutron-secret}"
URL="http://$BIND_HOST:$BIND_PORT"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$CONFORMANCE/tempest-run.sh" ] || die "$CONFORMANCE/tempest-run.sh not found (set CONFORMANCE_DIR)"
curl -s -m 5 -o /dev/null "$KEYSTONE_URL/v3" || die "Keystone does not answer at $KEYSTONE_URL: run $CONFORMANCE/keystone-setup.sh"
if (exec 3<>"/dev/tcp/$BIND_HOST/$BIND_PORT") 2>/dev/null; then
  die "something already listens on $BIND_HOST:$BIND_PORT; stop it or set BIND_PORT"
fi

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "building (npx tsc -p .)"
  npx tsc -p . >&2 || die "build failed"
fi

STATE=$(mktemp -d /tmp/neutrino-conformance.XXXXXX)
TRANSPORT_URL=
VHOST=
if [ "${DHCP_AGENT:-0}" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "DHCP_AGENT=1 needs root"
  command -v dnsmasq >/dev/null || die "DHCP_AGENT=1 needs dnsmasq"
  VHOST="neutrino_conformance_$(basename "$STATE" | tr -c 'A-Za-z0-9\n' _)"
  rabbitmqctl -q add_vhost "$VHOST" >/dev/null || die "rabbitmqctl add_vhost failed"
  rabbitmqctl -q set_permissions -p "$VHOST" "${RABBIT_USER:-guest}" '.*' '.*' '.*' >/dev/null
  TRANSPORT_URL="rabbit://${RABBIT_USER:-guest}:${RABBIT_PASS:-guest}@127.0.0.1:5672/$VHOST"
fi
# tempest-setup.sh recreates the Tempest workspace on its first run, so the server logs into the
# state directory and the log is copied next to Tempest's results at the end.
SERVER_LOG="$STATE/server.log"
cat >"$STATE/neutron.conf" <<CONF
[DEFAULT]
bind_host = $BIND_HOST
bind_port = $BIND_PORT
state_path = $STATE
auth_strategy = keystone
debug = ${SERVER_DEBUG:-false}
# As devstack sets it; neutron-tempest-plugin's DNS tests expect a domain of their own.
dns_domain = ${DNS_DOMAIN:-openstackgate.local.}
${TRANSPORT_URL:+transport_url = $TRANSPORT_URL}

[keystone_authtoken]
auth_url = $KEYSTONE_URL
username = neutron
password = $NEUTRON_PASS
project_name = service
user_domain_name = Default
project_domain_name = Default

[quotas]
quota_network = 100
quota_subnet = 100
quota_port = 500
CONF
cat >"$STATE/ml2_conf.ini" <<CONF
[ml2]
type_drivers = local,flat,vlan,vxlan,geneve
tenant_network_types = vxlan
# DNS integration is off unless named here, as in Neutron; on, so Tempest sees every extension.
extension_drivers = dns_domain_ports

[ml2_type_vxlan]
vni_ranges = 1:1000

[ml2_type_flat]
flat_networks = public

[ml2_type_vlan]
network_vlan_ranges = public:100:200
CONF

PID=
AGENT_PID=
# Not under $STATE (mode 700): dnsmasq reads its files as 'nobody'.
AGENT_STATE=
# The agent leaves dnsmasq running when it stops (a restarted agent adopts it): remove what it
# made for the networks it served, then its virtual host.
cleanup_dhcp_agent() {
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill "$AGENT_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.25; done
  fi
  [ -n "$VHOST" ] && rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true
  [ -n "$AGENT_STATE" ] || return 0
  for d in "$AGENT_STATE"/dhcp/*/; do
    [ -d "$d" ] || continue
    net=$(basename "$d")
    [ -f "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null || true
    ip netns delete "qdhcp-$net" 2>/dev/null || true
  done
  [ -n "$AGENT_NETNS" ] && ip netns delete "$AGENT_NETNS" 2>/dev/null || true
  rm -rf "$AGENT_STATE"
}
AGENT_NETNS=
cleanup() {
  [ "${DHCP_AGENT:-0}" = 1 ] && cleanup_dhcp_agent
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  mkdir -p "$RESULTS_DIR" && cp "$SERVER_LOG" "$RESULTS_DIR/$NAME.server.log" 2>/dev/null || true
  if [ "${KEEP_STATE:-0}" = 1 ]; then log "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT

log "starting neutrino server on $URL (state $STATE, log $RESULTS_DIR/$NAME.server.log)"
./bin/neutrino server --config-file "$STATE/neutron.conf" --config-file "$STATE/ml2_conf.ini" >"$SERVER_LOG" 2>&1 &
PID=$!
for _ in $(seq 1 60); do
  kill -0 "$PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "server exited during start-up"; }
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$URL/" || true)
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "${code:-}" = 200 ] || die "server did not answer at $URL within 30 s"

if [ "${DHCP_AGENT:-0}" = 1 ]; then
  AGENT_HOST="conformance-dhcp-$$"
  AGENT_NETNS="nt-conf-dhcp-$$"
  ip netns add "$AGENT_NETNS"
  ip -n "$AGENT_NETNS" link set lo up
  AGENT_STATE=$(mktemp -d /tmp/neutrino-conformance-dhcp.XXXXXX)
  chmod 755 "$AGENT_STATE"
  cat >"$STATE/dhcp_agent.ini" <<CONF
[DEFAULT]
host = $AGENT_HOST
state_path = $AGENT_STATE
[agent]
report_interval = 10
CONF
  log "starting a DHCP agent ($AGENT_HOST, log $RESULTS_DIR/$NAME.dhcp-agent.log)"
  mkdir -p "$RESULTS_DIR"
  ./bin/neutrino agent dhcp --config-file "$STATE/neutron.conf" --config-file "$STATE/dhcp_agent.ini" --netns "$AGENT_NETNS" >"$RESULTS_DIR/$NAME.dhcp-agent.log" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 1 60); do
    kill -0 "$AGENT_PID" 2>/dev/null || die "DHCP agent exited during start-up"
    grep -q 'DHCP agent started' "$RESULTS_DIR/$NAME.dhcp-agent.log" && break
    sleep 0.5
  done
  grep -q 'DHCP agent started' "$RESULTS_DIR/$NAME.dhcp-agent.log" || die "DHCP agent did not start within 30 s"
fi

# tempest-run.sh (set -o pipefail) now and then dies of SIGPIPE (exit 141) in its catalog
# lookups (`openstack ... | awk '...; exit'`) before Tempest starts: try again then.
rm -f "$RESULTS_DIR/$NAME.md"
for attempt in 1 2 3; do
  rc=0
  "$CONFORMANCE/tempest-run.sh" "$URL" "$REGEX" "$NAME" || rc=$?
  [ "$rc" = 141 ] && [ ! -e "$RESULTS_DIR/$NAME.md" ] || break
  log "tempest-run.sh died of SIGPIPE before running Tempest (attempt $attempt); retrying"
done
echo
cat "$RESULTS_DIR/$NAME.md" 2>/dev/null || log "no summary written"
echo
echo "server log: $RESULTS_DIR/$NAME.server.log; HTTP log: $RESULTS_DIR/$NAME.tempest.log.gz"
exit $rc
