import { expect } from 'chai';
import { CleanupStack } from '../../../src/core/cleanup-stack.js';
import { silentLogger } from '../../../src/log/logger.js';

describe('core/cleanup-stack', function () {
  it('undoes steps newest first when the operation fails, and rethrows the first error', async function () {
    const order: string[] = [];
    const stack = new CleanupStack(silentLogger());
    const err = await stack
      .run(async (s) => {
        s.push('a', () => void order.push('a'));
        s.push('b', () => void order.push('b'));
        s.push('c', async () => void order.push('c'));
        throw new Error('step 4 failed');
      })
      .catch((e: Error) => e);
    expect((err as Error).message).to.equal('step 4 failed');
    expect(order).to.deep.equal(['c', 'b', 'a']);
  });

  it('keeps going past an undo that fails, and reports it', async function () {
    const order: string[] = [];
    const stack = new CleanupStack(silentLogger());
    stack.push('a', () => void order.push('a'));
    stack.push('b', () => {
      throw new Error('undo b failed');
    });
    stack.push('c', () => void order.push('c'));
    const failures = await stack.unwind();
    expect(order).to.deep.equal(['c', 'a']);
    expect(failures.map((f) => f.message)).to.deep.equal(['undo b failed']);
  });

  it('gives every undo a fresh signal even when the operation was aborted', async function () {
    const stack = new CleanupStack(silentLogger());
    let seen: AbortSignal | undefined;
    stack.push('x', (signal) => void (seen = signal));
    await stack.unwind();
    expect(seen?.aborted).to.equal(false);
  });

  it('runs nothing on success', async function () {
    let undone = false;
    const stack = new CleanupStack(silentLogger());
    const v = await stack.run(async (s) => {
      s.push('a', () => void (undone = true));
      return 42;
    });
    expect(v).to.equal(42);
    expect(undone).to.equal(false);
    expect(stack.size).to.equal(0);
  });
});
