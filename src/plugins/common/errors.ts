// Errors of what every resource shares: tags and revision constraints.
import { NeutronError, notFound } from '../../core/errors.js';

export const tagNotFound = (tag: string) => notFound('TagNotFound', `Tag ${tag} could not be found.`);

/** If-Match: revision_number=N failed. */
export const revisionConstraintFailed = (expected: number, current: number) =>
  new NeutronError(412, 'RevisionNumberConstraintFailed', `Constrained to ${expected}, but current revision is ${current}`);
