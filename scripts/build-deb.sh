#!/usr/bin/env bash
# Builds dist/neutrino_<version>_<arch>.deb from this checkout with dpkg-deb (no debhelper):
#   /usr/lib/neutrino        bin/neutrino, the compiled dist/src, package.json, production node_modules
#   /usr/bin/neutrino        a link to it
#   /lib/systemd/system      neutrino-server and the agents' units (packaging/systemd)
#   /etc/neutrino            the annotated samples `neutrino config sample` writes (conffiles)
#   /etc/logrotate.d         rotation of /var/log/neutrino/*.log, reopened on SIGHUP
# postinst makes the `neutrino` system user and /var/lib/neutrino, /var/log/neutrino; purge removes them.
# Architecture is this machine's: better-sqlite3 is a native addon, built here for this Node's ABI.
# The node_modules are this checkout's production dependencies, copied (nothing is fetched or
# compiled again). SKIP_BUILD=1 uses dist/ as it is (CI has just built it).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
out=${OUT_DIR:-dist}
[ "${SKIP_BUILD:-}" = 1 ] || npx tsc -p tsconfig.json
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
lib=$root/usr/lib/neutrino

install -d "$lib/bin" "$lib/dist" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/neutrino" "$root/etc/logrotate.d" "$root/DEBIAN"
cp bin/neutrino "$lib/bin/"
cp -r dist/src "$lib/dist/src"
install -d "$lib/src/api/ui" && cp -r src/api/ui/page "$lib/src/api/ui/page" # the /ui/ page, served as written
cp package.json "$lib/"
# The production dependencies as npm resolved them here (npm ls reads node_modules only).
npm ls --omit=dev --all --parseable | tail -n +2 | sed "s|^$PWD/||" | xargs cp -a --parents -t "$lib"
# better-sqlite3's sources and intermediate objects are not needed at run time (only build/Release/*.node).
rm -rf "$lib/node_modules/better-sqlite3/deps" "$lib/node_modules/better-sqlite3/src" \
  "$lib/node_modules/better-sqlite3/build/Release/obj" "$lib/node_modules/better-sqlite3/build/Release/obj.target" \
  "$lib/node_modules/better-sqlite3/build/Release/.deps" "$lib/node_modules/better-sqlite3/build/deps"
ln -s ../lib/neutrino/bin/neutrino "$root/usr/bin/neutrino"
cp packaging/systemd/*.service "$root/lib/systemd/system/"
node bin/neutrino config sample --output-dir "$root/etc/neutrino" >/dev/null
cp packaging/logrotate "$root/etc/logrotate.d/neutrino"
cp packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/control" <<CONTROL
Package: neutrino
Version: $version
Architecture: $arch
Maintainer: neutrino developers <neutrino@localhost>
Section: net
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: nodejs (>= 20), passwd
Recommends: iproute2, nftables, dnsmasq-base, haproxy, conntrack, iputils-arping, procps, keepalived, radvd
Description: OpenStack Networking (Neutron) v2.0 API server and Linux agents
 neutrino speaks the Neutron v2.0 API (the openstack CLI, openstacksdk and
 Tempest work against it) and programs Linux hosts with its agents: Linux
 bridges and VXLAN, nftables security groups, DHCP with dnsmasq, L3 routers
 in namespaces and the metadata proxy. One systemd unit per service.
CONTROL

mkdir -p "$out"
deb="$out/neutrino_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
