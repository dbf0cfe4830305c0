// Text Postgres cannot store exactly. Kept apart from the event's schemas so that the
// extension's pages can check query values without loading zod.

// Postgres stores neither NUL characters nor unpaired UTF-16 surrogates: the first is
// refused (a 500 if it got that far), the second silently becomes U+FFFD, which would
// break the event's hash. Both are refused here, with the field named.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Postgres could not store this text exactly, or null. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate';
  return null;
}
