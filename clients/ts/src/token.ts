// Bearer tokens: a fixed string or a function returning a fresh one.

/** A bearer token, or a function returning a fresh one (sync or async). */
export type TokenSource = string | (() => string | Promise<string>);

/** @internal */
export async function resolveToken(t: TokenSource | undefined): Promise<string | undefined> {
  if (t === undefined) return undefined;
  const v = typeof t === "function" ? await t() : t;
  return v || undefined;
}

/**
 * The `exp` of a JWT, in ms since the epoch; undefined for tokens that are no
 * JWT or have no numeric `exp` (API keys). The signature is not checked:
 * this only schedules renewals.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    let b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
