// Errors of the attributes and extensions every plugin shares (standard attributes, tags, agents),
// named and worded as Neutron's exception classes; the type is the class name, the status
// follows Neutron's FAULT_MAP.
import { NeutronError, notFound } from '../../core/errors.js';

/** neutron/services/revisions RevisionNumberConstraintFailed: the If-Match revision did not hold (412). */
export const revisionNumberConstraintFailed = (expected: number, current: number) =>
  new NeutronError(412, 'RevisionNumberConstraintFailed', `Constrained to ${expected}, but current revision is ${current}`);

/** neutron/extensions/tagging.py TagNotFound. */
export const tagNotFound = (tag: string) => notFound('TagNotFound', `Tag ${tag} could not be found.`);

/** neutron_lib.exceptions.agent.AgentNotFound, raised by the agent API and both agent schedulers. */
export const agentNotFound = (id: string) => notFound('AgentNotFound', `Agent ${id} could not be found.`);
