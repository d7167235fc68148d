// A resource handler with some of its methods replaced (e.g. to notify agents after a write),
// everything else passed through to the original.
import type { ResourceHandler } from '../../core/resource.js';

type Overrides = Partial<Pick<ResourceHandler, 'create' | 'update' | 'delete'>>;

export function overrideHandler<H extends ResourceHandler>(handler: H, overrides: Overrides): H {
  // Other methods are bound once, not on every access: the controller reads them per list item.
  const bound = new Map<PropertyKey, [unknown, unknown]>();
  return new Proxy(handler, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own) return own;
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const b = bound.get(prop);
      if (b && b[0] === v) return b[1];
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      bound.set(prop, [v, f]);
      return f;
    },
  });
}
