/**
 * The deployment config: one JSON file per keeper instance (chain + market), validated here once and passed to
 * the stacks as props. Secrets travel by name only; the RPC URL itself is read from Secrets Manager at run time.
 * Every error names the field it is about (`market.pool: must be …`).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * 32 characters leaves room for the longest derived name: the FIFO dead-letter queue
 * `<name>-liquidation-candidates-dlq.fifo` must stay within SQS's 80-character limit.
 */
const NAME_MAX_LENGTH = 32;

/** The message for a missing field or one of the wrong JSON type. */
const expected = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`),
});

const name = z
  .string(expected('a string'))
  .max(NAME_MAX_LENGTH, `must be at most ${NAME_MAX_LENGTH} characters`)
  // A CloudFormation stack name must start with a letter; the name prefixes stacks, tables and queues.
  .regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens, starting with a letter');

const address = z
  .string(expected('a string'))
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

const aaveV3Market = z
  .object({
    protocol: z.literal('aave-v3', expected('"aave-v3"')),
    /** The market's Pool (proxy) contract, where liquidationCall is sent. */
    pool: address,
  }, expected('an object'))
  .strict();

/** Secrets Manager's own rule for secret names. */
const secretName = z
  .string(expected('a string'))
  .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -)');

export const deploymentConfigSchema = z
  .object({
    name,
    chainId: z.number(expected('a number')).int('must be an integer').positive('must be positive'),
    market: aaveV3Market,
    rpcUrlSecretName: secretName,
    alertEmail: z.email({ error: 'must be an email address' }).optional(),
  }, expected('an object'))
  .strict();

export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;

export class DeploymentConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`invalid deployment config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.name = 'DeploymentConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

export function parseDeploymentConfig(value: unknown, source = '<inline>'): DeploymentConfig {
  const result = deploymentConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown field`)
      : [`${formatPath(issue.path) || '(root)'}: ${issue.message}`],
  );
  throw new DeploymentConfigError(source, problems);
}

export function loadDeploymentConfig(path: string): DeploymentConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DeploymentConfigError(path, [`(file): ${(err as Error).message}`], { cause: err });
  }
  return parseDeploymentConfig(json, path);
}
