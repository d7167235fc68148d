// Query-string semantics of Neutron's list calls (neutron/api/api_common.py): filters
// (repeated key = any of), fields, sort_key/sort_dir, limit/marker/page_reverse, tag filters.
import type { ResourceDef } from '../core/definition.js';
import { badRequest } from '../core/errors.js';

export type { QueryParams, TagFilters, ListQuery } from '../core/list-query.js';
import type { QueryParams, ListQuery } from '../core/list-query.js';

const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

/** Parses a raw query string into a dict of lists, keeping repeated keys and empty values. */
export function parseQueryString(qs: string): QueryParams {
  const out: QueryParams = {};
  for (const [k, v] of new URLSearchParams(qs)) (out[k] ??= []).push(v);
  return out;
}

/** The largest LIMIT sent to the database: every backend takes a 32-bit one. */
const MAX_LIMIT = 2 ** 31 - 1;

const splitTags = (vals: string[] | undefined) => (vals ? vals.flatMap((v) => v.split(',')).filter((t) => t !== '') : undefined);

export function parseListQuery(params: QueryParams, def: ResourceDef, maxLimit: number): ListQuery {
  const filters: Record<string, unknown[]> = {};
  const invalid: string[] = [];
  for (const [key, rawValues] of Object.entries(params)) {
    if (RESERVED.has(key)) continue;
    const attr = def.attributes[key];
    if (!attr || !attr.filter) {
      invalid.push(key);
      continue;
    }
    const conv = attr.filterConvert;
    filters[key] = rawValues.map((v) => (conv ? conv(v, key) : v));
  }
  if (invalid.length) throw badRequest(`[${invalid.map((k) => `'${k}'`).join(', ')}] is invalid attribute for filtering`);

  const sortKeys = (params.sort_key ?? []).filter((v) => v);
  const sortDirs = (params.sort_dir ?? []).filter((v) => v);
  if (sortKeys.length !== sortDirs.length) throw badRequest('The number of sort_keys and sort_dirs must be same');
  const badKeys = sortKeys.filter((k) => !def.attributes[k]?.sortKey);
  if (badKeys.length) throw badRequest(`[${badKeys.map((k) => `'${k}'`).join(', ')}] is invalid attribute for sort_keys`);
  const badDirs = sortDirs.filter((d) => d !== 'asc' && d !== 'desc');
  if (badDirs.length) {
    throw badRequest(`[${badDirs.map((k) => `'${k}'`).join(', ')}] is invalid value for sort_dirs, valid value is 'asc' and 'desc'`);
  }
  const sorts: Array<[string, boolean]> = sortKeys.map((k, i) => [k, sortDirs[i] === 'asc']);

  let limit: number | null = null;
  const rawLimit = params.limit?.[0];
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit.trim())) throw badRequest(`Limit must be an integer 0 or greater and not '${rawLimit}'`);
    // Beyond 2^31 - 1 no list is that long; a larger number would reach SQL as a float (1e+23).
    limit = Math.min(parseInt(rawLimit, 10), MAX_LIMIT);
  }
  if (maxLimit > 0) limit = Math.min(maxLimit, limit ?? 0) || maxLimit;
  if (!limit) limit = null;
  const marker = limit ? (params.marker?.[0] ?? null) : null;
  const pageReverse = (params.page_reverse?.[0] ?? 'false').toLowerCase() === 'true';
  const fields = (params.fields ?? []).filter((f) => f);

  return {
    filters,
    fields,
    sorts,
    limit,
    marker,
    pageReverse,
    tagFilters: {
      tags: splitTags(params.tags),
      tagsAny: splitTags(params['tags-any']),
      notTags: splitTags(params['not-tags']),
      notTagsAny: splitTags(params['not-tags-any']),
    },
  };
}

/** `<collection>_links` as Neutron builds them for native pagination. */
export function paginationLinks(
  baseUrl: string,
  params: QueryParams,
  items: Array<Record<string, unknown>>,
  q: ListQuery,
): Array<{ rel: string; href: string }> {
  if (!q.limit) return [];
  const links: Array<{ rel: string; href: string }> = [];
  const encode = (p: QueryParams) => {
    const u = new URLSearchParams();
    for (const [k, vs] of Object.entries(p)) for (const v of vs) u.append(k, v);
    return `${baseUrl}?${u.toString()}`;
  };
  if (!(items.length < q.limit && !q.pageReverse)) {
    const p = { ...params };
    delete p.marker;
    delete p.page_reverse;
    if (items.length) p.marker = [String(items[items.length - 1]!.id)];
    links.push({ rel: 'next', href: encode(p) });
  }
  if (!(items.length < q.limit && q.pageReverse)) {
    const p = { ...params };
    delete p.marker;
    if (items.length) p.marker = [String(items[0]!.id)];
    p.page_reverse = ['True'];
    links.push({ rel: 'previous', href: encode(p) });
  }
  return links;
}
