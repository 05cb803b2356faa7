/**
 * mptcp-ts: Multipath TCP (RFC 8684) in userspace. The socket API (`connect`, `createServer`, MptcpSocket,
 * MptcpServer), its options and errors, the scheduler loader, and the types of what the API returns.
 */
export {
  type EngineDriver,
  engineConnection,
  type MultipathConnection,
  socketConnection,
} from './api/control.ts';
export { type Environment, withEnvironment } from './api/env.ts';
export { MptcpApiError, MptcpSocketError } from './api/errors.ts';
export type { OnReadOptions } from './api/onread.ts';
export type { MultipathOptions, PathManagerSpec } from './api/options.ts';
export { createServer, type ListenOptions, MptcpServer, type ServerOptions } from './api/server.ts';
export {
  type ConnectOptions,
  connect,
  createConnection,
  MptcpSocket,
  type OpenSubflowOptions,
  type SocketAddress,
  type SocketOptions,
} from './api/socket.ts';
export { CC_NAMES, type CcName } from './cc/index.ts';
export type { Transport, TransportSink } from './io/transport.ts';
export { registerTransport, transportKinds } from './io/transports.ts';
export type { UdpTransportOptions } from './io/udp.ts';
export type { AddressPair, PathManager, WriteProps } from './mptcp/connection.ts';
export type { MptcpEvent } from './mptcp/events.ts';
export type { MptcpInfo } from './mptcp/info.ts';
export type { SubflowOptions, SubflowStatus } from './mptcp/subflow-status.ts';
export { loadScheduler } from './progmp/program.ts';
export { schedulerNames } from './sched/registry.ts';
export type { TcpInfo } from './tcp/config.ts';
