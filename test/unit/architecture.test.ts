// The dependency rules of DESIGN.md, checked on the sources: no import cycles, no upward imports,
// koffi only in src/sys/, child_process only in src/runtime/.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(TOP, 'src');

type Layer = 'main' | 'cri' | 'core' | 'mid' | 'sys' | 'shared' | 'generated';

const MID = ['oci', 'runtime', 'namespaces', 'cgroups', 'seccomp', 'network', 'storage', 'streaming', 'state'];
/** Small, dependency-free pieces of core/ that every layer may use (DESIGN.md names errors.ts). */
const SHARED_CORE = ['core/errors.ts', 'core/ids.ts', 'core/context.ts', 'core/cleanup-stack.ts', 'core/keyed-mutex.ts'];

export function layerOf(rel: string): Layer {
  if (['main.ts', 'cli.ts', 'compose.ts', 'compose-sandboxes.ts', 'images-cli.ts'].includes(rel)) return 'main';
  if (SHARED_CORE.includes(rel)) return 'shared';
  const top = rel.split('/')[0] ?? '';
  if (top === 'cri') return 'cri';
  if (top === 'core') return 'core';
  if (top === 'sys') return 'sys';
  if (top === 'generated') return 'generated';
  if (['config', 'log', 'util'].includes(top)) return 'shared';
  if (MID.includes(top)) return 'mid';
  throw new Error(`src/${rel} is in no layer of DESIGN.md`);
}

const ALLOWED: Record<Layer, Layer[]> = {
  main: ['main', 'cri', 'core', 'mid', 'sys', 'shared', 'generated'],
  cri: ['cri', 'core', 'shared', 'generated'],
  core: ['core', 'mid', 'sys', 'shared'],
  mid: ['mid', 'sys', 'shared'],
  sys: ['sys', 'shared'],
  shared: ['shared'],
  generated: ['generated'],
};

interface Import {
  readonly spec: string;
  readonly typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4];
    if (spec) out.push({ spec, typeOnly: m[2] !== undefined });
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return resolve(dirname(from), spec.replace(/\.js$/, '.ts'));
}

const files = sources(SRC);
const graph = new Map<string, { local: string[]; all: Import[] }>();
for (const f of files) {
  const all = importsOf(f);
  const local = all.filter((i) => !i.typeOnly).flatMap((i) => resolveLocal(f, i.spec) ?? []);
  graph.set(f, { local, all });
}
const rel = (f: string) => relative(SRC, f);

describe('architecture', function () {
  it('finds the sources', function () {
    expect(files.length).to.be.greaterThan(20);
  });

  it('has every source file in a layer', function () {
    for (const f of files) expect(() => layerOf(rel(f)), rel(f)).to.not.throw();
  });

  it('imports only downwards (cri → core → mid → sys; shared from anywhere)', function () {
    const bad: string[] = [];
    for (const [f, { all }] of graph) {
      const from = layerOf(rel(f));
      for (const i of all) {
        const target = resolveLocal(f, i.spec);
        if (!target) continue;
        const to = layerOf(rel(target));
        if (!ALLOWED[from].includes(to)) bad.push(`src/${rel(f)} (${from}) imports src/${rel(target)} (${to})`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it('imports koffi only in src/sys/ and child_process only in src/runtime/', function () {
    const bad: string[] = [];
    for (const [f, { all }] of graph) {
      const r = rel(f);
      for (const i of all) {
        if (i.spec === 'koffi' && !r.startsWith('sys/')) bad.push(`src/${r} imports koffi`);
        if (/^(node:)?child_process$/.test(i.spec) && !r.startsWith('runtime/')) bad.push(`src/${r} imports child_process`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it('has no import cycles', function () {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'visiting');
      stack.push(f);
      for (const next of graph.get(f)?.local ?? []) {
        if (state.get(next) === 'visiting') {
          cycles.push(stack.slice(stack.indexOf(next)).concat(next).map(rel).join(' → '));
        } else if (!state.has(next) && graph.has(next)) visit(next);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).to.deep.equal([]);
  });

  it('resolves every relative import to a file that exists', function () {
    const missing: string[] = [];
    for (const [f, { all }] of graph) {
      for (const i of all) {
        const t = resolveLocal(f, i.spec);
        if (t && !graph.has(t)) missing.push(`src/${rel(f)} → ${i.spec}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
