// Routes: the pod's default route, and a listing of the main table.
import { attr, decodeAttrs, readU32, type NetlinkMessage } from './codec.js';
import {
  AF_INET, AF_INET6, NLM_F_CREATE, NLM_F_REPLACE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY,
  RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTM_GETROUTE, RTM_NEWROUTE, RTN_UNICAST, RTPROT_BOOT,
} from './constants.js';
import { bytesToIp, type IpBytes } from './ip-codec.js';
import type { NetlinkRequest, NetlinkSocket } from './socket.js';
import { decodeRtMsg, encodeRtMsg, RTMSG_LEN } from './structs.js';

export interface Route {
  readonly family: 4 | 6;
  /** Destination network; "0.0.0.0" or "::" with prefix 0 for the default route. */
  readonly dst: string;
  readonly prefix: number;
  readonly gateway: string | undefined;
  readonly oif: number | undefined;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly priority: number | undefined;
}

/** Default route via gateway out of link oif, replacing any default route already there. */
export function defaultRouteRequest(oif: number, gateway: IpBytes, what: string): NetlinkRequest {
  return {
    type: RTM_NEWROUTE,
    flags: NLM_F_CREATE | NLM_F_REPLACE,
    header: encodeRtMsg({
      family: gateway.family,
      table: RT_TABLE_MAIN,
      protocol: RTPROT_BOOT,
      scope: RT_SCOPE_UNIVERSE,
      type: RTN_UNICAST,
    }),
    attrs: [attr.bytes(RTA_GATEWAY, gateway.bytes), attr.u32(RTA_OIF, oif)],
    what,
  };
}

export function parseRoute(m: NetlinkMessage): Route | undefined {
  const h = decodeRtMsg(m.payload);
  if (h.family !== AF_INET && h.family !== AF_INET6) return undefined;
  const a = decodeAttrs(m.payload, RTMSG_LEN);
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  return {
    family: h.family === AF_INET ? 4 : 6,
    dst: dst ? bytesToIp(dst) : h.family === AF_INET ? '0.0.0.0' : '::',
    prefix: h.dstLen,
    gateway: gw ? bytesToIp(gw) : undefined,
    oif: readU32(a.get(RTA_OIF)),
    table: readU32(a.get(RTA_TABLE)) ?? h.table,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
    priority: readU32(a.get(RTA_PRIORITY)),
  };
}

/** Routes of one family in the main table of the socket's netns. */
export function listRoutes(sock: NetlinkSocket, family: 4 | 6): Route[] {
  return sock
    .dump(RTM_GETROUTE, encodeRtMsg({ family: family === 4 ? AF_INET : AF_INET6 }), [], 'listing routes')
    .filter((m) => m.type === RTM_NEWROUTE)
    .flatMap((m) => parseRoute(m) ?? [])
    .filter((r) => r.table === RT_TABLE_MAIN);
}
