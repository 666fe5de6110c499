/**
 * Where a secret could hide in a thrown value (not a test file: Jest matches *.test.ts only).
 */
import { FetchRequest, FetchResponse } from 'ethers';

/**
 * Every string reachable from `value`: own properties (enumerable or not, so `message` and `stack` too) at any
 * depth, a FetchRequest's URL (a private field) and a FetchResponse's request and status.
 */
export function reachableText(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  if (value instanceof FetchRequest) return [value.url, value.toString()];
  if (value instanceof FetchResponse) return [value.statusMessage, ...reachableText(value.request, seen)];
  return Reflect.ownKeys(value).flatMap((key) => reachableText(Reflect.get(value, key), seen));
}

/** The reachable strings of `value` that contain `secret`. */
export function leaksOf(value: unknown, secret: string): string[] {
  return reachableText(value).filter((text) => text.includes(secret));
}
