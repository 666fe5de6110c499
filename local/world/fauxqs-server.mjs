// Runs the fauxqs SQS emulator in its own process (fauxqs is ESM-only and needs no Jest sandbox this way).
// Prints `fauxqs listening on PORT` once ready; exits on SIGTERM/SIGINT.
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
process.stdout.write(`fauxqs listening on ${server.port}\n`);
const shutdown = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
