#!/usr/bin/env node
// Regenerates src/generated/ from proto/ with protoc and ts-proto. `--out DIR` writes elsewhere
// (the staleness test compares a fresh generation with the committed one).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = outArg >= 0 ? resolve(process.argv[outArg + 1]) : join(top, 'src/generated');

// bigint for int64 (CRI timestamps are nanoseconds); grpc-js service definitions and clients;
// ".js" import suffixes because the project is an ES module.
export const TS_PROTO_OPTS = [
  'forceLong=bigint',
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'env=node',
  'useOptionals=none',
  'outputJsonMethods=false',
  'outputPartialMethods=true',
].join(',');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(
  'protoc',
  [
    `--plugin=protoc-gen-ts_proto=${join(top, 'node_modules/.bin/protoc-gen-ts_proto')}`,
    `--ts_proto_out=${out}`,
    `--ts_proto_opt=${TS_PROTO_OPTS}`,
    `-I${join(top, 'proto')}`,
    join(top, 'proto/runtime/v1/api.proto'),
    join(top, 'proto/skiff/v1/admin.proto'),
  ],
  { stdio: 'inherit' },
);
