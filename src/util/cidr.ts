// CIDR parsing for the pod CIDR kubelet hands us ("10.244.1.0/24", or "v4,v6" on dual-stack nodes).
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** Returns the parsed CIDR, or a sentence saying what is wrong with it. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `${JSON.stringify(text)} is not a CIDR: no "/prefix"`;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) return `${JSON.stringify(text)} is not a CIDR: ${JSON.stringify(address)} is not an IP address`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `${JSON.stringify(text)} is not a CIDR: the prefix must be 0 to ${max}`;
  }
  return { address, prefix: Number(prefixText), family };
}

/** A comma-separated list of CIDRs, at most one per family. */
export function parseCidrList(text: string): Cidr[] | string {
  const out: Cidr[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const c = parseCidr(part);
    if (typeof c === 'string') return c;
    if (out.some((o) => o.family === c.family)) return `${JSON.stringify(text)}: more than one IPv${c.family} CIDR`;
    out.push(c);
  }
  return out;
}
