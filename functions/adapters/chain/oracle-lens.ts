/**
 * Runtime bytecode of contracts/src/OracleLens.sol, installed at ORACLE_LENS_ADDRESS through an eth_call state
 * override so a block's oracle read is one call and needs no deployment. Kept in the source (not read from the
 * build output) so a Lambda bundle carries it; test/unit/chain/oracle-lens.test.ts fails if it drifts from a fresh
 * compile.
 * Packed (packed-bytecode.ts): `npx tsx contracts/embed-bytecode.ts` writes it.
 */
import { unpackBytecode } from './packed-bytecode';

export const ORACLE_LENS_RUNTIME_BYTECODE = unpackBytecode(
  'jVZdjBNVFO6ZTjttfXD5aWGzyvaBF0JMDLoYQna3ghoTo7kziTOBMc45WYLBaMAYXhSTudNpywPqvW0XMOFhjRA1GkMEjSQaiZAY' +
  'fNMnSDBpjET0QaL4AAis3Dttt91Vw8xTv3vO95373TP3FEOsOA+HRUrd6wXBLZ+huXGEUuu8YAI794Uzl//4YXolpR7wfLVKqQql' +
  'Nm9Ek6wJ16eU6/pYsSn1tBRkefpHKNPiqo8YRAgIODeWLs1kthx6Dis2n5mfn58vYWeMO2gCllV4Nc3r228UVQWz3mQQTE2qKhhj' +
  'WLEncXwUxyMoRaDKZBwEpU4prQ9df4H+5rEVH9wF/V93Qw+ru/SCBdUFie/bL3+5VCIYVgB3iUIQTeH4pOCA46OlCLDiELwhhVLK' +
  'PaREMM9tgjeloNzfrk9wWGCa8qtd/4X57sOXFQmOewTHyTqrLRZh5IRYNrAMmlJJX/A4lgHLkRFurD4CgvmsybZUA27zEYIrHsEV' +
  'yq93/SQNOHcY4/39VRF0oLHaI2P1ksDQrqKRBGzyyNjUDRDckEICOIGvFotktD0yDtTiOE6Cd3pk7BxksxuYr5Oxr7ddo9HbLhlH' +
  '1JECGU+4yj0pmN7rzMRvL+5N/O4WG/MSmlVwAikaJaHXBa4Fgs7waRg/3815p3NSUP61RMucvR7gpQGteldLNlkglVrz6/Udpba4' +
  'udL2XYnt7TdX3Pe+a1a65VG6tdhZ7ERg0/x8Kab0iRqC9iqJP+NR+syS+DACW1OHiprSl2toDCRd8yh9bUlStxReiskcrXVPRCeY' +
  '6zwy1y1pCDKn63XKjLp+jcyn6mgOZPgemf5gRr2OGTL3KJ/7QaFHZrioDimk45B5mFM25fp1Mo82MDuQc9Ij8+QgcaOBFpnnhogv' +
  'eGReGAzavx9zZP4+FHTbI/P2IvWmaDpSOA5LHt0QPWMiXsK1uuUi/TZKAh8DrIQ2jo/yOA3ckdzBcgRhktNRd8aJbbst7IytEo5N' +
  'md1SUOGI6/eujNr2G5KxyTDgKynzvocVWzLVMdOTkNwTk5EzGWA5hinKfOz6iJL5TDLJOGXOemgELdZijFHmutoFt0eKlLnooTmE' +
  'Aw+xDMJWzZf5U5XwqesnAX6TNdU3FoRh/8sqUXbcY5iRLBAsJGuV6y/cgZuDNGWnPIbpgWXtgckdXMshcrDMhxyY/ujSe/iTckDY' +
  'yrse1/6SpGwo/9OQ7Bf/b0j2q2FDsueVIUGbqZexpLI57Un2qvJkeClcMMWylCnnXJ8hHGbyIBNtffy+bIkmWxgyvMRXkrUhGZGq' +
  '6HIUp5cXyXpcQ3yCLMbJWuP6rWbSPeUwciI7ioALJ5AxCKzEIKo+Vxel9ZZXtasOllsxtEQTpLr5rD2uz8Rsu9t/oU3W0YRTX4YL' +
  'mqcSTbuvOfPMk6+/gp2xwMFH0XRwbXBLz2XocBiYI1E0sqpI1k2PrJvdWeKIpNHHIz2h/iU8t96j3Ppe+HAlua3dSoaGVW6bRhUj' +
  'h3gF5Xbp3+GiqKpHuarmDTEzRrmW+n4oZ7i+1J0UA4emmpSNWIV/okmwXIM286u1kSLlLnqx3WSU+66qXYhUWrsGbSHVeP3M9Q8d' +
  '7H/NAxYt61kURgYvRpEZr1xF+eUe5ZdT7hfXb0ptfwRhtKw4uDDAsaHP0b9tkxY52t3rjmSjQxgNAwFBR/kYFil/IOksys+Sdd71' +
  'I5s7lD+mup3y06qbInAo/7nqoQSoaOBbxB6AGjiPYQ8INfArzvWAOQ3cwNMKePYOx2kFFO7BjgJ23eHoaOB+glQMZL2j/o+kNPQg' +
  'QbkP6VoKWwkqfUhXU3AJsA/pegq7CHoFEeiKCvsI5vqQrqnwNsHpPqSq6n5EQWSH6sTj54MmyMhhw+1X+CZxzU5g9eBcfb9e+jFZ' +
  'YlVbEdhYqYON2AAbQ3EI7OZheYjNtploMsHc2+/ueHX3SzNbU7k1qcI/',
);

/** `observe(address pool) returns (uint256[])`: see OracleLens.sol's NatSpec for the layout. */
export const ORACLE_LENS_SELECTOR = '0xe8f1d23f';
/** block.timestamp, oracle, reserve count. */
export const ORACLE_LENS_HEADER_WORDS = 3;
/** asset, id, variable borrow rate, source, price status, price, feed status, answer, updatedAt. */
export const ORACLE_LENS_WORDS_PER_RESERVE = 9;

/** Status words of a price or a round (OracleLens.sol: OK, REVERTED, NO_CODE, SHORT_RETURN, NO_SOURCE). */
export const ORACLE_LENS_STATUS = { ok: 1n, reverted: 2n, noCode: 3n, shortReturn: 4n, noSource: 5n } as const;

/**
 * An address with no code on any chain we know of ("ORCL"); the override places the lens there for one call.
 * Not LENS_ADDRESS (health-lens.ts), so both lenses could be installed in one call.
 */
export const ORACLE_LENS_ADDRESS = '0x000000000000000000000000000000004f52434c';
