/**
 * Identifiers. Every public id is a short type prefix plus 20 characters of
 * Crockford base32 (100 bits of randomness), so ids are unguessable, URL-safe and
 * say at a glance what they name.
 */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

export const ID_PREFIXES = {
  account: "acc",
  subject: "sub",
  training: "trn",
  generation: "gen",
  apiKey: "key",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Random Crockford-base32 string of `length` characters from WebCrypto. */
export function randomBase32(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += CROCKFORD[byte & 31];
  return out;
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBase32(20)}`;
}

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${ID_PREFIXES[kind]}_[${CROCKFORD}]{20}$`);
}

export function isId(kind: IdKind, value: string): boolean {
  return idPattern(kind).test(value);
}
