import { join } from 'node:path';
import { type ManagedProcess, startProcess } from './processes';

export interface Fauxqs {
  endpoint: string;
  process: ManagedProcess;
}

/** Starts the fauxqs SQS emulator on a free loopback port, in a child process. */
export async function startFauxqs(): Promise<Fauxqs> {
  const { process: proc, match } = await startProcess({
    name: 'fauxqs',
    command: process.execPath,
    args: [join(__dirname, 'fauxqs-server.mjs')],
    readyPattern: /fauxqs listening on (\d+)/,
  });
  return { endpoint: `http://127.0.0.1:${match[1]}`, process: proc };
}
