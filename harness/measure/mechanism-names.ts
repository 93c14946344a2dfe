/** The loops' names, declared once: the report finds a cell's loops by these (report/model.ts). */
export const MECHANISM = {
  jwtVerifyUncached: (alg: string) => `jwt-verify-${alg}-uncached`,
  jwtTokenKeyedCacheHit: 'jwt-verify-HS256-cached-hit',
  jwtHashKeyedCacheHit: 'jwt-verify-HS256-hash-keyed-cache-hit',
  jwtCacheMiss: 'jwt-verify-HS256-cached-miss',
  sessionIdMapLookup: 'session-id-map-lookup',
  sessionSignedIdCheck: 'session-signed-id-check',
  secureSessionDecrypt: 'secure-session-decrypt',
  redisGet: 'redis-get',
} as const
