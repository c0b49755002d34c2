// Writes to a stream and resolves once it has taken the bytes: at once, or at its next 'drain'
// (or its close, after which nothing more can be taken anyway). The writer's backpressure.

/** Node's Writable and streamx's (tar-stream) alike. */
export interface DrainingWritable {
  write(bytes: Buffer): boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export function writeDrained(w: DrainingWritable, bytes: Buffer): Promise<void> {
  if (w.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}
