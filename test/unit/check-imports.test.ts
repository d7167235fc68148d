// scripts/check-imports.mjs (run by `npm run check`) on small made-up trees: it must see every
// form of import, type-only ones included, and refuse what it cannot read rather than skip it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/unit/; the script is plain JS, so it is loaded by path, untyped.
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'check-imports.mjs');
const { check } = (await import(script)) as { check(srcDir: string): string[] };

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'check-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
    writeFileSync(join(root, 'src', path), text);
  }
  return root;
}

test('reports each downward-rule break with file, line and specifier, type-only and re-exports included', () => {
  const root = tree({
    'core/a.ts': "import type { Def } from '../definitions/d.js';\nexport const a = 1;\n",
    'definitions/d.ts': "import { a } from '../core/a.js';\nexport { x } from '../ipam/x.js';\nexport * from '../api/r.js';\n",
    'agents/g.ts': "import {\n  type P,\n  q,\n} from '../plugins/p.js';\nconst m = await import('../dataplane/m.js');\n",
    'plugins/p.ts': "import '../api/side.js';\ntype R = import('../server/s.js').S;\nimport { ok } from './local.js';\n",
    'server/s.ts': "import { c } from '../cli/c.js';\nimport { z } from '../api/z.js';\n",
    'cli.ts': "import { s } from './server/s.js';\n",
  });
  try {
    assert.deepEqual(check(join(root, 'src')), [
      "src/agents/g.ts:1 → '../plugins/p.js' (agents/ may not import plugins)",
      "src/core/a.ts:1 → '../definitions/d.js' (core/ may not import definitions)",
      "src/definitions/d.ts:3 → '../api/r.js' (definitions/ may not import api)",
      "src/plugins/p.ts:1 → '../api/side.js' (plugins/ may not import api)",
      "src/plugins/p.ts:2 → '../server/s.js' (plugins/ may not import server)",
      "src/server/s.ts:1 → '../cli/c.js' (server/ may not import cli)",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an import it cannot parse and a folder without a rule fail instead of passing silently', () => {
  const root = tree({
    'core/a.ts': "import {\n  b, // why\n} from '../api/b.js';\nexport { a, b };\n",
    'newlayer/n.ts': 'export const n = 1;\n',
  });
  try {
    assert.deepEqual(check(join(root, 'src')), [
      "src/core/a.ts:1: cannot read this import/export; write it as `import … from '…'` on its own",
      "src/newlayer/n.ts: no layer rule for 'newlayer'; add it to LAYERS in scripts/check-imports.mjs",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
