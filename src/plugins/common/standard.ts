// Standard attributes shared by every resource dict, and revision checks.
import { revisionNumberConstraintFailed } from './errors.js';
import type { StandardColumns } from '../../db/schema.js';

export function standardFields(row: StandardColumns & { project_id: string }, tags: string[] | undefined) {
  return {
    tenant_id: row.project_id,
    project_id: row.project_id,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    revision_number: Number(row.revision_number),
    tags: tags ?? [],
  };
}

/** If-Match: revision_number=N failed: Neutron answers 412 RevisionNumberConstraintFailed. */
export function checkRevision(current: number, expected: number | undefined): void {
  if (expected !== undefined && Number(current) !== expected) {
    throw revisionNumberConstraintFailed(expected, current);
  }
}
