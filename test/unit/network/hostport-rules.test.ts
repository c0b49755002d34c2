import { expect } from 'chai';
import {
  checkConflicts, checkChainPrefix, firewallRules, hostportRules, jumpFixes, jumpRemovals, jumpRules, normalizeMappings,
  parseIptablesSave, podChain, savedChains, type PodPorts,
} from '../../../src/network/hostport-rules.js';
import { SkiffError } from '../../../src/core/errors.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const opts = { chainPrefix: 'SKIFF', subnet: '10.88.0.0/16' };

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as SkiffError).kind;
  }
  return 'none';
}

describe('network/hostport-rules', function () {
  it('names a pod chain by a hash of the sandbox id, short enough for iptables', function () {
    const c = podChain('SKIFF', A);
    expect(c).to.match(/^SKIFF-HP-[0-9a-f]{10}$/);
    expect(c).to.equal(podChain('SKIFF', A));
    expect(c).to.not.equal(podChain('SKIFF', B));
    expect(`${'ABCDEFGHIJ'}-POSTROUTING`.length).to.be.at.most(28);
    expect(() => checkChainPrefix('ABCDEFGHIJK')).to.throw();
    expect(() => checkChainPrefix('skiff')).to.throw();
  });

  it('generates the full nat transaction for two pods', function () {
    const pods: PodPorts[] = [
      { sandboxId: A, podIP: '10.88.0.2', mappings: [{ protocol: 'TCP', hostPort: 8080, containerPort: 80 }] },
      {
        sandboxId: B,
        podIP: '10.88.0.3',
        mappings: [{ protocol: 'UDP', hostPort: 5353, containerPort: 53, hostIP: '192.0.2.10' }],
      },
    ];
    const ca = podChain('SKIFF', A);
    const cb = podChain('SKIFF', B);
    expect(hostportRules(pods, opts)).to.equal(
      [
        '*nat',
        ':SKIFF-HOSTPORTS - [0:0]',
        ':SKIFF-POSTROUTING - [0:0]',
        ':SKIFF-MARK-MASQ - [0:0]',
        `:${ca} - [0:0]`,
        `:${cb} - [0:0]`,
        '-A SKIFF-MARK-MASQ -j MARK --set-xmark 0x2000/0x2000',
        '-A SKIFF-POSTROUTING -m mark --mark 0x2000/0x2000 -j MASQUERADE',
        '-A SKIFF-POSTROUTING -s 10.88.0.0/16 -d 224.0.0.0/4 -j RETURN',
        '-A SKIFF-POSTROUTING -s 10.88.0.0/16 ! -d 10.88.0.0/16 -j MASQUERADE',
        `-A SKIFF-HOSTPORTS -p tcp -m tcp --dport 8080 -m comment --comment "sandbox ${A}" -j ${ca}`,
        `-A ${ca} -s 10.88.0.0/16 -p tcp -m tcp --dport 8080 -j SKIFF-MARK-MASQ`,
        `-A ${ca} -s 127.0.0.0/8 -p tcp -m tcp --dport 8080 -j SKIFF-MARK-MASQ`,
        `-A ${ca} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80`,
        `-A SKIFF-HOSTPORTS -d 192.0.2.10/32 -p udp -m udp --dport 5353 -m comment --comment "sandbox ${B}" -j ${cb}`,
        `-A ${cb} -s 10.88.0.0/16 -d 192.0.2.10/32 -p udp -m udp --dport 5353 -j SKIFF-MARK-MASQ`,
        `-A ${cb} -s 127.0.0.0/8 -d 192.0.2.10/32 -p udp -m udp --dport 5353 -j SKIFF-MARK-MASQ`,
        `-A ${cb} -d 192.0.2.10/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.88.0.3:53`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('removes a pod by rebuilding without it and deleting its chain in the same transaction', function () {
    const ca = podChain('SKIFF', A);
    const text = hostportRules([], opts, [ca]);
    const lines = text.split('\n');
    expect(lines).to.include(`:${ca} - [0:0]`);
    expect(lines.at(-3)).to.equal(`-X ${ca}`);
    expect(text).to.not.contain('DNAT');
    // The masquerade of pod traffic stays when no pod has host ports.
    expect(text).to.contain('-A SKIFF-POSTROUTING -s 10.88.0.0/16 ! -d 10.88.0.0/16 -j MASQUERADE');
  });

  it('honours another chain prefix and mark', function () {
    const text = hostportRules([], { chainPrefix: 'SKT1', subnet: '10.9.9.0/24', masqMark: 0x4000 });
    expect(text).to.contain(':SKT1-HOSTPORTS - [0:0]');
    expect(text).to.contain('-A SKT1-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
    expect(text).to.not.contain('SKIFF');
  });

  describe('normalizeMappings', function () {
    it('drops hostPort 0 and exact duplicates, upper-cases protocols, forgets wildcard host IPs', function () {
      expect(
        normalizeMappings('10.88.0.2', [
          { protocol: 'TCP', hostPort: 0, containerPort: 80 },
          { protocol: 'tcp' as 'TCP', hostPort: 80, containerPort: 8080, hostIP: '0.0.0.0' },
          { protocol: 'TCP', hostPort: 80, containerPort: 8080 },
          { protocol: 'UDP', hostPort: 80, containerPort: 8080, hostIP: '' },
          { protocol: 'SCTP', hostPort: 9, containerPort: 9, hostIP: '::' },
        ]),
      ).to.deep.equal([
        { protocol: 'TCP', hostPort: 80, containerPort: 8080 },
        { protocol: 'UDP', hostPort: 80, containerPort: 8080 },
        { protocol: 'SCTP', hostPort: 9, containerPort: 9 },
      ]);
      expect(normalizeMappings('fd00::2', [{ protocol: 'TCP', hostPort: 0, containerPort: 80 }])).to.deep.equal([]);
    });

    const bad: [string, Parameters<typeof normalizeMappings>[1], string?][] = [
      ['port 65536', [{ protocol: 'TCP', hostPort: 65536, containerPort: 80 }]],
      ['negative port', [{ protocol: 'TCP', hostPort: -1, containerPort: 80 }]],
      ['container port 0', [{ protocol: 'TCP', hostPort: 80, containerPort: 0 }]],
      ['fractional port', [{ protocol: 'TCP', hostPort: 80.5, containerPort: 80 }]],
      ['unknown protocol', [{ protocol: 'ICMP' as 'TCP', hostPort: 80, containerPort: 80 }]],
      ['IPv6 host IP', [{ protocol: 'TCP', hostPort: 80, containerPort: 80, hostIP: 'fd00::1' }]],
      ['garbage host IP', [{ protocol: 'TCP', hostPort: 80, containerPort: 80, hostIP: '1.2.3.4 -j ACCEPT' }]],
      ['one port, two targets', [
        { protocol: 'TCP', hostPort: 80, containerPort: 80 },
        { protocol: 'TCP', hostPort: 80, containerPort: 81, hostIP: '192.0.2.1' },
      ]],
      ['IPv6 pod', [{ protocol: 'TCP', hostPort: 80, containerPort: 80 }], 'fd00::2'],
    ];
    for (const [name, mappings, ip] of bad) {
      it(`rejects ${name} as InvalidArgument`, function () {
        expect(kindOf(() => normalizeMappings(ip ?? '10.88.0.2', mappings))).to.equal('InvalidArgument');
      });
    }
  });

  describe('checkConflicts', function () {
    const holder: PodPorts = {
      sandboxId: A,
      podIP: '10.88.0.2',
      mappings: [
        { protocol: 'TCP', hostPort: 80, containerPort: 80 },
        { protocol: 'UDP', hostPort: 53, containerPort: 53, hostIP: '192.0.2.1' },
      ],
    };
    const table: [string, PodPorts['mappings'], string][] = [
      ['same port and protocol', [{ protocol: 'TCP', hostPort: 80, containerPort: 8080 }], 'FailedPrecondition'],
      ['a specific IP under a wildcard', [{ protocol: 'TCP', hostPort: 80, containerPort: 1, hostIP: '192.0.2.9' }], 'FailedPrecondition'],
      ['a wildcard over a specific IP', [{ protocol: 'UDP', hostPort: 53, containerPort: 53 }], 'FailedPrecondition'],
      ['another protocol', [{ protocol: 'UDP', hostPort: 80, containerPort: 80 }], 'none'],
      ['another host IP', [{ protocol: 'UDP', hostPort: 53, containerPort: 53, hostIP: '192.0.2.2' }], 'none'],
      ['another port', [{ protocol: 'TCP', hostPort: 81, containerPort: 80 }], 'none'],
    ];
    for (const [name, mappings, kind] of table) {
      it(`${kind === 'none' ? 'allows' : 'refuses'} ${name}`, function () {
        expect(kindOf(() => checkConflicts([holder], { sandboxId: B, podIP: '10.88.0.3', mappings }))).to.equal(kind);
      });
    }
    it('lets a pod replace its own mappings and names the holder', function () {
      expect(kindOf(() => checkConflicts([holder], { ...holder, podIP: '10.88.0.2' }))).to.equal('none');
      expect(() => checkConflicts([holder], { sandboxId: B, podIP: '10.88.0.3', mappings: holder.mappings })).to.throw(
        /host port 80\/TCP is already in use by pod sandbox aaaaaaaaaaaaa/,
      );
    });
  });

  describe('built-in chain jumps from iptables-save', function () {
    const SAVE = [
      '# Generated by iptables-save v1.8.9 (nf_tables)',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':SKIFF-FIREWALL - [0:0]',
      '-A INPUT -j SKIFF-FIREWALL',
      '-A SKIFF-FIREWALL -i skiff0 ! -s 127.0.0.0/8 -d 127.0.0.0/8 -j DROP',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':SKIFF-HOSTPORTS - [0:0]',
      `:${podChain('SKIFF', A)} - [0:0]`,
      ':SKIFF-HOSTPORTSX - [0:0]',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
      '-A OUTPUT -j SKIFF-HOSTPORTSX',
      '-A POSTROUTING -j KUBE-POSTROUTING',
      'COMMIT',
    ].join('\n');

    it('inserts missing jumps once and deletes extra copies', function () {
      const fixes = jumpFixes(parseIptablesSave(SAVE), jumpRules('SKIFF'));
      expect(fixes.get('nat')).to.deep.equal([
        '-D PREROUTING -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
        '-I OUTPUT 1 -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
        '-I POSTROUTING 1 -j SKIFF-POSTROUTING',
      ]);
      expect(fixes.get('filter')).to.deep.equal([]);
    });

    it('lists our chains and the jumps to remove on uninstall', function () {
      const saved = parseIptablesSave(SAVE);
      expect(savedChains(saved, 'nat', 'SKIFF-HP')).to.deep.equal([podChain('SKIFF', A)]);
      expect(savedChains(saved, 'nat', 'SKIFF')).to.have.length(3);
      expect(jumpRemovals(saved, 'nat', 'SKIFF')).to.deep.equal([
        '-D PREROUTING -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
        '-D PREROUTING -m addrtype --dst-type LOCAL -j SKIFF-HOSTPORTS',
        '-D OUTPUT -j SKIFF-HOSTPORTSX',
      ]);
      expect(jumpRemovals(saved, 'filter', 'SKIFF')).to.deep.equal(['-D INPUT -j SKIFF-FIREWALL']);
    });

    it('keeps pods off the host loopback through the bridge', function () {
      expect(firewallRules('SKIFF', 'skiff0')).to.deep.equal([
        ':SKIFF-FIREWALL - [0:0]',
        '-A SKIFF-FIREWALL -i skiff0 ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
      ]);
    });
  });
});
