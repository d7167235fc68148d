// Response bodies as JSON. Neutron's counts can pass 2^53 (an IPv6 /64 holds 2^64 addresses) and
// Python writes them as exact integers; handlers give those as bigint, which JSON.stringify refuses.
// lossless-json writes bigints as plain digits; it is slower, so only bodies holding one use it.
import { stringify as losslessStringify } from 'lossless-json';

export function toJson(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/i.test(e.message)) throw e;
    return losslessStringify(body) ?? 'null';
  }
}
