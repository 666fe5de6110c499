/**
 * Runtime bytecode of contracts/src/ConstantFeed.sol: a Chainlink aggregator stand-in placed at a feed's address
 * through an eth_call state override (price-override.ts), answering from four storage slots. Kept in the source
 * (not read from the build output) so a Lambda bundle carries it; test/unit/chain/constant-feed.test.ts fails if
 * it drifts from a fresh compile.
 * Packed (packed-bytecode.ts): `npx tsx contracts/embed-bytecode.ts` writes it.
 */
import { unpackBytecode } from './packed-bytecode';

export const CONSTANT_FEED_RUNTIME_BYTECODE = unpackBytecode(
  'VVI9aBRBFJ63d6LYRGWzIJHcFmIdwUslsmCpxewQdoQB5z1GFEQIamchs5u9BMRi9uciBoSIpaCdCCK2IohgY2GTwmtip9iZKLt3' +
  'G3SmmO9973vvfTMMWozEOTtPbE5qvac49pePEbsn9RB3TllzJ/8WHCd2RU6hT+yVtCY79O6mT+yTtGZr9f0vn9gXac3+y82HPsFi' +
  '28ias+cnN3xi96U1/LP66BN7Iq25/mDO84m9kKpREVsnOJMojGL844ogFRhCE9mi534qvdJg17LE6kQR2yYYNnobY5hCJnQqXEys' +
  'Lhx5wUxwuTl3iU2WsU/epUQRJLMaQEC+0NvcaEelMHZjkUPpSoG4BsIVAdoMBG5383YJ3iZKEyyht+IS5bhrwwsEXxPV9Qs6egmh' +
  'UelmEZj/ResHyCd4JjGKzffXbwa4s5CKLrURYL8xcBpmr7CnCJ4TTBJVbZWPuXvEx9xVvOD8YMyHNl3zbruirOqZnd4/dn60dmpO' +
  '8Fs3dMXJOzw1XPKs4LnrSjFMhc5ii2EOwmI4AoxGcFVjlI0ABEY4OImDNQhygILzcuoGwyzvnZgnT7VfIB12l0qD1CfvdstWJec8' +
  '2X967e7qLXORHVlkR/8C',
);

/** Storage slots ConstantFeed reads (contracts/src/ConstantFeed.sol, the layout in its NatSpec). */
export const CONSTANT_FEED_SLOTS = {
  /** int256, two's complement. */
  answer: 0n,
  /** Seconds since the epoch; also startedAt and latestTimestamp(). */
  updatedAt: 1n,
  /** Returned as uint8. */
  decimals: 2n,
  /** Returned as uint80; also answeredInRound and latestRound(). */
  roundId: 3n,
} as const;
