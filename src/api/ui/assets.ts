// The page's files: a fixed map from URL to file, so nothing in a URL ever names a path on disk.
// Served by hand rather than with @fastify/static: six files, no directory listing or path
// resolution wanted. The front-end libraries are served from their npm packages as installed.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The page's own files sit in src/api/ui/page, four levels above this module once compiled (dist/src/api/ui/). */
const PAGE = new URL('../../../../src/api/ui/page/', import.meta.url);

const fromPage = (name: string) => fileURLToPath(new URL(name, PAGE));
/** An ES module entry of an installed package (Node resolves it as an `import` would). */
const fromPackage = (specifier: string) => fileURLToPath(import.meta.resolve(specifier));

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export interface Asset {
  file: string;
  type: string;
}

/** URL below /ui/ → file. The import map in index.html names the vendor/ entries. */
export function uiAssets(): Map<string, Asset> {
  const files: Record<string, string> = {
    '': fromPage('index.html'),
    'app.js': fromPage('app.js'),
    'api.js': fromPage('api.js'),
    'topology.js': fromPage('topology.js'),
    'admin.js': fromPage('admin.js'),
    'style.css': fromPage('style.css'),
    'vendor/preact.mjs': fromPackage('preact'),
    'vendor/hooks.mjs': fromPackage('preact/hooks'),
    'vendor/htm.mjs': fromPackage('htm'),
  };
  return new Map(Object.entries(files).map(([url, file]) => [url, { file, type: TYPES[file.split('.').pop()!]! }]));
}

/** Reads each file once; the page's files change only with a new release. */
export function assetReader(assets: Map<string, Asset>): (url: string) => Promise<{ body: Buffer; type: string } | null> {
  const cache = new Map<string, Promise<Buffer>>();
  return async (url) => {
    const a = assets.get(url);
    if (!a) return null;
    let body = cache.get(url);
    if (!body) {
      body = readFile(a.file);
      cache.set(url, body);
      body.catch(() => cache.delete(url)); // a failed read is tried again next time
    }
    return { body: await body, type: a.type };
  };
}
