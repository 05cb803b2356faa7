/** A file written in large pieces, for streamed captures (PcapWriter sinks). */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Collects a streamed capture and writes it to the file in large pieces. */
export class FileSink {
  private readonly fd: number;
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  readonly write = (chunk: Uint8Array): void => {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size >= 1 << 20) this.flush();
  };

  flush(): void {
    if (this.size > 0) writeSync(this.fd, Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
