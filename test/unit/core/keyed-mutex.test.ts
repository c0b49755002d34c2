import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedMutex, SingleFlight } from '../../../src/core/keyed-mutex.js';

describe('core/keyed-mutex', function () {
  it('runs calls for one key one after another, in arrival order', async function () {
    const m = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string, ms: number) =>
      m.run('k', async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
      });
    await Promise.all([task('a', 20), task('b', 1), task('c', 5)]);
    expect(log).to.deep.equal(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(m.isLocked('k')).to.equal(false);
  });

  it('runs calls for different keys concurrently', async function () {
    const m = new KeyedMutex();
    const log: string[] = [];
    await Promise.all([
      m.run('x', async () => {
        log.push('x+');
        await sleep(20);
        log.push('x-');
      }),
      m.run('y', async () => {
        log.push('y+');
        await sleep(1);
        log.push('y-');
      }),
    ]);
    expect(log).to.deep.equal(['x+', 'y+', 'y-', 'x-']);
  });

  it('releases the key when the call throws', async function () {
    const m = new KeyedMutex();
    await m.run('k', async () => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(await m.run('k', async () => 1)).to.equal(1);
  });

  it('shares one execution among concurrent callers of one key', async function () {
    const sf = new SingleFlight<string, number>();
    let runs = 0;
    const fn = async () => {
      runs++;
      await sleep(10);
      return 7;
    };
    const results = await Promise.all([sf.run('a', fn), sf.run('a', fn), sf.run('a', fn)]);
    expect(results).to.deep.equal([7, 7, 7]);
    expect(runs).to.equal(1);
    expect(sf.has('a')).to.equal(false);
    await sf.run('a', fn);
    expect(runs).to.equal(2);
  });
});
