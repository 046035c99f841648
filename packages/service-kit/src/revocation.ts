/**
 * Whether the registry has revoked an identity, or the key its token was obtained with (the token's `key`
 * claim, when it has one). The auth plugin asks it on every authenticated request once the token has
 * verified: an access token outlives a revocation (it is valid until `exp`), so a revoked identity's or
 * key's token is refused with a 401 as soon as the service knows.
 */
export type IsRevoked = (identityId: string, keyId?: string) => boolean | Promise<boolean>;

export type RevocationCacheOptions = {
  /**
   * Reads the service's own state (the registry's identities, another service's projection of them): true
   * when the identity is revoked, or `keyId` (when given) is a revoked key of it.
   */
  lookup: (identityId: string, keyId?: string) => Promise<boolean>;
  /**
   * How long a "not revoked" answer is trusted, in ms; default 1000. A revocation this process did not
   * see itself (another instance's, or one its projection stored) is refused at most this late. A function
   * is asked at each answer: a service told of every change (`forgetUnrevoked`) may trust answers longer
   * while it is.
   */
  ttlMs?: number | (() => number);
  /** Most answers remembered; the oldest is forgotten first. Default 10,000. */
  maxEntries?: number;
};

export type RevocationCache = {
  /** For the auth plugin's `isRevoked` option: from memory when fresh, else one lookup (shared by callers). */
  isRevoked: IsRevoked;
  /** The process learned of a revocation (it made it, or consumed its event): refused from now on. */
  revoked: (identityId: string, keyId?: string) => void;
  /**
   * What was revoked may have changed (the service was told so): every "not revoked" answer is asked
   * again, including those of lookups still running.
   */
  forgetUnrevoked: () => void;
};

/**
 * A small cache in front of a revocation lookup, so the check on every request costs a map read: a
 * revocation is final, so "revoked" is remembered for good; "not revoked" is read again after `ttlMs`.
 */
export function revocationCache(opts: RevocationCacheOptions): RevocationCache {
  const ttl = opts.ttlMs ?? 1000;
  const ttlMs = typeof ttl === "function" ? ttl : () => ttl;
  /** counts the calls of forgetUnrevoked: a lookup that began before one does not remember its answer */
  let generation = 0;
  const maxEntries = opts.maxEntries ?? 10_000;
  const answers = new Map<string, { revoked: boolean; until: number }>();
  const pending = new Map<string, Promise<boolean>>();
  const entry = (identityId: string, keyId?: string) => (keyId ? `${identityId} ${keyId}` : identityId);
  const knownRevoked = (identityId: string, keyId?: string) =>
    answers.get(identityId)?.revoked === true ||
    (keyId !== undefined && answers.get(entry(identityId, keyId))?.revoked === true);

  const remember = (name: string, revoked: boolean) => {
    answers.delete(name); // re-inserted last: Map order is the eviction order
    answers.set(name, { revoked, until: revoked ? Number.POSITIVE_INFINITY : Date.now() + ttlMs() });
    if (answers.size > maxEntries) answers.delete(answers.keys().next().value as string);
  };

  return {
    isRevoked(identityId, keyId) {
      if (knownRevoked(identityId, keyId)) return true;
      const name = entry(identityId, keyId);
      const known = answers.get(name);
      if (known && known.until > Date.now()) return known.revoked;
      const inFlight = pending.get(name);
      if (inFlight) return inFlight;
      const began = generation;
      const lookup = opts
        .lookup(identityId, keyId)
        .then((revoked) => {
          // a revocation learned while the lookup ran wins over its (older) answer
          if (knownRevoked(identityId, keyId)) return true;
          if (revoked || began === generation) remember(name, revoked);
          return revoked;
        })
        .finally(() => {
          if (pending.get(name) === lookup) pending.delete(name);
        });
      pending.set(name, lookup);
      return lookup;
    },
    revoked(identityId, keyId) {
      remember(entry(identityId, keyId), true);
    },
    forgetUnrevoked() {
      generation++;
      for (const [name, answer] of answers) if (!answer.revoked) answers.delete(name);
      // a lookup already running may have read before the change: the next caller asks again
      pending.clear();
    },
  };
}
