import { expect } from 'chai';
import { EventBus } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/log/logger.js';

describe('core/events', function () {
  it('delivers every event, in order, to every subscriber', async function () {
    const bus = new EventBus(silentLogger());
    const a = bus.subscribe();
    const b = bus.subscribe();
    bus.publish('created', 'c1', 'p1');
    bus.publish('started', 'c1', 'p1');
    for (const sub of [a, b]) {
      expect((await sub.next())?.type).to.equal('created');
      expect((await sub.next())?.type).to.equal('started');
    }
    const waiting = a.next();
    bus.publish('stopped', 'c1', 'p1');
    expect((await waiting)?.type).to.equal('stopped');
  });

  it('drops a subscriber that falls behind, without slowing the publisher', async function () {
    const bus = new EventBus(silentLogger(), 3);
    const slow = bus.subscribe();
    for (let i = 0; i < 10; i++) bus.publish('created', `c${i}`, 'p');
    expect(slow.dropped).to.match(/fell 3 events behind/);
    expect(bus.subscriberCount).to.equal(0);
    // What was queued before the drop can still be read; then the stream ends.
    const got: string[] = [];
    for (let e = await slow.next(); e; e = await slow.next()) got.push(e.id);
    expect(got).to.deep.equal(['c0', 'c1', 'c2']);
  });

  it('ends every stream on closeAll', async function () {
    const bus = new EventBus(silentLogger());
    const s = bus.subscribe();
    const pending = s.next();
    bus.closeAll();
    expect(await pending).to.equal(undefined);
    expect(s.dropped).to.equal(undefined);
  });
});
