// The caller of a request, as Neutron's neutron_lib.context.Context describes it.
export interface RequestContext {
  userId: string | null;
  projectId: string | null;
  roles: string[];
  isAdmin: boolean;
  /** Keystone's or no-auth's view of who may act as the service (e.g. Nova); kept for policy. */
  isAdvsvc: boolean;
  requestId: string;
  /** Extra credential fields exposed to policy (domain ids, system scope, ...). */
  extra?: Record<string, unknown>;
  /**
   * The request only reads (GET): its reads may go to `[database] slave_connection`. Anything that
   * writes reads through the writer, so it sees what it (or a request just before) wrote even
   * when the replica lags.
   */
  readOnly?: boolean;
}

export function adminContext(requestId = 'req-internal'): RequestContext {
  return { userId: null, projectId: null, roles: ['admin'], isAdmin: true, isAdvsvc: false, requestId };
}
