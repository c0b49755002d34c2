// HelperRunner: the daemon's helpers run from sealed copies of bytes taken once, a copy per start,
// so a change to the files on disk (or a container's handle on one copy) never reaches another start.
import { expect } from 'chai';
import { closeSync, constants, copyFileSync, openSync, readdirSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperRunner } from '../../../src/runtime/helper-exec.js';
import { backgroundContext } from '../../../src/core/context.js';
import { SkiffError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/log/logger.js';

const ctx = () => backgroundContext(silentLogger(), 5000);

describe('runtime/helper-exec', function () {
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'skiff-helpers-'));
    copyFileSync('/bin/echo', join(dir, 'skiff-echo'));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a sealed helper from the bytes it took, under its bare name, whatever the file on disk becomes', async function () {
    const helpers = HelperRunner.sealed(dir, ['echo']);
    const p = helpers.open('echo');
    try {
      expect(p.argv0).to.equal('skiff-echo');
      expect(p.file).to.equal(`/proc/self/fd/${p.fd}`);
      expect(p.fd).to.be.at.least(64);
      expect(readlinkSync(p.file)).to.equal('/memfd:skiff-echo (deleted)');
    } finally {
      p.close();
    }
    expect((await helpers.run(ctx(), 'echo', ['hello'])).stdout).to.equal('hello\n');
    copyFileSync('/bin/false', join(dir, 'replacement'));
    renameSync(join(dir, 'replacement'), join(dir, 'skiff-echo'));
    expect((await helpers.run(ctx(), 'echo', ['still the copy'])).stdout).to.equal('still the copy\n');
    // From disk, the same name now runs the replacement.
    const e = await new HelperRunner(dir).run(ctx(), 'echo', ['x']).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).message).to.match(/exit status 1/);
  });

  it('maps a helper\'s exit status to the error kind: 2 usage is InvalidArgument, 3 refused is FailedPrecondition, else Internal', async function () {
    const helpers = new HelperRunner(dir);
    for (const [status, kind] of [[2, 'InvalidArgument'], [3, 'FailedPrecondition'], [1, 'Internal']] as const) {
      writeFileSync(join(dir, `skiff-s${status}`), `#!/bin/sh\necho '[skiff-s${status}:e] mount /proc: refused' >&2\nexit ${status}\n`, { mode: 0o755 });
      const e = await helpers.run(ctx(), `s${status}`, []).catch((x: unknown) => x);
      expect(e, String(status)).to.be.instanceOf(SkiffError);
      expect((e as SkiffError).kind, String(status)).to.equal(kind);
      expect((e as SkiffError).message).to.equal(`skiff-s${status}: mount /proc: refused (exit status ${status})`);
    }
  });

  // A container that holds one copy open for writing must not stop the next start (ETXTBSY).
  it('gives every start a sealed, read-only copy of its own, and keeps none once closed or run', async function () {
    const helpers = HelperRunner.sealed(dir, ['echo']);
    const before = readdirSync('/proc/self/fd').length;
    const a = helpers.open('echo');
    const b = helpers.open('echo');
    const ino = (p: { file: string }) => statSync(p.file).ino;
    try {
      expect(a.fd).to.not.equal(b.fd);
      expect(ino(a)).to.not.equal(ino(b));
      expect(statSync(a.file).mode & 0o7777).to.equal(0o555);
      // A writer held on one copy (root may open it, whatever the mode) leaves the next start alone.
      const writer = openSync(a.file, constants.O_WRONLY);
      try {
        expect((await helpers.run(ctx(), 'echo', ['next'])).stdout).to.equal('next\n');
      } finally {
        closeSync(writer);
      }
    } finally {
      a.close();
      b.close();
      a.close(); // a second close is a no-op, not someone else's fd
    }
    expect(readdirSync('/proc/self/fd').length).to.equal(before);
  });

  it('runs an unsealed helper from its file, with the path as argv[0]', function () {
    const p = new HelperRunner(dir).open('echo');
    expect({ file: p.file, argv0: p.argv0, fd: p.fd }).to.deep.equal({ file: join(dir, 'skiff-echo'), argv0: join(dir, 'skiff-echo'), fd: undefined });
    expect(new HelperRunner(dir).argv0('echo')).to.equal(join(dir, 'skiff-echo'));
  });

  it('never falls back to the file for a helper it did not seal', function () {
    const helpers = HelperRunner.sealed(dir, ['echo']);
    let e: unknown;
    try {
      helpers.open('init');
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).kind).to.equal('Internal');
  });

  it('is Unavailable when a helper is missing, and keeps no copy of the others open', function () {
    const before = readdirSync('/proc/self/fd').length;
    let e: unknown;
    try {
      HelperRunner.sealed(dir, ['echo', 'missing']);
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(SkiffError);
    expect((e as SkiffError).kind).to.equal('Unavailable');
    expect((e as SkiffError).message).to.match(/skiff-missing is missing/);
    expect(readdirSync('/proc/self/fd').length).to.equal(before);
  });
});
