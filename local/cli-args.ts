/**
 * Command-line options for the local and bench CLIs: node:util's parseArgs with the house rules on top.
 * - `--help` / `-h` prints the usage on stdout and exits 0 (it wins over any other mistake on the line);
 * - an unknown option, a missing or ambiguous value or an unexpected argument prints one line naming it,
 *   `<name>: <message>`, then the usage, on stderr and exits 2, never a stack trace.
 *
 * `parseCliArgs` and `resolveCliArgs` are pure (tested in test/unit/local/cli-args.test.ts); `cliArgs` is the
 * thin outer layer that writes and exits.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type CliOptions = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for `options` (strict, no positionals), without the help flag. */
export type CliValues<O extends CliOptions> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies CliOptions;

/** A command line parseArgs rejected (its ERR_PARSE_ARGS_* code), with its message on one line. */
export class CliArgsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliArgsError';
  }
}

export type CliParse<O extends CliOptions> = { kind: 'help' } | { kind: 'args'; values: CliValues<O> };

/** `--help` or `-h`, as a command name or an option. */
export function isHelpFlag(arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h';
}

/** Whether `args` asks for help before any `--` terminator (read even when the rest does not parse). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some(isHelpFlag);
}

/**
 * Parses `args` against `options` plus `--help`/`-h`. Returns `{ kind: 'help' }` when help was asked for,
 * else the values; throws CliArgsError for a command line parseArgs rejects. Other errors (a malformed
 * `options`, a programming error) are thrown as they are.
 */
export function parseCliArgs<const O extends CliOptions>(options: O, args: readonly string[]): CliParse<O> {
  if (Object.hasOwn(options, 'help')) throw new Error('parseCliArgs: `help` is reserved for --help');
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: { ...options, ...HELP_OPTION }, strict: true, allowPositionals: false }));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    if (asksForHelp(args)) return { kind: 'help' };
    throw new CliArgsError(code, (err as Error).message.split('\n').join(' '));
  }
  if (values.help) return { kind: 'help' };
  delete values.help;
  return { kind: 'args', values: values as CliValues<O> };
}

export interface CliSpec<O extends CliOptions> {
  /** The program's name, the prefix of its error line (`demo`, `bench`). */
  name: string;
  /** The usage text, printed as it is (no trailing newline needed). */
  usage: string;
  options: O;
  /** The arguments to parse (default: process.argv after the script). */
  args?: readonly string[];
}

export type CliOutcome<O extends CliOptions> =
  | { kind: 'args'; values: CliValues<O> }
  | { kind: 'exit'; code: 0 | 2; stream: 'stdout' | 'stderr'; text: string };

/** What the command line comes to: the values to run with, or what to print and the exit code. */
export function resolveCliArgs<const O extends CliOptions>(spec: CliSpec<O>, args: readonly string[]): CliOutcome<O> {
  const usage = spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`;
  try {
    const parsed = parseCliArgs(spec.options, args);
    if (parsed.kind === 'help') return { kind: 'exit', code: 0, stream: 'stdout', text: usage };
    return parsed;
  } catch (err) {
    if (!(err instanceof CliArgsError)) throw err;
    return { kind: 'exit', code: 2, stream: 'stderr', text: `${spec.name}: ${err.message}\n${usage}` };
  }
}

/** The values of the process's command line; prints the usage and exits on --help (0) or a bad command line (2). */
export function cliArgs<const O extends CliOptions>(spec: CliSpec<O>): CliValues<O> {
  const outcome = resolveCliArgs(spec, spec.args ?? process.argv.slice(2));
  if (outcome.kind === 'args') return outcome.values;
  // Writes to files, terminals and (on Linux) pipes are synchronous, and a usage text fits a pipe's buffer
  // anywhere else: exiting right after the write loses nothing.
  (outcome.stream === 'stdout' ? process.stdout : process.stderr).write(outcome.text);
  process.exit(outcome.code);
}
