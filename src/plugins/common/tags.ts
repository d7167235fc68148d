// Tags of standard-attribute resources (standard-attr-tag): stored per resource id; a change
// bumps the resource's revision_number like any other update.
import { brief, invalidAttribute } from '../../core/errors.js';
import { codePoints } from '../../definitions/validators.js';
import { tagNotFound } from './errors.js';
import type { Db } from '../../db/connection.js';
import { inTransaction, nowIso, type Tx } from '../../db/tx.js';

export const MAX_TAGS = 50;
export const MAX_TAG_LEN = 255;

export function validateTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag.length === 0 || codePoints(tag) > MAX_TAG_LEN) {
    throw invalidAttribute('tags', `'${brief(tag)}' is not a valid tag: a tag is a non-empty string of at most ${MAX_TAG_LEN} characters`);
  }
  return tag;
}

const tooManyTags = () => invalidAttribute('tags', `at most ${MAX_TAGS} tags are allowed per resource`);

export class TagStore {
  constructor(private readonly db: Db) {}

  async list(resourceId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('tags').select('tag').where('resource_id', '=', resourceId).orderBy('tag').execute();
    return rows.map((r) => r.tag);
  }

  private async bump(tx: Tx, table: string, id: string): Promise<void> {
    await tx
      .updateTable(table as 'networks')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: nowIso() }))
      .where('id', '=', id)
      .execute();
  }

  async replace(resourceType: string, table: string, id: string, tags: unknown): Promise<string[]> {
    if (!Array.isArray(tags)) throw invalidAttribute('tags', "'tags' must be a list of strings");
    const unique = [...new Set(tags.map(validateTag))];
    if (unique.length > MAX_TAGS) throw tooManyTags();
    await inTransaction(this.db, async (tx) => {
      await tx.deleteFrom('tags').where('resource_id', '=', id).execute();
      if (unique.length) {
        await tx
          .insertInto('tags')
          .values(unique.map((tag) => ({ resource_id: id, resource_type: resourceType, tag })))
          .execute();
      }
      await this.bump(tx, table, id);
    });
    return unique.sort();
  }

  async add(resourceType: string, table: string, id: string, tag: string): Promise<void> {
    validateTag(tag);
    await inTransaction(this.db, async (tx) => {
      const have = await tx.selectFrom('tags').select('tag').where('resource_id', '=', id).execute();
      if (have.some((h) => h.tag === tag)) return;
      if (have.length >= MAX_TAGS) throw tooManyTags();
      await tx.insertInto('tags').values({ resource_id: id, resource_type: resourceType, tag }).execute();
      await this.bump(tx, table, id);
    });
  }

  async remove(table: string, id: string, tag: string | null): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      let q = tx.deleteFrom('tags').where('resource_id', '=', id);
      if (tag !== null) q = q.where('tag', '=', tag);
      const r = await q.executeTakeFirst();
      if (tag !== null && Number(r.numDeletedRows) === 0) {
        throw tagNotFound(tag);
      }
      await this.bump(tx, table, id);
    });
  }

  async has(id: string, tag: string): Promise<boolean> {
    const r = await this.db.kysely.selectFrom('tags').select('tag').where('resource_id', '=', id).where('tag', '=', tag).executeTakeFirst();
    return r !== undefined;
  }
}
