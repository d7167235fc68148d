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
# copied to the same directory as NAME.server.log when the run ends (the agents' logs, with
# AGENTS=1 or DHCP_AGENT=1, as NAME.<agent>-agent.log). KEEP_STATE=1 keeps the temporary state
# directory (database, configuration).
#
# [DEFAULT] dns_domain is openstackgate.local. as devstack sets it (DNS_DOMAIN overrides it), which
# neutron-tempest-plugin's DNS tests expect. The plugin suite: CONCURRENCY=4 scripts/conformance.sh
# '^neutron_tempest_plugin\.api' plugin-api.
#
# DHCP_AGENT=1 also runs a real DHCP agent (`neutrino agent dhcp`, as root, dnsmasq in qdhcp-*
# namespaces) talking to the server over RabbitMQ in a virtual host of its own (made with
# rabbitmqctl and deleted at the end), as a devstack Neutron has one: Tempest's
# test_dhcp_agent_scheduler needs a DHCP agent. Its links (brq bridges, taps) live in a network
# namespace of its own (`--netns`), so the host's are untouched.
#
# AGENTS=1 runs a whole simulated network host instead: the Linux-bridge, DHCP and L3 agents with
# the same host name and the same --netns, so ports bound to that host (DHCP, router interfaces
# and gateways) are wired and go ACTIVE, as neutron-tempest-plugin's test_router_interface_status
# and the L3 agent scheduler tests need. In that namespace a veth `vtep0` holds the VXLAN
# local_ip (tenant networks are vxlan) and a veth `pub0` is physical network `public` (Tempest's
# flat external network, and the VLAN range). The L3 agent runs without the metadata proxy (no
# Nova here); radvd runs in routers with IPv6 subnets.
#
# At the end the agents are stopped, then what they leave for a restart to adopt goes too: the
# processes in their qdhcp-*/qrouter-* namespaces (dnsmasq, radvd, haproxy), those namespaces
# (only the ones these agents made, from their state directories) and the host's namespace.
#
# The functions below run from the EXIT trap, which shellcheck does not follow.
# shellcheck disable=SC2317
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
WITH_DHCP=0
WITH_HOST=0
[ "${DHCP_AGENT:-0}" = 1 ] && WITH_DHCP=1
[ "${AGENTS:-0}" = 1 ] && WITH_DHCP=1 && WITH_HOST=1
if [ "$WITH_DHCP" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "DHCP_AGENT=1 and AGENTS=1 need root"
  command -v dnsmasq >/dev/null || die "the DHCP agent needs dnsmasq"
  if [ "$WITH_HOST" = 1 ]; then command -v radvd >/dev/null || die "the L3 agent needs radvd (routers with IPv6 subnets)"; fi
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
# Naming any driver loads only those named: the port attribute drivers are named too.
extension_drivers = subnet_dns_publish_fixed_ip,port_device_profile,port_numa_affinity_policy_socket,port_hints,port_trusted,uplink_status_propagation_updatable

[ml2_type_vxlan]
vni_ranges = 1:1000

[ml2_type_flat]
flat_networks = public

[ml2_type_vlan]
network_vlan_ranges = public:100:200
CONF

PID=
# The simulated host's agents, as "name pid" words (stopped in reverse order at the end).
AGENT_PIDS=()
AGENT_NAMES=()
# Not under $STATE (mode 700): dnsmasq reads its files as 'nobody'.
AGENT_STATE=
AGENT_NETNS=
AGENT_HOST="conformance-$$"

# Kills the processes in a namespace, then deletes it.
remove_netns() {
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one pid a word
  if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; fi
  for _ in $(seq 1 20); do [ -z "$(ip netns pids "$1" 2>/dev/null)" ] && break; sleep 0.1; done
  pids=$(ip netns pids "$1" 2>/dev/null || true)
  # shellcheck disable=SC2086
  if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
  ip netns delete "$1" 2>/dev/null || true
}

# The agents leave dnsmasq, radvd and haproxy running when they stop (a restarted agent adopts
# them): after stopping the agents, remove what they made for the networks and routers they
# served (known from their state directories, as other namespaces on this machine are not ours),
# then the host's namespace (its bridges, VXLAN devices and veths) and the virtual host.
cleanup_agents() {
  local i pid f
  for ((i = ${#AGENT_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${AGENT_PIDS[$i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for i in "${!AGENT_NAMES[@]}"; do
    cp "$STATE/${AGENT_NAMES[$i]}-agent.log" "$RESULTS_DIR/$NAME.${AGENT_NAMES[$i]}-agent.log" 2>/dev/null || true
  done
  if [ -n "$VHOST" ]; then rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true; fi
  if [ -n "$AGENT_STATE" ]; then
    # Pid files first: a process whose namespace is already gone is found by them alone.
    for f in "$AGENT_STATE"/dhcp/*/pid "$AGENT_STATE"/ra/*.pid.radvd "$AGENT_STATE"/ns-metadata-proxy/*.pid; do
      if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
    done
    for f in "$AGENT_STATE"/dhcp/*/; do [ -d "$f" ] && remove_netns "qdhcp-$(basename "$f")"; done
    for f in "$AGENT_STATE"/l3/*; do [ -f "$f" ] && remove_netns "qrouter-$(basename "$f")"; done
    rm -rf "$AGENT_STATE"
  fi
  [ -n "$AGENT_NETNS" ] && remove_netns "$AGENT_NETNS"
  return 0
}
cleanup() {
  [ "$WITH_DHCP" = 1 ] && cleanup_agents
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$PID" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  mkdir -p "$RESULTS_DIR" && { cp "$SERVER_LOG" "$RESULTS_DIR/$NAME.server.log" 2>/dev/null || true; }
  if [ "${KEEP_STATE:-0}" = 1 ]; then log "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT

# start_agent NAME READY_PATTERN ARGS...: `neutrino agent ARGS...` logging to $STATE/NAME-agent.log
# (copied next to Tempest's results at the end); waits up to 60 s for READY_PATTERN in its log.
start_agent() {
  local name=$1 ready=$2 agent_log="$STATE/$1-agent.log"
  shift 2
  log "starting the $name agent ($AGENT_HOST in netns $AGENT_NETNS, log $RESULTS_DIR/$NAME.$name-agent.log)"
  ./bin/neutrino agent "$@" >"$agent_log" 2>&1 &
  AGENT_PIDS+=("$!")
  AGENT_NAMES+=("$name")
  for _ in $(seq 1 120); do
    kill -0 "$!" 2>/dev/null || { tail -n 20 "$agent_log" >&2; die "the $name agent exited during start-up"; }
    grep -qs "$ready" "$agent_log" && return 0
    sleep 0.5
  done
  tail -n 20 "$agent_log" >&2
  die "the $name agent did not start within 60 s"
}

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

if [ "$WITH_DHCP" = 1 ]; then
  mkdir -p "$RESULTS_DIR"
  AGENT_NETNS="nt-conf-$$"
  ip netns add "$AGENT_NETNS"
  AGENT_STATE=$(mktemp -d /tmp/neutrino-conformance-agents.XXXXXX)
  chmod 755 "$AGENT_STATE"
  ip -n "$AGENT_NETNS" link set lo up
  cat >"$STATE/agents.ini" <<CONF
[DEFAULT]
host = $AGENT_HOST
state_path = $AGENT_STATE
[agent]
report_interval = 10
CONF
  if [ "$WITH_HOST" = 1 ]; then
    # The host's "NICs": the VXLAN endpoint and physical network public (flat and VLAN).
    VTEP_IP=${VTEP_IP:-192.0.2.1}
    # Veth pairs with both ends in the namespace (kernels without the dummy driver have veth).
    ip -n "$AGENT_NETNS" link add vtep0 type veth peer name vtep0-peer
    ip -n "$AGENT_NETNS" addr add "$VTEP_IP/32" dev vtep0
    ip -n "$AGENT_NETNS" link add pub0 type veth peer name pub0-peer
    for dev in vtep0 vtep0-peer pub0 pub0-peer; do ip -n "$AGENT_NETNS" link set "$dev" up; done
    cat >"$STATE/linuxbridge_agent.ini" <<CONF
[linux_bridge]
physical_interface_mappings = public:pub0
[vxlan]
enable_vxlan = true
local_ip = $VTEP_IP
l2_population = false
[agent]
extensions = log
[network_log]
local_output_log_base = $AGENT_STATE/network-log.log
CONF
    cat >"$STATE/l3_agent.ini" <<CONF
[DEFAULT]
interface_driver = linuxbridge
# No Nova here, so no metadata to serve (and no haproxy per router).
enable_metadata_proxy = false
CONF
    start_agent linuxbridge 'first full pass done' linuxbridge --config-file "$STATE/neutron.conf" \
      --config-file "$STATE/agents.ini" --config-file "$STATE/linuxbridge_agent.ini" --netns "$AGENT_NETNS"
  fi
  start_agent dhcp 'DHCP agent started' dhcp --config-file "$STATE/neutron.conf" --config-file "$STATE/agents.ini" --netns "$AGENT_NETNS"
  if [ "$WITH_HOST" = 1 ]; then
    start_agent l3 'L3 agent started' l3 --config-file "$STATE/neutron.conf" --config-file "$STATE/agents.ini" \
      --config-file "$STATE/l3_agent.ini" --netns "$AGENT_NETNS"
  fi
fi

# tempest-run.sh (set -o pipefail) now and then dies of SIGPIPE (exit 141) in its catalog
# lookups (`openstack ... | awk '...; exit'`) before Tempest starts: try again then.
rm -f "$RESULTS_DIR/$NAME.md"
for attempt in 1 2 3; do
  rc=0
  "$CONFORMANCE/tempest-run.sh" "$URL" "$REGEX" "$NAME" || rc=$?
  if [ "$rc" != 141 ] || [ -e "$RESULTS_DIR/$NAME.md" ]; then break; fi
  log "tempest-run.sh died of SIGPIPE before running Tempest (attempt $attempt); retrying"
done
echo
cat "$RESULTS_DIR/$NAME.md" 2>/dev/null || log "no summary written"
echo
echo "server log: $RESULTS_DIR/$NAME.server.log; HTTP log: $RESULTS_DIR/$NAME.tempest.log.gz"
for a in "${AGENT_NAMES[@]}"; do echo "$a agent log: $RESULTS_DIR/$NAME.$a-agent.log"; done
exit "$rc"
