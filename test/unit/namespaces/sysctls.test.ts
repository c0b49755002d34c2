import { expect } from 'chai';
import { isKind, type SkiffError } from '../../../src/core/errors.js';
import {
  normalizeSysctlName,
  sysctlNamespace,
  validatePodSysctls,
} from '../../../src/namespaces/sysctls.js';

const POD = { hostNetwork: false, hostIpc: false };

function rejection(sysctls: Record<string, string>, opts = POD): SkiffError | undefined {
  try {
    validatePodSysctls(sysctls, opts);
    return undefined;
  } catch (e) {
    return e as SkiffError;
  }
}

describe('namespaces/sysctls', function () {
  it('normalises keys to dots the way Kubernetes does', function () {
    const table: [string, string][] = [
      ['net.ipv4.ip_forward', 'net.ipv4.ip_forward'],
      ['net/ipv4/ip_forward', 'net.ipv4.ip_forward'],
      ['net/ipv4/conf/eth0.100/rp_filter', 'net.ipv4.conf.eth0/100.rp_filter'],
      ['net.ipv4.conf.eth0/100.rp_filter', 'net.ipv4.conf.eth0/100.rp_filter'],
      ['kernel.sem', 'kernel.sem'],
      ['nosep', 'nosep'],
    ];
    for (const [key, want] of table) expect(normalizeSysctlName(key), key).to.equal(want);
  });

  it('knows which namespace holds each sysctl', function () {
    const table: [string, string | undefined][] = [
      ['net.core.somaxconn', 'net'],
      ['net.ipv4.conf.eth0/100.rp_filter', 'net'],
      ['kernel.shmmax', 'ipc'],
      ['kernel.shm_rmid_forced', 'ipc'],
      ['kernel.msgmnb', 'ipc'],
      ['kernel.sem', 'ipc'],
      ['fs.mqueue.msg_max', 'ipc'],
      ['kernel.sem_next_id', undefined],
      ['kernel.hostname', undefined],
      ['vm.swappiness', undefined],
      ['fs.mqueue', undefined],
      ['network.x', undefined],
    ];
    for (const [name, want] of table) expect(sysctlNamespace(name), name).to.equal(want);
  });

  it('accepts namespaced sysctls with either separator', function () {
    expect(
      rejection({
        'net.ipv4.ip_unprivileged_port_start': '0',
        'net/ipv4/ip_local_port_range': '32768 60999',
        'net/ipv4/conf/eth0.100/rp_filter': '1',
        'kernel.shmmni': '1234',
        'kernel.msgmax': '8192',
        'kernel.sem': '250 32000 100 128',
        'fs.mqueue.queues_max': '300',
      }),
    ).to.equal(undefined);
    expect(rejection({})).to.equal(undefined);
  });

  it('rejects everything else with InvalidArgument naming the key', function () {
    const hostNet = { hostNetwork: true, hostIpc: false };
    const hostIpc = { hostNetwork: false, hostIpc: true };
    const table: [Record<string, string>, RegExp, typeof POD?][] = [
      [{ 'vm.swappiness': '10' }, /^sysctl vm\.swappiness: not a namespaced sysctl/],
      [{ 'kernel.hostname': 'x' }, /^sysctl kernel\.hostname: not a namespaced/],
      [{ 'kernel.sem_next_id': '1' }, /kernel\.sem_next_id: not a namespaced/],
      [{ 'net.ipv4.ip_forward': '1' }, /^sysctl net\.ipv4\.ip_forward: not allowed with host network$/, hostNet],
      [{ 'kernel.shmmax': '1' }, /^sysctl kernel\.shmmax: not allowed with host IPC$/, hostIpc],
      [{ 'fs.mqueue.msg_max': '1' }, /not allowed with host IPC/, hostIpc],
      [{ 'net.ipv4.ip_forward': '1\n0' }, /^sysctl net\.ipv4\.ip_forward: the value must be non-empty and on one line$/],
      [{ 'net.ipv4.ip_forward': '' }, /non-empty/],
      [{ 'net.ipv4..x': '1' }, /not a valid sysctl name/],
      [{ 'net/ipv4/../../kernel/x': '1' }, /not a valid sysctl name/],
      [{ 'net.ipv4.x y': '1' }, /not a valid sysctl name/],
      [{ '': '1' }, /not a valid sysctl name/],
      [{ 'net.ipv4.ip_forward': '1', 'net/ipv4/ip_forward': '0' }, /^sysctl net\/ipv4\/ip_forward: given twice$/],
    ];
    for (const [sysctls, message, opts] of table) {
      const e = rejection(sysctls, opts);
      expect(isKind(e, 'InvalidArgument'), JSON.stringify(sysctls)).to.equal(true);
      expect(e?.message, JSON.stringify(sysctls)).to.match(message);
    }
  });

  it('allows IPC sysctls with host network and net sysctls with host IPC', function () {
    expect(rejection({ 'kernel.shmmni': '1' }, { hostNetwork: true, hostIpc: false })).to.equal(undefined);
    expect(rejection({ 'net.core.somaxconn': '1' }, { hostNetwork: false, hostIpc: true })).to.equal(undefined);
  });
});
