import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ipam, formatIp, parseIp, parseSubnet } from '../../../src/network/ipam.js';
import { backgroundContext } from '../../../src/core/context.js';
import { SkiffError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/log/logger.js';

const ctx = backgroundContext(silentLogger());

describe('network/ipam', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'skiff-ipam-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  describe('address arithmetic', function () {
    const table: [string, string][] = [
      ['10.88.0.1', '10.88.0.1'],
      ['255.255.255.255', '255.255.255.255'],
      ['fd00::1', 'fd00::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, want] of table) {
      it(`round-trips ${input}`, function () {
        const ip = parseIp(input);
        expect(ip).to.not.equal(undefined);
        expect(formatIp(ip!.value, ip!.family)).to.equal(want);
      });
    }
    it('rejects non-addresses and clears host bits of subnets', function () {
      expect(parseIp('10.0.0')).to.equal(undefined);
      expect(parseIp('last_reserved_ip.0')).to.equal(undefined);
      expect(parseSubnet('10.88.3.4/16').text).to.equal('10.88.0.0/16');
      expect(parseSubnet('fd00::5/64').text).to.equal('fd00::/64');
      expect(() => parseSubnet('10.0.0.0/31')).to.throw(/no address for pods/);
      expect(() => parseSubnet('10.0.0.0')).to.throw(/not a CIDR/);
    });
  });

  it('hands out addresses from .2, with gateway .1 and the prefix', async function () {
    const ipam = new Ipam(dir, '10.88.0.0/16');
    expect(await ipam.allocate(ctx, 'pod-a')).to.deep.equal({ address: '10.88.0.2', prefix: 16, gateway: '10.88.0.1', family: 4 });
    expect(await ipam.allocate(ctx, 'pod-b')).to.include({ address: '10.88.0.3' });
    expect(await readFile(join(dir, '10.88.0.2'), 'utf8')).to.equal('pod-a');
    expect(await readFile(join(dir, 'last_reserved_ip.0'), 'utf8')).to.equal('10.88.0.3');
  });

  it('returns the same address when one owner asks twice', async function () {
    const ipam = new Ipam(dir, '10.88.0.0/24');
    const [a, b] = await Promise.all([ipam.allocate(ctx, 'pod-a'), ipam.allocate(ctx, 'pod-a')]);
    expect(a).to.deep.equal(b);
    expect(await ipam.allocate(ctx, 'pod-a')).to.deep.equal(a);
    expect(await ipam.owned('pod-a')).to.deep.equal([a.address]);
  });

  it('never hands out one address twice, even to concurrent callers of two allocators on one dir', async function () {
    const one = new Ipam(dir, '10.88.0.0/24');
    const two = new Ipam(dir, '10.88.0.0/24');
    const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? one : two).allocate(ctx, `pod-${i}`));
    const results = await Promise.allSettled(calls);
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.address] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as SkiffError] : []));
    // A /24 has 253 usable addresses: all 200 fit, none twice.
    expect(failed.map((e) => e.message)).to.deep.equal([]);
    expect(new Set(ok).size).to.equal(200);
    const files = (await readdir(dir)).filter((n) => n !== 'last_reserved_ip.0');
    expect(files).to.have.length(200);
    const owners = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
    expect(new Set(owners).size).to.equal(200);
  });

  it('goes round-robin: a freed address is not reused at once, even by a new allocator', async function () {
    const ipam = new Ipam(dir, '10.1.0.0/29'); // .1 gateway, .2-.6 usable, .7 broadcast
    const a = await ipam.allocate(ctx, 'a');
    await ipam.allocate(ctx, 'b');
    expect(await ipam.release(ctx, 'a')).to.deep.equal([a.address]);
    expect((await ipam.allocate(ctx, 'c')).address).to.equal('10.1.0.4');
    const again = new Ipam(dir, '10.1.0.0/29');
    expect((await again.allocate(ctx, 'd')).address).to.equal('10.1.0.5');
    expect((await again.allocate(ctx, 'e')).address).to.equal('10.1.0.6');
    // Wraps around past the broadcast and network addresses to the freed .2.
    expect((await again.allocate(ctx, 'f')).address).to.equal('10.1.0.2');
  });

  it('is ResourceExhausted when full, and skips reserved addresses', async function () {
    const ipam = new Ipam(dir, '10.1.0.0/29', { reserved: ['10.1.0.3'] });
    const got = [];
    for (const o of ['a', 'b', 'c', 'd']) got.push((await ipam.allocate(ctx, o)).address);
    expect(got).to.deep.equal(['10.1.0.2', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
    try {
      await ipam.allocate(ctx, 'e');
      expect.fail('allocated from a full subnet');
    } catch (e) {
      expect((e as SkiffError).kind).to.equal('ResourceExhausted');
    }
    await ipam.release(ctx, 'c');
    expect((await ipam.allocate(ctx, 'e')).address).to.equal('10.1.0.5');
  });

  it('sees addresses freed by another process when it seemed full', async function () {
    const ipam = new Ipam(dir, '10.1.0.0/30'); // only .2
    await ipam.allocate(ctx, 'a');
    await rm(join(dir, '10.1.0.2'));
    expect((await ipam.allocate(ctx, 'b')).address).to.equal('10.1.0.2');
  });

  it('releases idempotently and only what the owner holds', async function () {
    const ipam = new Ipam(dir, '10.88.0.0/24');
    await ipam.allocate(ctx, 'a');
    const b = await ipam.allocate(ctx, 'b');
    expect(await ipam.release(ctx, 'a')).to.deep.equal(['10.88.0.2']);
    expect(await ipam.release(ctx, 'a')).to.deep.equal([]);
    expect(await ipam.release(ctx, 'nobody')).to.deep.equal([]);
    expect(Object.fromEntries(await ipam.list())).to.deep.equal({ [b.address]: 'b' });
  });

  it('does not free a file another owner took over behind its back', async function () {
    const ipam = new Ipam(dir, '10.88.0.0/24');
    const a = await ipam.allocate(ctx, 'a');
    await writeFile(join(dir, a.address), 'other');
    expect(await ipam.release(ctx, 'a')).to.deep.equal([]);
    expect(await readFile(join(dir, a.address), 'utf8')).to.equal('other');
  });

  it('reconciles at start-up: frees owners that are gone, keeps the live ones and other files', async function () {
    const first = new Ipam(dir, '10.88.0.0/24');
    await first.allocate(ctx, 'live');
    await first.allocate(ctx, 'dead-1');
    await first.allocate(ctx, 'dead-2');
    await writeFile(join(dir, 'notes.txt'), 'not an allocation');
    await writeFile(join(dir, '10.99.0.7'), 'dead-3'); // from an older subnet
    const after = new Ipam(dir, '10.88.0.0/24');
    const freed = await after.reconcile(ctx, new Set(['live']));
    expect(freed.map((f) => f.owner).sort()).to.deep.equal(['dead-1', 'dead-2', 'dead-3']);
    expect((await readdir(dir)).sort()).to.deep.equal(['10.88.0.2', 'last_reserved_ip.0', 'notes.txt']);
    expect(await after.owned('live')).to.deep.equal(['10.88.0.2']);
    // Round-robin survives the restart.
    expect((await after.allocate(ctx, 'new')).address).to.equal('10.88.0.5');
  });

  it('works for IPv6 subnets', async function () {
    const ipam = new Ipam(dir, 'fd00:88::/64');
    expect(await ipam.allocate(ctx, 'a')).to.deep.equal({ address: 'fd00:88::2', prefix: 64, gateway: 'fd00:88::1', family: 6 });
    expect((await ipam.allocate(ctx, 'b')).address).to.equal('fd00:88::3');
  });

  it('checks its options', function () {
    expect(() => new Ipam(dir, '10.88.0.0/16', { gateway: '10.89.0.1' })).to.throw(/not an address in 10.88.0.0\/16/);
    expect(() => new Ipam(dir, 'nonsense')).to.throw(SkiffError);
    expect(new Ipam(dir, '10.88.0.0/16', { gateway: '10.88.255.254' }).gateway).to.equal('10.88.255.254');
  });
});
