#!/usr/bin/env node
// Runs every bench/*.bench.ts one after another (benchmarks must not share the CPU). `npm run bench -- smtp` filters.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const filter = process.argv.slice(2);
let files = readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `bench/${f}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
