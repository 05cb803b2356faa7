/** Endpoint counters named like the kernel's MPTcpExt* MIBs (nstat), plus our own drop reasons. */
export class MptcpCounters {
  MPCapableSYNRX = 0;
  MPCapableSYNTX = 0;
  MPCapableSYNACKRX = 0;
  MPCapableACKRX = 0;
  MPCapableFallbackACK = 0;
  MPCapableFallbackSYNACK = 0;
  MPTCPRetrans = 0;
  MPJoinNoTokenFound = 0;
  MPJoinSynRx = 0;
  MPJoinSynAckRx = 0;
  MPJoinSynAckHMacFailure = 0;
  MPJoinAckRx = 0;
  MPJoinAckHMacFailure = 0;
  MPJoinRejected = 0;
  DSSNotMatching = 0;
  DSSNoMatchTCP = 0;
  DataCsumErr = 0;
  OFOQueue = 0;
  DuplicateData = 0;
  AddAddr = 0;
  AddAddrTx = 0;
  EchoAdd = 0;
  AddAddrDrop = 0;
  RmAddr = 0;
  RmAddrTx = 0;
  RmSubflow = 0;
  MPPrioTx = 0;
  MPPrioRx = 0;
  MPFailTx = 0;
  MPFailRx = 0;
  MPFastcloseTx = 0;
  MPFastcloseRx = 0;
  MPRstTx = 0;
  MPRstRx = 0;
  SubflowStale = 0;
  SubflowRecover = 0;
  RcvWndShared = 0;
  SndWndBlocked = 0;
  /** Scheduler runs stopped by the step budget or the re-run limit. */
  SchedulerBudgetStops = 0;
  /** Data that arrived on a subflow with no mapping covering it. */
  DataWithoutMapping = 0;
  DataAckInvalid = 0;

  snapshot(): Record<string, number> {
    return { ...(this as unknown as Record<string, number>) };
  }
}
