/**
 * Whether the registry has revoked an identity. The auth plugin asks it on every authenticated request
 * once the token has verified: an access token outlives its identity's revocation (it is valid until
 * `exp`), so a revoked identity's token is refused with a 401 as soon as the service knows.
 */
export type IsRevoked = (identityId: string) => boolean | Promise<boolean>;

export type RevocationCacheOptions = {
  /** Reads the service's own state (the registry's identities, another service's projection of them). */
  lookup: (identityId: string) => Promise<boolean>;
  /**
   * How long a "not revoked" answer is trusted, in ms; default 1000. A revocation this process did not
   * see itself (another instance's, or one its projection stored) is refused at most this late.
   */
  ttlMs?: number;
  /** Most identities remembered; the oldest answer is forgotten first. Default 10,000. */
  maxEntries?: number;
};

export type RevocationCache = {
  /** For the auth plugin's `isRevoked` option: from memory when fresh, else one lookup (shared by callers). */
  isRevoked: (identityId: string) => boolean | Promise<boolean>;
  /** The process learned of a revocation (it made it, or consumed its event): refused from now on. */
  revoked: (identityId: string) => void;
};

/**
 * A small cache in front of a revocation lookup, so the check on every request costs a map read: a
 * revocation is final, so "revoked" is remembered for good; "not revoked" is read again after `ttlMs`.
 */
export function revocationCache(opts: RevocationCacheOptions): RevocationCache {
  const ttlMs = opts.ttlMs ?? 1000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const answers = new Map<string, { revoked: boolean; until: number }>();
  const pending = new Map<string, Promise<boolean>>();

  const remember = (identityId: string, revoked: boolean) => {
    answers.delete(identityId); // re-inserted last: Map order is the eviction order
    answers.set(identityId, { revoked, until: revoked ? Number.POSITIVE_INFINITY : Date.now() + ttlMs });
    if (answers.size > maxEntries) answers.delete(answers.keys().next().value as string);
  };

  return {
    isRevoked(identityId) {
      const known = answers.get(identityId);
      if (known && known.until > Date.now()) return known.revoked;
      const inFlight = pending.get(identityId);
      if (inFlight) return inFlight;
      const lookup = opts
        .lookup(identityId)
        .then((revoked) => {
          // a revocation learned while the lookup ran wins over its (older) answer
          if (answers.get(identityId)?.revoked !== true) remember(identityId, revoked);
          return answers.get(identityId)?.revoked ?? revoked;
        })
        .finally(() => pending.delete(identityId));
      pending.set(identityId, lookup);
      return lookup;
    },
    revoked(identityId) {
      remember(identityId, true);
    },
  };
}
