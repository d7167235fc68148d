// What a list call asks for, once the query string is parsed (api/query.ts parses it): filters,
// fields, sorting, pagination and tag filters, as plugins receive it.
export type QueryParams = Record<string, string[]>;

export interface TagFilters {
  tags?: string[]; // all of
  tagsAny?: string[]; // any of
  notTags?: string[]; // not all of
  notTagsAny?: string[]; // none of
}

export interface ListQuery {
  filters: Record<string, unknown[]>;
  fields: string[];
  sorts: Array<[string, boolean]>; // [attr, ascending]
  limit: number | null;
  marker: string | null;
  pageReverse: boolean;
  tagFilters: TagFilters;
}
