/**
 * Endpoint-wide counters, named after Linux's nstat MIBs (Tcp*, TcpExt*) so numbers read the same way;
 * `Drop*` counters give the reason a segment was discarded. One object per endpoint, fixed shape.
 */
export class TcpCounters {
  // RFC 4022 / Linux "Tcp" MIB.
  ActiveOpens = 0;
  PassiveOpens = 0;
  AttemptFails = 0;
  EstabResets = 0;
  CurrEstab = 0;
  InSegs = 0;
  OutSegs = 0;
  RetransSegs = 0;
  InErrs = 0;
  OutRsts = 0;
  InCsumErrors = 0;
  // Linux "TcpExt" MIB.
  DelayedACKs = 0;
  ListenOverflows = 0;
  ListenDrops = 0;
  PAWSEstab = 0;
  TCPPureAcks = 0;
  TCPSackRecovery = 0;
  TCPRenoRecovery = 0;
  TCPSACKReneging = 0;
  TCPFastRetrans = 0;
  TCPSlowStartRetrans = 0;
  TCPTimeouts = 0;
  /** Retransmissions found lost because data sent after them was SACKed. */
  TCPLostRetransmit = 0;
  TCPSpuriousRTOs = 0;
  /** Loss responses undone because D-SACKs reported every retransmission as a duplicate (RFC 3708). */
  TCPDSACKUndo = 0;
  /** Fast recoveries undone at their end by a timestamp echo older than the first retransmission (RFC 3522). */
  TCPFullUndo = 0;
  /** Timeouts undone by D-SACKs or by a timestamp echo (F-RTO's count is TCPSpuriousRTOs). */
  TCPLossUndo = 0;
  /** Tail loss probes sent (RFC 8985 §7). */
  TCPLossProbes = 0;
  /** Losses repaired by a retransmitted probe (the congestion response was taken). */
  TCPLossProbeRecovery = 0;
  /** ACKs showing an original transmission delivered after later data (RACK.reordering_seen). */
  TCPSACKReorder = 0;
  TCPDSACKOldSent = 0;
  TCPDSACKOfoSent = 0;
  TCPDSACKRecv = 0;
  TCPAbortOnTimeout = 0;
  TCPSACKDiscard = 0;
  TCPOFOQueue = 0;
  TCPOFODrop = 0;
  TCPChallengeACK = 0;
  TCPSYNChallenge = 0;
  TCPReqQFullDrop = 0;
  TCPWinProbe = 0;
  TCPKeepAlive = 0;
  TCPOrigDataSent = 0;
  TCPACKSkippedSeq = 0;
  TCPACKSkippedChallenge = 0;
  TCPSynRetrans = 0;
  TCPZeroWindowDrop = 0;
  TCPTimeWaitReuse = 0;
  // Drop reasons (Linux's skb drop reasons, SKB_DROP_REASON_TCP_*), one per cause.
  DropMalformed = 0;
  DropNoSocket = 0;
  DropBadAddress = 0;
  DropOutOfWindow = 0;
  DropOldAck = 0;
  DropAckUnsent = 0;
  DropRstInvalid = 0;
  DropFlags = 0;
  DropHookVeto = 0;
  DropClosed = 0;
}
