/**
 * The bundles' stand-in for @aws-lambda-powertools/jmespath (lib/bundling.ts, alias) selects what the real
 * package selects for field paths, refuses every other expression, and covers every expression the functions use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { search as realSearch } from '@aws-lambda-powertools/jmespath';
import { PowertoolsFunctions as RealPowertoolsFunctions } from '@aws-lambda-powertools/jmespath/functions';
import { isFieldPath, PowertoolsFunctions, search, UnsupportedJmesPathError } from '../../../functions/adapters/aws/jmespath-field-paths';

const FUNCTIONS_DIR = join(__dirname, '..', '..', '..', 'functions');

const sqsRecord = {
  messageId: 'm-1',
  body: '{"user":"0xabc"}',
  attributes: { MessageDeduplicationId: '1#0xpool#0xabc#42', MessageGroupId: '0xabc', ApproximateReceiveCount: '1' },
  messageAttributes: {},
};

const objectWithoutPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { a: { b: 7 } });

describe('jmespath field-path stand-in', () => {
  it.each([
    ['attributes.MessageDeduplicationId', sqsRecord],
    ['attributes.MessageGroupId', sqsRecord],
    ['attributes', sqsRecord],
    ['attributes.Missing', sqsRecord],
    ['missing.MessageDeduplicationId', sqsRecord],
    ['body.user', sqsRecord],
    ['attributes.MessageDeduplicationId', { attributes: null }],
    ['attributes.MessageDeduplicationId', { attributes: ['1#0xpool#0xabc#42'] }],
    ['attributes.MessageDeduplicationId', { attributes: { MessageDeduplicationId: undefined } }],
    ['attributes.MessageDeduplicationId', { attributes: { MessageDeduplicationId: 0 } }],
    ['attributes.MessageDeduplicationId', { attributes: new Map([['MessageDeduplicationId', 'x']]) }],
    ['attributes.MessageDeduplicationId', null],
    ['attributes.MessageDeduplicationId', [sqsRecord]],
    ['a.b', objectWithoutPrototype],
    ['_x1.y_2', { _x1: { y_2: false } }],
  ])('selects %s as the real package does', (expression, data) => {
    // Arrange: Idempotency passes `new PowertoolsFunctions()` as the custom functions (IdempotencyConfig).
    const real = realSearch(expression, data as never, { customFunctions: new RealPowertoolsFunctions() });

    // Act
    const selected = search(expression, data, { customFunctions: new PowertoolsFunctions() as never });

    // Assert
    expect(selected).toStrictEqual(real);
  });

  it.each(['powertools_json(body).user', 'attributes.[MessageDeduplicationId]', 'records[0].id', '"quoted-name".a', 'a . b', 'a..b', '*', 'a || b', '', '@'])(
    'refuses %j, which is not a field path',
    (expression) => {
      expect(() => search(expression, sqsRecord)).toThrow(UnsupportedJmesPathError);
      expect(() => search(expression, sqsRecord)).toThrow(`JMESPath expression ${JSON.stringify(expression)} is not supported in the bundled functions`);
    },
  );

  it('covers every JMESPath expression the functions give Powertools', () => {
    // Arrange: every `…JmesPath: '<expression>'` in functions/, and every `JmesPath` option however it is given.
    const sources = (readdirSync(FUNCTIONS_DIR, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(join(FUNCTIONS_DIR, file), 'utf8'));
    const options = sources.flatMap((source) => [...source.matchAll(/\w*JmesPath\w*\s*:/g)]);
    const expressions = sources.flatMap((source) => [...source.matchAll(/\w*JmesPath\w*\s*:\s*(['"`])([^'"`]*)\1/g)].map((m) => m[2]));

    // Assert: each given as a literal, and each one the stand-in evaluates.
    expect(expressions).toContain('attributes.MessageDeduplicationId');
    expect(expressions).toHaveLength(options.length);
    for (const expression of expressions) expect(isFieldPath(expression)).toBe(true);
  });
});
