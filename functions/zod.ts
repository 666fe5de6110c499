/**
 * The one import of zod in functions/: zod's `zod/mini` API with zod's English messages.
 *
 * `zod/mini` validates with the same core as the classic `zod` API (whose methods, `.optional()`, `.regex()`,
 * `.min()`, are sugar for the functions used here: `z.optional(…)`, `.check(z.regex(…))`, `.check(z.gte(…))`),
 * but its schemas carry no methods, so a bundle keeps only the validators it uses: the classic API put about
 * 95 kB of zod in the worker's bundle, mini about 25 kB (BENCHMARKS.md, "Function bundles"). Unlike the classic
 * API, mini sets no locale (every message would read "Invalid input"): English is set here, once, for every
 * schema. The infrastructure (lib/) and the local tools keep the classic API: they are not bundled.
 */
// The English locale by name: `locales.en` through the `locales` namespace would bundle every locale (about 260 kB).
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
