// DNS integration (Neutron's dns-integration and dns-domain-ports ML2 extension drivers, without
// an external DNS service): networks keep a dns_domain; ports keep a dns_name (and dns_domain)
// and show dns_assignment, the host name and FQDN of each of their fixed IPs, which the DHCP
// agent hands out. As in Neutron, ports' names are only kept when [DEFAULT] dns_domain is set to
// something other than the default 'openstacklocal': with the default every port is
// host-<ip>.openstacklocal. and its dns_name reads ''.
import type { RequestContext } from '../../core/context.js';
import type { Rec } from '../../core/resource.js';
import type { PortTable } from '../../db/schema.js';
import type { Reader, Tx } from '../../db/tx.js';
import { FQDN_MAX_LEN } from '../../definitions/dns.js';
import { invalidAttribute } from '../../core/errors.js';
import type { Ml2ExtensionDriver } from '../ml2/extension-drivers.js';
import type { FixedIp } from '../ml2/ip-allocator.js';

/**
 * The DNS extension aliases the [ml2] extension_drivers turn on, as in Neutron: 'dns' brings
 * dns-integration, 'dns_domain_ports' brings it with dns-domain-ports, 'subnet_dns_publish_fixed_ip'
 * both with subnet-dns-publish-fixed-ip. None is on by default.
 */
export function dnsAliases(extensionDrivers: readonly string[]): string[] {
  const d = new Set(extensionDrivers.map((x) => x.trim()));
  // Neutron's subnet_dns_publish_fixed_ip driver is dns_domain_ports's with the subnet flag added.
  if (d.has('subnet_dns_publish_fixed_ip')) return ['dns-integration', 'dns-domain-ports', 'subnet-dns-publish-fixed-ip'];
  if (d.has('dns_domain_ports')) return ['dns-integration', 'dns-domain-ports'];
  return d.has('dns') ? ['dns-integration'] : [];
}

/** neutron_lib constants.DNS_DOMAIN_DEFAULT. */
export const DNS_DOMAIN_DEFAULT = 'openstacklocal.';

interface DnsAssignment {
  hostname: string;
  ip_address: string;
  fqdn: string;
}

export class DnsIntegration implements Ml2ExtensionDriver {
  /** [DEFAULT] dns_domain as a FQDN ('' when unset). */
  readonly domain: string;
  /** Whether ports' dns_name/dns_domain are kept (not with the default domain). */
  readonly keepsPortNames: boolean;

  constructor(private readonly configuredDomain: string) {
    this.domain = !configuredDomain ? '' : configuredDomain.endsWith('.') ? configuredDomain : `${configuredDomain}.`;
    this.keepsPortNames = this.domain !== '' && this.domain !== DNS_DOMAIN_DEFAULT;
  }

  // ---- networks ------------------------------------------------------------------------------

  async processCreateNetwork(tx: Tx, _ctx: RequestContext, body: Rec): Promise<void> {
    const domain = body.dns_domain;
    if (typeof domain === 'string' && domain)
      await tx
        .insertInto('networkdnsdomains')
        .values({ network_id: body.id as string, dns_domain: domain })
        .execute();
  }

  async processUpdateNetwork(tx: Tx, _ctx: RequestContext, networkId: string, body: Rec): Promise<void> {
    if (typeof body.dns_domain !== 'string') return;
    await tx.deleteFrom('networkdnsdomains').where('network_id', '=', networkId).execute();
    if (body.dns_domain) await tx.insertInto('networkdnsdomains').values({ network_id: networkId, dns_domain: body.dns_domain }).execute();
  }

  async extendNetworkDicts(db: Reader, dicts: Rec[]): Promise<void> {
    const domains = new Map<string, string>();
    const ids = dicts.map((d) => d.id as string);
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await db
        .selectFrom('networkdnsdomains')
        .selectAll()
        .where('network_id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) domains.set(r.network_id, r.dns_domain);
    }
    for (const d of dicts) d.dns_domain = domains.get(d.id as string) ?? '';
  }

  // ---- ports ---------------------------------------------------------------------------------

  /** _validate_dns_name_with_dns_domain: the name and the configured domain must make a FQDN. */
  private checkNameFitsDomain(name: string): void {
    if (!name) return;
    const higher = this.domain ? `.${this.domain}` : '';
    if (!name.endsWith('.')) {
      if (name.length + higher.length > FQDN_MAX_LEN) {
        throw invalidAttribute(
          'dns_name',
          `The dns_name passed is a PQDN and its size is '${name.length}'. The dns_domain option in neutron.conf is set to ${this.configuredDomain}, with a length of '${higher.length}'. When the two are concatenated to form a FQDN (with a '.' at the end), the resulting length exceeds the maximum size of '${FQDN_MAX_LEN}'`,
        );
      }
      return;
    }
    if (name.length <= higher.length || !name.endsWith(higher)) {
      throw invalidAttribute(
        'dns_name',
        `The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, that has been set to '${this.configuredDomain}'. It must also include one or more valid DNS labels to the left of '${this.configuredDomain}'`,
      );
    }
  }

  /** Keeps the port's name and domain; returns them with its dns_assignment, as extendPortDicts would. */
  async processCreatePort(tx: Tx, _ctx: RequestContext | null, body: Rec, fixedIps: readonly FixedIp[]): Promise<Rec> {
    const given = {
      dns_name: typeof body.dns_name === 'string' ? body.dns_name : '',
      dns_domain: typeof body.dns_domain === 'string' ? body.dns_domain : '',
    };
    const kept = this.keepsPortNames ? given : { dns_name: '', dns_domain: '' };
    if (kept.dns_name || kept.dns_domain) {
      this.checkNameFitsDomain(kept.dns_name);
      await tx
        .insertInto('portdnses')
        .values({ port_id: body.id as string, ...kept })
        .execute();
    }
    return { ...kept, dns_assignment: fixedIps.map((f) => this.assignment(f.ip_address, kept.dns_name)) };
  }

  async processUpdatePort(tx: Tx, _ctx: RequestContext, port: PortTable, body: Rec): Promise<void> {
    const portId = port.id;
    const name = typeof body.dns_name === 'string' ? body.dns_name : undefined;
    const domain = typeof body.dns_domain === 'string' ? body.dns_domain : undefined;
    if ((name === undefined && domain === undefined) || !this.keepsPortNames) return;
    if (name !== undefined) this.checkNameFitsDomain(name);
    const existing = await tx.selectFrom('portdnses').selectAll().where('port_id', '=', portId).executeTakeFirst();
    if (existing) {
      await tx
        .updateTable('portdnses')
        .set({ dns_name: name ?? existing.dns_name, dns_domain: domain ?? existing.dns_domain })
        .where('port_id', '=', portId)
        .execute();
    } else {
      await tx
        .insertInto('portdnses')
        .values({ port_id: portId, dns_name: name ?? '', dns_domain: domain ?? '' })
        .execute();
    }
  }

  async extendPortDicts(db: Reader, dicts: Rec[], want: (name: string) => boolean): Promise<void> {
    if (!dicts.length) return;
    const wantAssignment = want('dns_assignment');
    if (!wantAssignment && !want('dns_name') && !want('dns_domain')) return;
    const ids = dicts.map((d) => d.id as string);
    const names = new Map<string, { dns_name: string; dns_domain: string }>();
    if (this.keepsPortNames) {
      for (let i = 0; i < ids.length; i += 500) {
        for (const r of await db
          .selectFrom('portdnses')
          .selectAll()
          .where('port_id', 'in', ids.slice(i, i + 500))
          .execute())
          names.set(r.port_id, r);
      }
    }
    // A list with ?fields= may not have read the fixed IPs that dns_assignment is made of.
    const ips = new Map<string, string[]>();
    const missing = wantAssignment ? dicts.filter((d) => !Array.isArray(d.fixed_ips)).map((d) => d.id as string) : [];
    for (let i = 0; i < missing.length; i += 500) {
      const rows = await db
        .selectFrom('ip_allocations')
        .select(['port_id', 'ip_address'])
        .where('port_id', 'in', missing.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        const l = ips.get(r.port_id);
        if (l) l.push(r.ip_address);
        else ips.set(r.port_id, [r.ip_address]);
      }
    }
    for (const d of dicts) {
      const row = names.get(d.id as string);
      d.dns_name = row?.dns_name ?? '';
      d.dns_domain = row?.dns_domain ?? '';
      if (!wantAssignment) continue;
      const addresses = Array.isArray(d.fixed_ips)
        ? (d.fixed_ips as Array<{ ip_address: string }>).map((f) => f.ip_address)
        : (ips.get(d.id as string) ?? []);
      d.dns_assignment = addresses.map((ip) => this.assignment(ip, d.dns_name as string));
    }
  }

  /** _get_dns_names_for_port, for one address. */
  assignment(ip: string, dnsName: string): DnsAssignment {
    if (dnsName) {
      return { hostname: dnsName, ip_address: ip, fqdn: dnsName.endsWith('.') ? dnsName : `${dnsName}.${this.domain}` };
    }
    const hostname = `host-${ip.replace(/[.:]/g, '-')}`;
    return { hostname, ip_address: ip, fqdn: this.domain ? `${hostname}.${this.domain}` : hostname };
  }
}
