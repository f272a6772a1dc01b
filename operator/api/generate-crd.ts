#!/usr/bin/env node
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { CRD_FILE, crdYaml } from './crd.js';

// `node dist/operator/api/generate-crd.js [--check]`: writes crds/hzzanalyses.hzz.opendata.dev.yaml
// from the TypeBox schema; with --check it only says whether the committed file is up to date
// (exit 1 if not), for CI.
const text = crdYaml();
const shown = relative(process.cwd(), CRD_FILE);
const current = existsSync(CRD_FILE) ? readFileSync(CRD_FILE, 'utf8') : undefined;
if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write(`${shown} is stale: run \`npm run gen:crd\`\n`);
    process.exit(1);
  }
  process.stderr.write(`${shown} is up to date\n`);
} else if (current === text) {
  process.stderr.write(`${shown} unchanged\n`);
} else {
  mkdirSync(dirname(CRD_FILE), { recursive: true });
  writeFileSync(CRD_FILE, text);
  process.stderr.write(`wrote ${shown}\n`);
}
