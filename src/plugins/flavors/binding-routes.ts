// The flavor sub-resources (Neutron's SUB_RESOURCE_ATTRIBUTE_MAP of flavors):
//   POST   /flavors/:id/service_profiles          create_flavor_service_profile  {"service_profile": {"id"}}
//   GET    /flavors/:id/service_profiles/:sp      get_flavor_service_profile
//   DELETE /flavors/:id/service_profiles/:sp      delete_flavor_service_profile
//   GET    /flavors/:id/next_providers            get_flavor  (the provider the flavor leads to)
// The list of a flavor's profiles is its service_profiles attribute (Neutron has no list here).
import type { ApiRoute } from '../../core/api-route.js';
import { badRequest, invalidAttribute } from '../../core/errors.js';
import type { Rec } from '../../core/resource.js';
import { isDuplicateKey, type Db } from '../../db/connection.js';
import { inTransaction } from '../../db/tx.js';
import { bindingExists, bindingNotFound, flavorNotFound } from './errors.js';
import { lockFlavor, lockServiceProfile, nextProvider } from './store.js';

const fields = (d: Rec, q: Record<string, string[]>) => {
  const f = (q.fields ?? []).filter((x) => x);
  return f.length ? Object.fromEntries(Object.entries(d).filter(([k]) => f.includes(k))) : d;
};

/** The profile id of a POST body, validated as the sub-resource's attribute map does. */
function profileIdOf(body: unknown): string {
  const sp = (body as Rec | null)?.service_profile;
  if (!sp || typeof sp !== 'object' || Array.isArray(sp)) throw badRequest("Unable to find 'service_profile' in request body");
  const unknown = Object.keys(sp).filter((k) => !['id', 'tenant_id', 'project_id'].includes(k));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  const id = (sp as Rec).id;
  if (id === undefined) throw badRequest("Failed to parse request. Required attribute 'id' not specified");
  if (typeof id !== 'string' || !/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(id)) {
    throw invalidAttribute('id', `'${String(id)}' is not a valid UUID`);
  }
  return id;
}

export function flavorBindingRoutes(db: Db, serviceTypes: ReadonlySet<string>): ApiRoute[] {
  const flavorExists = async (id: string) => {
    if (!(await db.kysely.selectFrom('flavors').select('id').where('id', '=', id).executeTakeFirst())) throw flavorNotFound(id);
  };
  return [
    {
      method: 'POST',
      path: '/flavors/:id/service_profiles',
      policy: 'create_flavor_service_profile',
      status: 201,
      async handle(r) {
        const spId = profileIdOf(r.body);
        const flavorId = r.params.id!;
        try {
          await inTransaction(db, async (tx) => {
            await lockFlavor(db, tx, flavorId);
            await lockServiceProfile(db, tx, spId);
            const had = await tx
              .selectFrom('flavor_service_profile_bindings')
              .select('flavor_id')
              .where('flavor_id', '=', flavorId)
              .where('service_profile_id', '=', spId)
              .executeTakeFirst();
            if (had) throw bindingExists(spId, flavorId);
            await tx.insertInto('flavor_service_profile_bindings').values({ flavor_id: flavorId, service_profile_id: spId }).execute();
          });
        } catch (err) {
          // The primary key settles two concurrent requests the locks did not order (SQLite has none).
          if (isDuplicateKey(err)) throw bindingExists(spId, flavorId);
          throw err;
        }
        return { service_profile: { id: spId } };
      },
    },
    {
      method: 'GET',
      path: '/flavors/:id/service_profiles/:sp',
      policy: 'get_flavor_service_profile',
      async handle(r) {
        const { id, sp } = r.params as { id: string; sp: string };
        await flavorExists(id);
        const row = await db.reader
          .selectFrom('flavor_service_profile_bindings')
          .select('flavor_id')
          .where('flavor_id', '=', id)
          .where('service_profile_id', '=', sp)
          .executeTakeFirst();
        if (!row) throw bindingNotFound(sp, id);
        return { service_profile: fields({ service_profile_id: sp, flavor_id: id }, r.query) };
      },
    },
    {
      method: 'DELETE',
      path: '/flavors/:id/service_profiles/:sp',
      policy: 'delete_flavor_service_profile',
      status: 204,
      async handle(r) {
        const { id, sp } = r.params as { id: string; sp: string };
        await inTransaction(db, async (tx) => {
          await lockFlavor(db, tx, id);
          const gone = await tx
            .deleteFrom('flavor_service_profile_bindings')
            .where('flavor_id', '=', id)
            .where('service_profile_id', '=', sp)
            .executeTakeFirst();
          if (!Number(gone.numDeletedRows)) throw bindingNotFound(sp, id);
        });
      },
    },
    {
      method: 'GET',
      path: '/flavors/:id/next_providers',
      policy: 'get_flavor',
      async handle(r) {
        await flavorExists(r.params.id!);
        return { next_providers: [fields(await nextProvider(db.reader, r.params.id!, serviceTypes), r.query)] };
      },
    },
  ];
}
