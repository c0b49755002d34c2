// /proc/net/dev parsing, and the netlink IFLA_STATS64 decoding, without a kernel.
import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import type { NetlinkMessage } from '../../../src/network/netlink/codec.js';
import { parseLinkStats, parseNetDev, readPidNetStats } from '../../../src/network/net-stats.js';

const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 8699021102  313038    0    0    0     0          0         0 8699021102  313038    0    0    0     0       0          0
  eth0: 478185628   19083    3    0    0     0          0         0  1557107   13587    4    0    0     0       0          0
veth-long-name:18446744073709551615 1 2 3 4 5 6 7 1234 5 6 7 8 9 10 11
  bad: 1 2 3
`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('network/net-stats', function () {
  it('parses /proc/net/dev: bytes, packets, errors and drops per interface, lo and malformed lines left out', function () {
    expect(parseNetDev(SAMPLE)).to.deep.equal([
      { name: 'eth0', rxBytes: 478185628n, rxPackets: 19083n, rxErrors: 3n, rxDropped: 0n, txBytes: 1557107n, txPackets: 13587n, txErrors: 4n, txDropped: 0n },
      // No space after the colon and a counter beyond 2^53: still exact.
      { name: 'veth-long-name', rxBytes: 18446744073709551615n, rxPackets: 1n, rxErrors: 2n, rxDropped: 3n, txBytes: 1234n, txPackets: 5n, txErrors: 6n, txDropped: 7n },
    ]);
    expect(parseNetDev('')).to.deep.equal([]);
  });

  it('reads /proc/self/net/dev of this process, without lo', function () {
    const stats = readPidNetStats(process.pid);
    expect(stats.map((s) => s.name)).to.not.include('lo');
    for (const s of stats) expect(typeof s.rxBytes).to.equal('bigint');
  });

  it('is NotFound for a process that does not exist', function () {
    expect(isKind(thrown(() => readPidNetStats(0x3fffffff)), 'NotFound')).to.equal(true);
  });

  it('decodes IFLA_STATS64 from a link reply', function () {
    const nameAttr = Buffer.alloc(12);
    nameAttr.writeUInt16LE(4 + 5, 0);
    nameAttr.writeUInt16LE(3, 2); // IFLA_IFNAME
    nameAttr.write('eth0\0', 4);
    const stats = Buffer.alloc(4 + 24 * 8);
    stats.writeUInt16LE(stats.length, 0);
    stats.writeUInt16LE(23, 2); // IFLA_STATS64
    const field = (i: number, v: bigint) => stats.writeBigUInt64LE(v, 4 + i * 8);
    field(0, 11n); // rx_packets
    field(1, 12n); // tx_packets
    field(2, 1000n); // rx_bytes
    field(3, 2000n); // tx_bytes
    field(4, 5n); // rx_errors
    field(5, 6n); // tx_errors
    field(6, 7n); // rx_dropped
    field(7, 8n); // tx_dropped
    const m: NetlinkMessage = { type: 16, flags: 0, seq: 1, pid: 0, payload: Buffer.concat([Buffer.alloc(16), nameAttr, stats]) };
    expect(parseLinkStats(m)).to.deep.equal({
      name: 'eth0', rxBytes: 1000n, rxPackets: 11n, rxErrors: 5n, rxDropped: 7n, txBytes: 2000n, txPackets: 12n, txErrors: 6n, txDropped: 8n,
    });
    const noStats: NetlinkMessage = { ...m, payload: Buffer.concat([Buffer.alloc(16), nameAttr]) };
    expect(parseLinkStats(noStats)).to.equal(undefined);
  });
});
