import { CliArgsError, isHelpFlag, parseCliArgs, resolveCliArgs } from '../../../local/cli-args';

const OPTIONS = {
  json: { type: 'boolean', default: false },
  only: { type: 'string' },
  accounts: { type: 'string', default: '10000' },
} as const;
const USAGE = 'usage: tool [--json] [--only NAME] [--accounts N]';
const SPEC = { name: 'tool', usage: USAGE, options: OPTIONS };

/** The CliArgsError parseCliArgs throws for `args`. */
function errorOf(args: string[]): CliArgsError {
  try {
    parseCliArgs(OPTIONS, args);
  } catch (err) {
    expect(err).toBeInstanceOf(CliArgsError);
    return err as CliArgsError;
  }
  throw new Error(`expected ${JSON.stringify(args)} to be rejected`);
}

describe('parseCliArgs', () => {
  it('returns the values, defaults applied, without a help entry', () => {
    const parsed = parseCliArgs(OPTIONS, ['--json', '--only', 'world-boot']);
    expect(parsed.kind).toBe('args');
    if (parsed.kind !== 'args') return;
    // Typed as parseArgs types them: json always set (it has a default), only optional.
    const values: { json: boolean; only?: string; accounts: string } = parsed.values;
    expect(values).toEqual({ json: true, only: 'world-boot', accounts: '10000' });
    expect(Object.hasOwn(parsed.values, 'help')).toBe(false);
  });

  it('reads no arguments as the defaults', () => {
    expect(parseCliArgs(OPTIONS, [])).toEqual({ kind: 'args', values: { json: false, accounts: '10000' } });
  });

  it.each([[['--help']], [['-h']], [['--json', '--help']], [['--only', 'x', '-h']]])('answers help for %j', (args) => {
    expect(parseCliArgs(OPTIONS, args)).toEqual({ kind: 'help' });
  });

  it.each([[['--help', '--bogus']], [['--bogus', '-h']], [['--only', '--help']], [['stray', '--help']]])('lets help win over a bad command line: %j', (args) => {
    expect(parseCliArgs(OPTIONS, args)).toEqual({ kind: 'help' });
  });

  it('does not read --help after the -- terminator as a request for help', () => {
    expect(errorOf(['--', '--help']).code).toBe('ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL');
  });

  it.each([
    [['--bogus'], 'ERR_PARSE_ARGS_UNKNOWN_OPTION', /^Unknown option '--bogus'/],
    [['-x'], 'ERR_PARSE_ARGS_UNKNOWN_OPTION', /^Unknown option '-x'/],
    [['stray'], 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL', /^Unexpected argument 'stray'/],
    [['--only'], 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', /^Option '--only <value>' argument missing/],
    [['--json=yes'], 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', /^Option '--json' does not take an argument/],
  ])('rejects %j with %s', (args, code, message) => {
    const err = errorOf(args);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('puts a multi-line parseArgs message on one line', () => {
    const err = errorOf(['--only', '-x']);
    expect(err.code).toBe('ERR_PARSE_ARGS_INVALID_OPTION_VALUE');
    expect(err.message).toMatch(/^Option '--only' argument is ambiguous\./);
    expect(err.message).not.toContain('\n');
  });

  it('refuses an options spec that defines help itself', () => {
    expect(() => parseCliArgs({ help: { type: 'string' } }, [])).toThrow(/reserved/);
  });
});

describe('resolveCliArgs', () => {
  it('runs with the values of a good command line', () => {
    expect(resolveCliArgs(SPEC, ['--accounts', '5'])).toEqual({ kind: 'args', values: { json: false, accounts: '5' } });
  });

  it('prints the usage on stdout and exits 0 for --help', () => {
    expect(resolveCliArgs(SPEC, ['--help'])).toEqual({ kind: 'exit', code: 0, stream: 'stdout', text: `${USAGE}\n` });
  });

  it('prints one line naming the mistake, then the usage, on stderr and exits 2', () => {
    const outcome = resolveCliArgs(SPEC, ['--bogus']);
    expect(outcome).toEqual({ kind: 'exit', code: 2, stream: 'stderr', text: `tool: Unknown option '--bogus'\n${USAGE}\n` });
    if (outcome.kind !== 'exit') return;
    const [first, ...rest] = outcome.text.split('\n');
    expect(first).toBe("tool: Unknown option '--bogus'");
    expect(rest.join('\n')).toBe(`${USAGE}\n`);
  });

  it('does not add a second newline to a usage that ends with one', () => {
    expect(resolveCliArgs({ ...SPEC, usage: `${USAGE}\n` }, ['-h'])).toMatchObject({ text: `${USAGE}\n` });
  });
});

describe('isHelpFlag', () => {
  it.each([
    ['--help', true],
    ['-h', true],
    ['help', false],
    ['--helper', false],
    [undefined, false],
  ])('%s → %s', (arg, expected) => {
    expect(isHelpFlag(arg)).toBe(expected);
  });
});
