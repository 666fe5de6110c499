/**
 * Stands in for `@aws-lambda-powertools/jmespath` (and its `/functions` entry) in the Lambda bundles
 * (lib/bundling.ts aliases both to this file; tests and local tools run with the real package). Powertools
 * Idempotency is its only user in the functions: it selects the idempotency key from each SQS record with
 * `eventKeyJmesPath` (the worker's is `attributes.MessageDeduplicationId`, functions/handlers/worker.ts). The
 * full JMESPath lexer, parser, interpreter and function library were about 24 kB of the worker's bundle.
 *
 * Only field paths are evaluated: unquoted identifiers joined by dots, each step as the real interpreter visits
 * a field (jmespath lib/esm/TreeInterpreter.js, `#visitField`): the property when the value is a plain object
 * holding the name (`in`, as there), else null. test/unit/aws/jmespath-field-paths.test.ts compares it with
 * the real package and checks that every JMESPath expression in functions/ is a field path. Any other
 * expression (functions, filters, projections, quoted names) fails loudly rather than selecting something else.
 */
import type { JMESPathParsingOptions } from '@aws-lambda-powertools/jmespath/types';

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export class UnsupportedJmesPathError extends Error {
  constructor(readonly expression: string) {
    super(`JMESPath expression ${JSON.stringify(expression)} is not supported in the bundled functions: only field paths such as a.b.c are (lib/bundling.ts, alias)`);
    this.name = 'UnsupportedJmesPathError';
  }
}

/** Whether the stand-in evaluates `expression`: unquoted identifiers joined by dots. */
export function isFieldPath(expression: string): boolean {
  return FIELD_PATH.test(expression);
}

/** `isRecord` of @aws-lambda-powertools/commons (typeUtils.js), which the interpreter tests a field's value with. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === '[object Object]' && !Object.is(value, null);
}

/** The value at the field path `expression` in `data`, or null where a step finds no such field. */
export function search(expression: string, data: unknown, _options?: JMESPathParsingOptions): unknown {
  if (!isFieldPath(expression)) throw new UnsupportedJmesPathError(expression);
  let value = data;
  for (const name of expression.split('.')) value = isRecord(value) && name in value ? value[name] : null;
  return value;
}

/**
 * Idempotency's default `jmesPathOptions.customFunctions` (IdempotencyConfig: `new PowertoolsFunctions()`); the
 * functions themselves (powertools_json and the like) are not available, as function expressions are refused.
 */
export class PowertoolsFunctions {}
