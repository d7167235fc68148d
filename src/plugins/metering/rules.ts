// Metering label rules (metering, metering_source_and_destination_fields): which traffic of a
// label counts, by direction and by remote, source and/or destination prefix, or is excluded.
// As in Neutron's metering plugin: remote_ip_prefix excludes the other two, at least one prefix
// is needed, and two rules of one label, direction and `excluded` whose remote prefixes overlap
// are refused (MeteringLabelRuleOverlaps). Creates lock the label row, so two concurrent
// overlapping rules cannot both pass the check. Rules cannot be updated.
import type { RequestContext } from '../../core/context.js';
import { meteringLabelRuleDef } from '../../definitions/metering.js';
import type { Rec } from '../../core/resource.js';
import type { Db } from '../../db/connection.js';
import type { MeteringLabelRuleTable } from '../../db/schema.js';
import { b2i, forUpdate, i2b, inTransaction, type Reader } from '../../db/tx.js';
import { TableResource } from '../common/table-resource.js';
import { invalidRule, meteringLabelNotFound, meteringLabelRuleNotFound, meteringLabelRuleOverlaps, updateNotSupported } from './errors.js';
import { normalizePrefix, PREFIX_FIELDS, prefixesOverlap, type PrefixField } from './prefixes.js';

/** Neutron's rule dict: no owner of its own (its label has one). */
function ruleDict(r: MeteringLabelRuleTable): Rec {
  return {
    id: r.id,
    metering_label_id: r.metering_label_id,
    direction: r.direction,
    remote_ip_prefix: r.remote_ip_prefix,
    source_ip_prefix: r.source_ip_prefix,
    destination_ip_prefix: r.destination_ip_prefix,
    excluded: i2b(r.excluded),
  };
}

/** Checks and normalises a rule's prefixes (MeteringPlugin.validate_metering_label_rule). */
export function rulePrefixes(body: Rec): Record<PrefixField, string | null> {
  const out = {} as Record<PrefixField, string | null>;
  for (const f of PREFIX_FIELDS) {
    const v = body[f];
    // Like Neutron's `if rule.get(field)`: absent, null and '' all mean "not given".
    out[f] = v === undefined || v === null || v === '' ? null : normalizePrefix(f, v);
  }
  if (out.remote_ip_prefix && (out.source_ip_prefix || out.destination_ip_prefix)) {
    throw invalidRule("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.");
  }
  if (!out.remote_ip_prefix && !out.source_ip_prefix && !out.destination_ip_prefix) {
    throw invalidRule(
      "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
    );
  }
  return out;
}

export class MeteringLabelRuleHandler extends TableResource<'metering_label_rules'> {
  constructor(db: Db) {
    // Rules have no owner of their own: who reads them is the policy's call alone (admin by default).
    super({ def: meteringLabelRuleDef, db, notFound: meteringLabelRuleNotFound, visibility: 'all' });
  }

  protected async dictsOf(_ctx: RequestContext, _db: Reader, rows: MeteringLabelRuleTable[]): Promise<Rec[]> {
    return rows.map(ruleDict);
  }

  async create(_ctx: RequestContext, bodies: Rec[]): Promise<Rec[]> {
    const prepared = bodies.map((b) => ({ body: b, prefixes: rulePrefixes(b) }));
    return inTransaction(this.db, async (tx) => {
      const out: Rec[] = [];
      for (const { body, prefixes } of prepared) {
        const labelId = body.metering_label_id as string;
        const label = await forUpdate(this.db, tx.selectFrom('metering_labels').select('id').where('id', '=', labelId)).executeTakeFirst();
        if (!label) throw meteringLabelNotFound(labelId);
        const row: MeteringLabelRuleTable = {
          id: body.id as string,
          metering_label_id: labelId,
          direction: body.direction as string,
          excluded: b2i(body.excluded === true),
          ...prefixes,
        };
        if (row.remote_ip_prefix) {
          const siblings = await tx
            .selectFrom('metering_label_rules')
            .select('remote_ip_prefix')
            .where('metering_label_id', '=', labelId)
            .where('direction', '=', row.direction)
            .where('excluded', '=', row.excluded)
            .where('remote_ip_prefix', 'is not', null)
            .execute();
          if (siblings.some((s) => prefixesOverlap(s.remote_ip_prefix!, row.remote_ip_prefix!))) {
            throw meteringLabelRuleOverlaps(row.remote_ip_prefix);
          }
        }
        await tx.insertInto('metering_label_rules').values(row).execute();
        out.push(ruleDict(row));
      }
      return out;
    });
  }

  async update(): Promise<Rec> {
    throw updateNotSupported('metering label rule');
  }

  async delete(_ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const r = await tx.deleteFrom('metering_label_rules').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw this.notFound(id);
    });
  }
}
