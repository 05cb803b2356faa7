/** Connection events, named like the Linux kernel's MPTCP netlink events (MPTCP_EVENT_*). */
export type MptcpEvent =
  | { type: 'created'; token: number }
  | { type: 'established'; token: number }
  | { type: 'closed'; token: number; reason: string | null }
  | { type: 'announced'; addressId: number; address: string; port: number | null }
  | { type: 'removed'; addressId: number }
  | { type: 'sub_established'; subflow: number; local: string; remote: string; backup: boolean }
  | { type: 'sub_closed'; subflow: number; local: string; remote: string; reason: string }
  | { type: 'sub_priority'; subflow: number; backup: boolean; by: 'local' | 'remote' }
  | { type: 'fallback'; reason: string }
  | { type: 'failover'; from: number; to: number[] };
