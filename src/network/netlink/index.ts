// rtnetlink for pod networking, synchronous throughout (see socket.ts and with-netns.ts).
export { NetlinkSocket, type NetlinkRequest, type NetlinkResult, type NetlinkTransport } from './socket.js';
export { NetlinkError } from './netlink-error.js';
export { withNetns, withNetnsFd } from './with-netns.js';
export { ensureBridge, type BridgeSpec } from './bridge.js';
export { createVethIntoNetns, type VethPair, type VethSpec } from './veth.js';
export { configurePodInterface, type PodInterface, type PodInterfaceSpec } from './pod-interface.js';
export { deleteLink, linkByName, listLinks, setLink, type Link, type LinkChange, type LinkRef } from './links.js';
export { deleteAddressRequest, listAddresses, type Address } from './addresses.js';
export { listRoutes, type Route } from './routes.js';
