// servers/main.ts
import { Command, InvalidArgumentError } from "commander";

// servers/app.ts
import Fastify from "fastify";

// servers/config.ts
var STRATEGY_NAMES = [
  "memory-session",
  "redis-session",
  "jwt",
  "jwt-cookie",
  "jwt-denylist",
  "refresh",
  "secure-session"
];
var PROFILES = ["defaults", "tuned", "floor"];
var JWT_ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"];
var CLAIM_SETS = ["small", "typical", "large"];
var SERVER_DEFAULTS = Object.freeze({
  profile: "tuned",
  alg: "HS256",
  claims: "small",
  host: "127.0.0.1",
  port: 3e3,
  userCount: 1e4,
  sessionTtlSec: 3600,
  jwtTtlSec: 900,
  refreshAccessTtlSec: 60,
  refreshTokenTtlSec: 7 * 24 * 3600,
  redisUrl: null,
  redisKeyPrefix: "ab:",
  secureCookies: false,
  logLevel: "warn"
});
var ConfigError = class extends Error {
  name = "ConfigError";
};
function oneOf(what, value, allowed) {
  if (typeof value === "string" && allowed.includes(value)) return value;
  throw new ConfigError(`unknown ${what} '${String(value)}' (expected one of: ${allowed.join(", ")})`);
}
function positiveInt(what, value, min = 1) {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw new ConfigError(`${what} must be an integer \u2265 ${min}, got '${String(value)}'`);
  }
  return n;
}
function resolveServerOptions(input) {
  const merged = { ...SERVER_DEFAULTS, ...stripUndefined(input) };
  const port = positiveInt("port", merged.port, 0);
  if (port > 65535) throw new ConfigError(`port must be \u2264 65535, got ${port}`);
  return Object.freeze({
    ...merged,
    strategy: oneOf("strategy", merged.strategy, STRATEGY_NAMES),
    profile: oneOf("profile", merged.profile, PROFILES),
    alg: oneOf("--alg", merged.alg, JWT_ALGORITHMS),
    claims: oneOf("claim set", merged.claims, CLAIM_SETS),
    port,
    userCount: positiveInt("user count", merged.userCount),
    sessionTtlSec: positiveInt("sessionTtlSec", merged.sessionTtlSec),
    jwtTtlSec: positiveInt("jwtTtlSec", merged.jwtTtlSec),
    refreshAccessTtlSec: positiveInt("refreshAccessTtlSec", merged.refreshAccessTtlSec),
    refreshTokenTtlSec: positiveInt("refreshTokenTtlSec", merged.refreshTokenTtlSec)
  });
}
function stripUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== void 0));
}

// servers/errors.ts
var StoreUnavailableError = class extends Error {
  name = "StoreUnavailableError";
  statusCode = 503;
};
function errorHandler(error, request, reply) {
  const code = typeof error.code === "string" ? error.code : "";
  let status = typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (code.startsWith("FAST_JWT_") || code.startsWith("FST_JWT_")) status = 401;
  if (isRedisError(error)) status = 503;
  if (status >= 500) request.log.error({ err: error }, "request failed");
  const message = status === 401 ? "unauthorized" : status >= 500 ? status === 503 ? "store unavailable" : "internal error" : error.message;
  void reply.code(status).send({ error: message });
}
function isRedisError(error) {
  return error instanceof StoreUnavailableError || /^(ReplyError|MaxRetriesPerRequestError|AbortError)$/.test(error.name) || /ECONNREFUSED|Connection is closed|Stream isn't writeable/.test(error.message);
}
var UNAUTHORIZED = Object.freeze({ error: "unauthorized" });

// servers/strategies/jwt-common.ts
import fastifyCookie from "@fastify/cookie";
import fastifyJwt from "@fastify/jwt";
import { createSigner, createVerifier } from "fast-jwt";

// servers/strategies/cookies.ts
import { createHmac, timingSafeEqual } from "node:crypto";
function readCookie(header, name) {
  if (!header) return void 0;
  const needle = name + "=";
  let at = header.indexOf(needle);
  while (at !== -1) {
    if (at === 0 || header.charCodeAt(at - 1) === 32 || header.charCodeAt(at - 1) === 59) {
      const start = at + needle.length;
      const end = header.indexOf(";", start);
      return end === -1 ? header.slice(start) : header.slice(start, end);
    }
    at = header.indexOf(needle, at + 1);
  }
  return void 0;
}
function setCookie(reply, name, value, attrs) {
  const cookie = `${name}=${value}; Max-Age=${attrs.maxAgeSec}; Path=/; HttpOnly; SameSite=Lax${attrs.secure ? "; Secure" : ""}`;
  const prev = reply.getHeader("set-cookie");
  if (prev === void 0) reply.header("set-cookie", cookie);
  else reply.header("set-cookie", [].concat(prev, cookie));
}
function clearCookie(reply, name, secure) {
  const cookie = `${name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
  const prev = reply.getHeader("set-cookie");
  if (prev === void 0) reply.header("set-cookie", cookie);
  else reply.header("set-cookie", [].concat(prev, cookie));
}
function createIdSigner(secret) {
  const key = Buffer.from(secret, "hex");
  const mac = (id) => createHmac("sha256", key).update(id).digest();
  return {
    sign: (id) => `${id}.${mac(id).toString("base64url")}`,
    /** The id when the signature is valid, else null. */
    unsign(value) {
      const dot = value.lastIndexOf(".");
      if (dot <= 0 || value.length - dot - 1 !== 43) return null;
      const id = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), "base64url");
      return given.length === 32 && timingSafeEqual(given, mac(id)) ? id : null;
    }
  };
}

// servers/strategies/jwt-common.ts
var TOKEN_COOKIE = "token";
var REQUIRED_CLAIMS = ["sub", "role", "iat", "exp", "aud"];
function asTokenClaims(payload) {
  if (typeof payload !== "object" || payload === null) return null;
  const p = payload;
  if (typeof p.sub !== "string" || !/^[1-9][0-9]{0,8}$/.test(p.sub)) return null;
  if (typeof p.role !== "string" || typeof p.exp !== "number" || typeof p.iat !== "number") return null;
  if (p.jti !== void 0 && typeof p.jti !== "string") return null;
  if (p.fam !== void 0 && typeof p.fam !== "string") return null;
  return p;
}
function principalOf(claims) {
  return { userId: Number(claims.sub), role: claims.role };
}
function keysFor(ctx) {
  const { keys, options } = ctx;
  if (options.alg === "HS256") return { signKey: keys.hmacKey, verifyKey: keys.hmacKey };
  return {
    signKey: keys.jwtPrivateKey.export({ type: "pkcs8", format: "pem" }),
    verifyKey: keys.jwtPublicKey.export({ type: "spki", format: "pem" })
  };
}
async function createJwtEngine(scope, ctx, carrier, ttlSec) {
  const { options } = ctx;
  const { signKey, verifyKey } = keysFor(ctx);
  const audience = options.strategy;
  const secure = options.secureCookies;
  const deliver = carrier === "cookie" ? (reply, token) => setCookie(reply, TOKEN_COOKIE, token, { maxAgeSec: ttlSec, secure }) : () => {
  };
  const clear = carrier === "cookie" ? (reply) => clearCookie(reply, TOKEN_COOKIE, secure) : () => {
  };
  if (options.profile === "floor") {
    const signer = createSigner({ key: signKey, algorithm: options.alg, expiresIn: ttlSec * 1e3, aud: audience });
    const verifier = createVerifier({ key: verifyKey, algorithms: [options.alg], requiredClaims: REQUIRED_CLAIMS, allowedAud: audience });
    const tokenOf = carrier === "cookie" ? (request) => readCookie(request.headers.cookie, TOKEN_COOKIE) : (request) => {
      const h = request.headers.authorization;
      return h !== void 0 && h.startsWith("Bearer ") ? h.slice(7) : void 0;
    };
    return {
      sign: (payload) => signer(payload),
      verify(request) {
        const token = tokenOf(request);
        if (!token) return null;
        try {
          return asTokenClaims(verifier(token));
        } catch {
          return null;
        }
      },
      deliver,
      clear
    };
  }
  if (carrier === "cookie") await scope.register(fastifyCookie);
  await scope.register(fastifyJwt, {
    secret: options.alg === "HS256" ? signKey : { private: signKey, public: verifyKey },
    sign: { algorithm: options.alg, expiresIn: `${ttlSec}s`, aud: audience },
    verify: {
      algorithms: [options.alg],
      requiredClaims: REQUIRED_CLAIMS,
      allowedAud: audience,
      ...options.profile === "tuned" ? { cache: true } : {},
      ...carrier === "cookie" ? { onlyCookie: true } : {}
    },
    ...carrier === "cookie" ? { cookie: { cookieName: TOKEN_COOKIE, signed: false } } : {}
  });
  return {
    sign: (payload) => scope.jwt.sign(payload),
    async verify(request) {
      try {
        return asTokenClaims(await request.jwtVerify());
      } catch {
        return null;
      }
    },
    deliver,
    clear
  };
}

// servers/strategies/jwt.ts
var jwt = {
  name: "jwt",
  description: "stateless signed JWT in the Authorization: Bearer header",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: false,
  stateful: false,
  carrier: "bearer",
  canRevokeAll: false,
  family: "jwt",
  hybrid: null,
  async setup(scope, ctx) {
    const engine = await createJwtEngine(scope, ctx, "bearer", ctx.options.jwtTtlSec);
    return {
      async login(_request, _reply, user) {
        return { accessToken: await engine.sign({ sub: String(user.userId), role: user.role, ...ctx.users.extraClaims(user) }) };
      },
      async authenticate(request) {
        const claims = await engine.verify(request);
        return claims && principalOf(claims);
      },
      // Nothing to invalidate: the token stays valid until it expires. That is what gets measured.
      async logout() {
      }
    };
  }
};

// servers/strategies/jwt-cookie.ts
var jwtCookie = {
  name: "jwt-cookie",
  description: "the same stateless JWT, carried in an HttpOnly SameSite=Lax cookie",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: false,
  stateful: false,
  carrier: "cookie",
  canRevokeAll: false,
  family: "jwt",
  hybrid: "JWT inside secure cookies",
  async setup(scope, ctx) {
    const engine = await createJwtEngine(scope, ctx, "cookie", ctx.options.jwtTtlSec);
    return {
      async login(_request, reply, user) {
        engine.deliver(reply, await engine.sign({ sub: String(user.userId), role: user.role, ...ctx.users.extraClaims(user) }));
        return {};
      },
      async authenticate(request) {
        const claims = await engine.verify(request);
        return claims && principalOf(claims);
      },
      // Clears the cookie in the browser; a copy of the token stays valid until it expires.
      async logout(_request, reply) {
        engine.clear(reply);
      }
    };
  }
};

// servers/strategies/jwt-denylist.ts
import { randomBytes } from "node:crypto";
var jwtDenylist = {
  name: "jwt-denylist",
  description: "JWT in the Authorization header plus a Redis denylist of revoked token ids (jti)",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: true,
  stateful: true,
  carrier: "bearer",
  canRevokeAll: true,
  family: "jwt",
  hybrid: "JWT plus a revocation list",
  async setup(scope, ctx) {
    const redis = ctx.redis;
    const ttlSec = ctx.options.jwtTtlSec;
    const engine = await createJwtEngine(scope, ctx, "bearer", ttlSec);
    const deny = (jti, expSec) => {
      const ttlMs = expSec * 1e3 - Date.now();
      return ttlMs > 0 ? redis.set(`deny:${jti}`, "1", "PX", ttlMs) : null;
    };
    return {
      async login(_request, _reply, user) {
        const jti = randomBytes(12).toString("base64url");
        const accessToken = await engine.sign({ sub: String(user.userId), role: user.role, jti, ...ctx.users.extraClaims(user) });
        const expSec = Math.floor(Date.now() / 1e3) + ttlSec;
        await redis.multi().sadd(`ujti:${user.userId}`, `${jti}:${expSec}`).expire(`ujti:${user.userId}`, ttlSec + 1).exec();
        return { accessToken };
      },
      async authenticate(request) {
        const claims = await engine.verify(request);
        if (claims === null || claims.jti === void 0) return null;
        return await redis.exists(`deny:${claims.jti}`) === 0 ? principalOf(claims) : null;
      },
      async logout(request) {
        const claims = await engine.verify(request);
        if (claims?.jti !== void 0) await deny(claims.jti, claims.exp);
      },
      async revokeAll(userId) {
        const entries = await redis.smembers(`ujti:${userId}`);
        const pipeline = redis.pipeline();
        let n = 0;
        for (const entry of entries) {
          const [jti, exp] = entry.split(":");
          const ttlMs = Number(exp) * 1e3 - Date.now();
          if (jti && ttlMs > 0) {
            pipeline.set(`deny:${jti}`, "1", "PX", ttlMs);
            n++;
          }
        }
        pipeline.del(`ujti:${userId}`);
        await pipeline.exec();
        return n;
      }
    };
  }
};

// servers/strategies/session-strategy.ts
import { randomBytes as randomBytes2 } from "node:crypto";
import fastifyCookie2 from "@fastify/cookie";
import fastifySession from "@fastify/session";

// servers/strategies/session-stores.ts
function createMemoryBackend(ttlSec, sweepEveryMs = 6e4) {
  const ttlMs = ttlSec * 1e3;
  const sessions = /* @__PURE__ */ new Map();
  const byUser = /* @__PURE__ */ new Map();
  function remove(sid, entry) {
    sessions.delete(sid);
    unindex(sid, entry);
  }
  function unindex(sid, entry) {
    const uid = entry?.data?.userId;
    if (uid === void 0) return;
    const set = byUser.get(uid);
    set?.delete(sid);
    if (set?.size === 0) byUser.delete(uid);
  }
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [sid, entry] of sessions) if (entry.expiresAtMs <= now) remove(sid, entry);
  }, sweepEveryMs);
  sweeper.unref();
  function kill(sid) {
    const entry = sessions.get(sid);
    if (entry === void 0 || entry.data === null) return false;
    unindex(sid, entry);
    if (entry.expiresAtMs <= Date.now()) {
      sessions.delete(sid);
      return false;
    }
    sessions.set(sid, { data: null, expiresAtMs: Date.now() + ttlMs });
    return true;
  }
  return {
    async get(sid) {
      const entry = sessions.get(sid);
      if (entry === void 0) return null;
      if (entry.expiresAtMs <= Date.now()) {
        remove(sid, entry);
        return null;
      }
      return entry.data;
    },
    async set(sid, data) {
      const entry = sessions.get(sid);
      if (entry?.data === null && entry.expiresAtMs > Date.now()) return;
      sessions.set(sid, { data, expiresAtMs: Date.now() + ttlMs });
    },
    async destroy(sid) {
      kill(sid);
    },
    async index(userId, sid) {
      let set = byUser.get(userId);
      if (set === void 0) byUser.set(userId, set = /* @__PURE__ */ new Set());
      set.add(sid);
    },
    async revokeUser(userId) {
      const set = byUser.get(userId);
      if (set === void 0) return 0;
      let n = 0;
      for (const sid of [...set]) if (kill(sid)) n++;
      byUser.delete(userId);
      return n;
    },
    size: () => {
      let live = 0;
      for (const entry of sessions.values()) if (entry.data !== null) live++;
      return live;
    },
    close: () => clearInterval(sweeper)
  };
}
var TOMBSTONE = "!";
var SAVE = `
if redis.call('GET', KEYS[1]) == '${TOMBSTONE}' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '1' then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`;
var KILL = `
local n = 0
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v and v ~= '${TOMBSTONE}' then
    redis.call('SET', k, '${TOMBSTONE}', 'PX', ARGV[1])
    n = n + 1
  end
end
return n
`;
function createRedisBackend(redis, ttlSec) {
  const ttlMs = ttlSec * 1e3;
  redis.defineCommand("authbenchSessionSave", { numberOfKeys: 2, lua: SAVE });
  redis.defineCommand("authbenchSessionKill", { lua: KILL });
  const r = redis;
  const kill = (sids) => r.authbenchSessionKill(sids.length, ...sids.map((sid) => `sess:${sid}`), ttlMs);
  return {
    async get(sid) {
      const raw = await redis.get(`sess:${sid}`);
      return raw === null || raw === TOMBSTONE ? null : JSON.parse(raw);
    },
    async set(sid, data) {
      const indexed = data.userId !== void 0;
      await r.authbenchSessionSave(`sess:${sid}`, `usess:${indexed ? data.userId : 0}`, JSON.stringify(data), ttlMs, indexed ? "1" : "0");
    },
    async destroy(sid) {
      await kill([sid]);
    },
    async index(userId, sid) {
      await redis.multi().sadd(`usess:${userId}`, sid).pexpire(`usess:${userId}`, ttlMs).exec();
    },
    async revokeUser(userId) {
      const sids = await redis.smembers(`usess:${userId}`);
      if (sids.length === 0) return 0;
      const live = await kill(sids);
      await redis.srem(`usess:${userId}`, ...sids);
      return live;
    },
    size: () => null,
    close: () => {
    }
  };
}
function toLibraryStore(backend) {
  const fail = (cb) => (err) => cb(new StoreUnavailableError(err.message));
  return {
    set(sid, session, cb) {
      const data = {};
      if (session.userId !== void 0) data.userId = session.userId;
      if (session.role !== void 0) data.role = session.role;
      if (session.claims !== void 0) data.claims = session.claims;
      backend.set(sid, data).then(() => cb(), fail(cb));
    },
    get(sid, cb) {
      backend.get(sid).then((d) => cb(null, d), fail(cb));
    },
    destroy(sid, cb) {
      backend.destroy(sid).then(() => cb(), fail(cb));
    }
  };
}

// servers/strategies/session-strategy.ts
var SESSION_COOKIE = "sessionId";
var SessionUnavailableError = class extends Error {
  name = "SessionUnavailableError";
  statusCode = 400;
  constructor() {
    super("no session for this request target");
  }
};
function librarySession(request) {
  const session = request.session;
  return session != null && typeof session.destroy === "function" ? session : null;
}
function principalOf2(data) {
  return data && typeof data.userId === "number" && typeof data.role === "string" ? { userId: data.userId, role: data.role } : null;
}
async function setupSessionStrategy(scope, ctx, backend) {
  const { options, keys, users } = ctx;
  scope.addHook("onClose", async () => backend.close());
  const ttlSec = options.sessionTtlSec;
  if (options.profile === "floor") {
    const signer = createIdSigner(keys.sessionSecret);
    const sidOf = (request) => {
      const raw = readCookie(request.headers.cookie, SESSION_COOKIE);
      return raw === void 0 ? null : signer.unsign(raw);
    };
    return {
      async login(request, reply, user) {
        const old = sidOf(request);
        if (old !== null) await backend.destroy(old);
        const sid = randomBytes2(24).toString("base64url");
        const data = { userId: user.userId, role: user.role };
        const claims = users.extraClaims(user);
        if (Object.keys(claims).length > 0) data.claims = claims;
        await backend.set(sid, data);
        await backend.index(user.userId, sid);
        setCookie(reply, SESSION_COOKIE, signer.sign(sid), { maxAgeSec: ttlSec, secure: options.secureCookies });
        return {};
      },
      async authenticate(request) {
        const sid = sidOf(request);
        return sid === null ? null : principalOf2(await backend.get(sid));
      },
      async logout(request, reply) {
        const sid = sidOf(request);
        if (sid !== null) await backend.destroy(sid);
        clearCookie(reply, SESSION_COOKIE, options.secureCookies);
      },
      revokeAll: (userId) => backend.revokeUser(userId)
    };
  }
  async function destroyLibrarySession(request, reply) {
    const session = librarySession(request);
    if (session) await session.destroy();
    reply.clearCookie(SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "lax", secure: options.secureCookies });
  }
  const tuned = options.profile === "tuned";
  await scope.register(fastifyCookie2);
  await scope.register(fastifySession, {
    secret: keys.sessionSecret,
    cookieName: SESSION_COOKIE,
    store: toLibraryStore(backend),
    cookie: { secure: options.secureCookies, httpOnly: true, sameSite: "lax", path: "/", maxAge: ttlSec * 1e3 },
    ...tuned ? { rolling: false, saveUninitialized: false } : {}
  });
  return {
    async login(request, _reply, user) {
      const old = librarySession(request);
      if (old === null) throw new SessionUnavailableError();
      await old.regenerate();
      const session = librarySession(request);
      session.userId = user.userId;
      session.role = user.role;
      const claims = users.extraClaims(user);
      if (Object.keys(claims).length > 0) session.claims = claims;
      await backend.index(user.userId, session.sessionId);
      return {};
    },
    // hot path: plain field reads (principalOf refuses a `{}` session as well)
    authenticate: (request) => principalOf2(request.session),
    logout: (request, reply) => destroyLibrarySession(request, reply),
    async revokeAll(userId, request, reply) {
      const n = await backend.revokeUser(userId);
      if (librarySession(request)?.userId === userId) await destroyLibrarySession(request, reply);
      return n;
    }
  };
}

// servers/strategies/memory-session.ts
var memorySession = {
  name: "memory-session",
  description: "server-side session in this process's memory (expiring Map of plain data), id in a signed cookie",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: false,
  stateful: true,
  carrier: "cookie",
  canRevokeAll: true,
  family: "server-session",
  hybrid: null,
  setup: (scope, ctx) => setupSessionStrategy(scope, ctx, createMemoryBackend(ctx.options.sessionTtlSec))
};

// servers/strategies/redis-session.ts
var redisSession = {
  name: "redis-session",
  description: "server-side session in a shared Redis (key with TTL), id in a signed cookie",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: true,
  stateful: true,
  carrier: "cookie",
  canRevokeAll: true,
  family: "server-session",
  hybrid: null,
  setup: (scope, ctx) => setupSessionStrategy(scope, ctx, createRedisBackend(ctx.redis, ctx.options.sessionTtlSec))
};

// servers/strategies/refresh.ts
import { createHash, randomBytes as randomBytes3 } from "node:crypto";
var ROTATE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v == 'used' then redis.call('DEL', KEYS[2]) return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], 'used', 'KEEPTTL')
redis.call('SET', KEYS[3], v, 'PX', ARGV[1])
return tonumber(v)
`;
var hashToken = (token) => createHash("sha256").update(token).digest("base64url");
var REFRESH_COOKIE = "refreshToken";
var REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/;
function refreshTokenOf(request) {
  const body = request.body;
  const t = body?.refreshToken ?? readCookie(request.headers.cookie, REFRESH_COOKIE);
  return typeof t === "string" && REFRESH_TOKEN_SHAPE.test(t) ? t : null;
}
var END_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('DEL', KEYS[2])
`;
var refresh = {
  name: "refresh",
  description: "short-lived access JWT plus a rotating opaque refresh token in Redis, with reuse detection",
  profiles: ["defaults", "tuned", "floor"],
  needsRedis: true,
  stateful: true,
  carrier: "bearer",
  canRevokeAll: true,
  family: "jwt",
  hybrid: "refresh token systems",
  async setup(scope, ctx) {
    const redis = ctx.redis;
    const familyTtlMs = ctx.options.refreshTokenTtlSec * 1e3;
    const engine = await createJwtEngine(scope, ctx, "bearer", ctx.options.refreshAccessTtlSec);
    redis.defineCommand("authbenchRotate", { numberOfKeys: 3, lua: ROTATE });
    redis.defineCommand("authbenchEndFamily", { numberOfKeys: 2, lua: END_FAMILY });
    const scripts = redis;
    const rotate = (oldKey, famKey, newKey) => scripts.authbenchRotate(oldKey, famKey, newKey, familyTtlMs);
    const signAccess = (user, fam) => engine.sign({ sub: String(user.userId), role: user.role, fam, ...ctx.users.extraClaims(user) });
    const newRefreshToken = (fam) => `${fam}.${randomBytes3(32).toString("base64url")}`;
    return {
      async login(_request, _reply, user) {
        const fam = randomBytes3(12).toString("base64url");
        const tokens = { accessToken: await signAccess(user, fam), refreshToken: newRefreshToken(fam) };
        await redis.multi().set(`rf:${fam}`, String(user.userId), "PX", familyTtlMs).set(`rt:${hashToken(tokens.refreshToken)}`, String(user.userId), "PX", familyTtlMs).sadd(`ruf:${user.userId}`, fam).pexpire(`ruf:${user.userId}`, familyTtlMs).exec();
        return tokens;
      },
      async authenticate(request) {
        const claims = await engine.verify(request);
        return claims && principalOf(claims);
      },
      async refresh(request) {
        const token = refreshTokenOf(request);
        if (token === null) return null;
        const fam = token.slice(0, 16);
        const refreshToken = newRefreshToken(fam);
        const userId = await rotate(`rt:${hashToken(token)}`, `rf:${fam}`, `rt:${hashToken(refreshToken)}`);
        if (userId <= 0) return null;
        const user = ctx.users.byId(userId);
        return user && { accessToken: await signAccess(user, fam), refreshToken };
      },
      // The family ends whichever credential shows it: the refresh token (whatever the access token's
      // state: an idle client's access token has usually expired by the time it logs out), the access token, or both.
      async logout(request) {
        const token = refreshTokenOf(request);
        if (token !== null) await scripts.authbenchEndFamily(`rt:${hashToken(token)}`, `rf:${token.slice(0, 16)}`);
        const claims = await engine.verify(request);
        if (claims?.fam !== void 0) await redis.del(`rf:${claims.fam}`);
      },
      async revokeAll(userId) {
        const families = await redis.smembers(`ruf:${userId}`);
        if (families.length === 0) return 0;
        const n = await redis.del(...families.map((f) => `rf:${f}`));
        await redis.del(`ruf:${userId}`);
        return n;
      }
    };
  }
};

// servers/strategies/secure-session.ts
import fastifySecureSession from "@fastify/secure-session";
var SECURE_SESSION_COOKIE = "session";
var sessionOf = (request) => request.session;
var secureSession = {
  name: "secure-session",
  description: "stateless encrypted cookie session (@fastify/secure-session)",
  profiles: ["tuned"],
  needsRedis: false,
  stateful: false,
  carrier: "cookie",
  canRevokeAll: false,
  family: "encrypted-cookie",
  hybrid: "session data inside an encrypted cookie",
  async setup(scope, ctx) {
    const ttlSec = ctx.options.sessionTtlSec;
    await scope.register(fastifySecureSession, {
      key: ctx.keys.secureSessionKey,
      cookieName: SECURE_SESSION_COOKIE,
      expiry: ttlSec,
      cookie: { path: "/", httpOnly: true, sameSite: "lax", secure: ctx.options.secureCookies, maxAge: ttlSec }
    });
    return {
      async login(request, _reply, user) {
        const session = sessionOf(request);
        session.regenerate();
        session.set("userId", user.userId);
        session.set("role", user.role);
        const claims = ctx.users.extraClaims(user);
        if (Object.keys(claims).length > 0) session.set("claims", claims);
        return {};
      },
      authenticate(request) {
        const session = sessionOf(request);
        const userId = session.get("userId");
        const role = session.get("role");
        return typeof userId === "number" && Number.isInteger(userId) && typeof role === "string" ? { userId, role } : null;
      },
      async logout(request) {
        sessionOf(request).delete();
      }
    };
  }
};

// servers/strategies/index.ts
var STRATEGIES = Object.freeze({
  "memory-session": memorySession,
  "redis-session": redisSession,
  jwt,
  "jwt-cookie": jwtCookie,
  "jwt-denylist": jwtDenylist,
  refresh,
  "secure-session": secureSession
});

// servers/users.ts
import { createHash as createHash2, timingSafeEqual as timingSafeEqual2 } from "node:crypto";
function userPassword(i) {
  return `pw-user${i}`;
}
function digest(s) {
  return createHash2("sha256").update(s).digest();
}
function createUserDirectory(count, claims) {
  const digests = new Array(count + 1);
  for (let i = 1; i <= count; i++) digests[i] = digest(userPassword(i));
  const dummy = digest("never-a-password");
  function byId(userId) {
    if (!Number.isInteger(userId) || userId < 1 || userId > count) return null;
    return { userId, username: `user${userId}`, role: userId % 10 === 0 ? "admin" : "user" };
  }
  return {
    count,
    byId,
    checkPassword(username, password) {
      if (typeof username !== "string" || typeof password !== "string") return null;
      const m = /^user([1-9][0-9]{0,8})$/.exec(username);
      const user = m ? byId(Number(m[1])) : null;
      const expected = user ? digests[user.userId] : dummy;
      const ok = timingSafeEqual2(digest(password), expected);
      return ok && user ? user : null;
    },
    extraClaims: (user) => claimSet(user, user.claimSet ?? claims)
  };
}
var PERMISSIONS = Array.from({ length: 50 }, (_, i) => `resource${String(i).padStart(2, "0")}:read`);
function claimSet(user, claims) {
  if (claims === "small") return {};
  const typical = {
    name: `User ${user.userId}`,
    email: `user${user.userId}@example.com`,
    tenant: "acme",
    scope: "profile email",
    locale: "en-GB",
    plan: "pro"
  };
  return claims === "typical" ? typical : { ...typical, permissions: PERMISSIONS };
}

// servers/app.ts
var HEALTH_BODY = Object.freeze({ userId: 0, role: "none" });
var BASELINE_PATH = "/hc";
var principalSchema = {
  type: "object",
  properties: { userId: { type: "integer" }, role: { type: "string" } },
  required: ["userId", "role"]
};
var errorSchema = { type: "object", properties: { error: { type: "string" } }, required: ["error"] };
var loginBodySchema = {
  type: "object",
  properties: {
    username: { type: "string", maxLength: 64 },
    password: { type: "string", maxLength: 128 },
    // benchmark knob: which claim set the credential carries (default: the server's --claims)
    claims: { type: "string", enum: [...CLAIM_SETS] }
  },
  required: ["username", "password"]
};
function originForm(url) {
  if (url.charCodeAt(0) === 47) return url;
  const m = /^https?:\/\/[^/?#]*/i.exec(url);
  if (m === null) return url;
  const rest = url.slice(m[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}
function refuseCrossSite(request, reply, done) {
  const type = request.headers["content-type"];
  if (type !== void 0 && !/^application\/json\s*(;|$)/i.test(type)) {
    void reply.code(415).send({ error: "this route takes application/json only" });
    return;
  }
  const site = request.headers["sec-fetch-site"];
  const origin = request.headers.origin;
  if (site !== void 0 && site !== "same-origin" && site !== "none" || origin !== void 0 && !isSameOrigin(origin, request.headers.host)) {
    void reply.code(403).send({ error: "cross-origin request refused" });
    return;
  }
  done();
}
function isSameOrigin(origin, host) {
  try {
    return host !== void 0 && new URL(origin).host === host;
  } catch {
    return false;
  }
}
function checkStrategyOptions(options, hasRedis) {
  const strategy = STRATEGIES[options.strategy];
  if (!strategy.profiles.includes(options.profile)) {
    throw new ConfigError(`strategy ${strategy.name} has no '${options.profile}' profile (it has: ${strategy.profiles.join(", ")})`);
  }
  if (strategy.needsRedis && !hasRedis) {
    throw new ConfigError(`strategy ${strategy.name} needs Redis: set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379)`);
  }
}
async function buildApp(options, deps) {
  checkStrategyOptions(options, deps.redis !== null);
  const strategy = STRATEGIES[options.strategy];
  const app = Fastify({
    logger: options.logLevel === "silent" ? false : { level: options.logLevel, stream: process.stderr },
    // RFC 9112 §3.2.2: a server must accept the absolute form (`POST http://host/logout`); the auth
    // libraries check cookie paths against the URL, so hand them the origin form.
    rewriteUrl: (req) => originForm(req.url ?? "/"),
    // --secure-cookies means TLS ends at a proxy in front (on loopback): believe its X-Forwarded-Proto.
    trustProxy: options.secureCookies ? "loopback" : false
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: "not found" }));
  for (const path of ["/health", BASELINE_PATH]) app.get(path, { schema: { response: { 200: principalSchema } } }, async () => HEALTH_BODY);
  const users = createUserDirectory(options.userCount, options.claims);
  await app.register(async (scope) => {
    const auth = await strategy.setup(scope, { options, keys: deps.keys, users, redis: deps.redis });
    const onRequest = strategy.carrier === "cookie" ? refuseCrossSite : [];
    scope.post("/login", { onRequest, schema: { body: loginBodySchema, response: { 401: errorSchema } } }, async (request, reply) => {
      const { username, password, claims } = request.body;
      const found = users.checkPassword(username, password);
      if (found === null) return reply.code(401).send(UNAUTHORIZED);
      const user = claims === void 0 ? found : { ...found, claimSet: claims };
      const credential = await auth.login(request, reply, user);
      void reply.header("cache-control", "no-store");
      return { userId: user.userId, role: user.role, ...credential };
    });
    scope.get("/me", { schema: { response: { 200: principalSchema, 401: errorSchema } } }, async (request, reply) => {
      const principal = await auth.authenticate(request, reply);
      return principal ?? reply.code(401).send(UNAUTHORIZED);
    });
    scope.post("/logout", { onRequest }, async (request, reply) => {
      await auth.logout(request, reply);
      return reply.code(204).send();
    });
    scope.post("/refresh", async (request, reply) => {
      if (auth.refresh === void 0) return reply.code(404).send({ error: `${strategy.name} issues no refresh tokens` });
      const tokens = await auth.refresh(request, reply);
      if (tokens === null) return reply.code(401).send(UNAUTHORIZED);
      void reply.header("cache-control", "no-store");
      return tokens;
    });
    scope.post("/users/:id/revoke-all", { onRequest }, async (request, reply) => {
      const principal = await auth.authenticate(request, reply);
      if (principal === null) return reply.code(401).send(UNAUTHORIZED);
      const userId = Number(request.params.id);
      if (principal.userId !== userId && principal.role !== "admin") return reply.code(403).send({ error: "forbidden" });
      if (auth.revokeAll === void 0) {
        return reply.code(501).send({ error: `${strategy.name} cannot revoke issued credentials: they stay valid until they expire` });
      }
      return { revoked: await auth.revokeAll(userId, request, reply) };
    });
  });
  return app;
}

// servers/redis.ts
import { Redis } from "ioredis";
function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password === "") return url;
    u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}
async function connectRedis(url, keyPrefix, connectTimeoutMs = 2e3) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`REDIS_URL is not a URL: '${redactUrl(url)}'`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got '${redactUrl(url)}'`);
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(times * 50, 500)
  });
  redis.on("error", () => {
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new ConfigError(`cannot reach Redis at ${parsed.host}: ${err.message}`);
  }
  return redis;
}

// servers/secrets.ts
import { createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes as randomBytes4 } from "node:crypto";
import { readFileSync } from "node:fs";
var MIN_JWT_SECRET_BYTES = 32;
function derive(root, label) {
  return Buffer.from(hkdfSync("sha256", root, "authbench", label, 32));
}
function loadKeyMaterial(env, alg) {
  const warnings = [];
  let root;
  if (env.AUTHBENCH_SECRET) {
    if (env.AUTHBENCH_SECRET.length < 16) throw new ConfigError("AUTHBENCH_SECRET must be at least 16 characters");
    root = Buffer.from(env.AUTHBENCH_SECRET);
  } else {
    root = randomBytes4(32);
    warnings.push("AUTHBENCH_SECRET is not set: generated a random secret, so other instances will not accept this one's credentials");
  }
  if (env.JWT_SECRET && Buffer.byteLength(env.JWT_SECRET) < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes (RFC 7518 \xA73.2: HS256 keys \u2265 256 bits), got ${Buffer.byteLength(env.JWT_SECRET)}`);
  }
  const hmacKey = env.JWT_SECRET ? Buffer.from(env.JWT_SECRET) : derive(root, "jwt-hs");
  let jwtPrivateKey = null;
  let jwtPublicKey = null;
  if (alg !== "HS256") {
    const privFile = env.AUTHBENCH_JWT_PRIVATE_KEY_FILE;
    const pubFile = env.AUTHBENCH_JWT_PUBLIC_KEY_FILE;
    if (privFile && pubFile) {
      try {
        jwtPrivateKey = createPrivateKey(readFileSync(privFile));
        jwtPublicKey = createPublicKey(readFileSync(pubFile));
      } catch (err) {
        throw new ConfigError(`cannot read JWT key files: ${err.message}`);
      }
      checkKeyType(alg, jwtPrivateKey);
    } else {
      const pair = generateJwtKeyPair(alg);
      jwtPrivateKey = pair.privateKey;
      jwtPublicKey = pair.publicKey;
      warnings.push(`no AUTHBENCH_JWT_PRIVATE_KEY_FILE/AUTHBENCH_JWT_PUBLIC_KEY_FILE: generated a ${alg} key pair, so other instances will not accept this one's tokens`);
    }
  }
  return {
    sessionSecret: derive(root, "session-cookie").toString("hex"),
    hmacKey,
    jwtPrivateKey,
    jwtPublicKey,
    secureSessionKey: derive(root, "secure-session"),
    warnings
  };
}
function generateJwtKeyPair(alg) {
  switch (alg) {
    case "RS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "EdDSA":
      return generateKeyPairSync("ed25519");
    default:
      throw new ConfigError(`${alg} is symmetric: it has no key pair`);
  }
}
function checkKeyType(alg, key) {
  const expected = { HS256: "secret", RS256: "rsa", ES256: "ec", EdDSA: "ed25519" }[alg];
  if (key.asymmetricKeyType !== expected) {
    throw new ConfigError(`JWT key file holds a ${key.asymmetricKeyType} key but --alg ${alg} needs ${expected}`);
  }
}

// servers/instrument.ts
function attachInstrumentation(app) {
  const open = /* @__PURE__ */ new Set();
  let closedRead = 0;
  let closedWritten = 0;
  let requests = 0;
  let connections = 0;
  app.server.on("connection", (socket) => {
    connections++;
    open.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      closedRead += socket.bytesRead;
      closedWritten += socket.bytesWritten;
    });
  });
  app.server.on("request", () => {
    requests++;
  });
  const read = () => {
    let r = closedRead;
    let w = closedWritten;
    for (const s of open) {
      r += s.bytesRead;
      w += s.bytesWritten;
    }
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    return {
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      bytesReadTotal: r,
      bytesWrittenTotal: w,
      requestsTotal: requests,
      connectionsTotal: connections,
      atMs: Date.now()
    };
  };
  if (process.send) {
    process.on("message", (msg) => {
      const m = msg;
      if (m?.type !== "stats") return;
      if (m.gc && typeof globalThis.gc === "function") globalThis.gc();
      process.send({ type: "stats", id: m.id, stats: read() });
    });
  }
  return read;
}

// servers/main.ts
var CLOSE_DEADLINE_MS = 5e3;
function int(value) {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("not an integer");
  return n;
}
async function main() {
  const program = new Command("authbench-server").description("start one authbench server instance on 127.0.0.1").requiredOption("--strategy <name>", `auth strategy: ${STRATEGY_NAMES.join(", ")}`).option("--profile <profile>", `library profile: ${PROFILES.join(", ")}`, SERVER_DEFAULTS.profile).option("--alg <alg>", `JWT algorithm: ${JWT_ALGORITHMS.join(", ")}`, SERVER_DEFAULTS.alg).option("--claims <set>", `claims carried: ${CLAIM_SETS.join(", ")}`, SERVER_DEFAULTS.claims).option("--port <port>", "TCP port (0 = any free port)", int, SERVER_DEFAULTS.port).option("--host <address>", "address to bind", SERVER_DEFAULTS.host).option("--users <count>", "synthetic users user1\u2026userN", int, SERVER_DEFAULTS.userCount).option("--session-ttl <sec>", "session lifetime in seconds", int, SERVER_DEFAULTS.sessionTtlSec).option("--jwt-ttl <sec>", "access-token lifetime in seconds (jwt, jwt-cookie, jwt-denylist)", int, SERVER_DEFAULTS.jwtTtlSec).option("--refresh-access-ttl <sec>", "access-token lifetime in seconds for the refresh strategy", int, SERVER_DEFAULTS.refreshAccessTtlSec).option("--secure-cookies", "send cookies with the Secure attribute (behind TLS)", false).option("--log-level <level>", "server log level on stderr", SERVER_DEFAULTS.logLevel).configureOutput({ writeErr: (s) => process.stderr.write(`authbench-server: ${s.replace(/^error: /, "")}`) }).exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse();
  const o = program.opts();
  const options = resolveServerOptions({
    strategy: o.strategy,
    profile: o.profile,
    alg: o.alg,
    claims: o.claims,
    port: o.port,
    host: o.host,
    userCount: o.users,
    sessionTtlSec: o.sessionTtl,
    jwtTtlSec: o.jwtTtl,
    refreshAccessTtlSec: o.refreshAccessTtl,
    secureCookies: o.secureCookies,
    logLevel: o.logLevel,
    redisUrl: process.env.REDIS_URL || null,
    redisKeyPrefix: process.env.AUTHBENCH_REDIS_PREFIX || SERVER_DEFAULTS.redisKeyPrefix
  });
  const strategy = STRATEGIES[options.strategy];
  checkStrategyOptions(options, options.redisUrl !== null);
  const keys = loadKeyMaterial(process.env, options.alg);
  const redis = strategy.needsRedis ? await connectRedis(options.redisUrl, options.redisKeyPrefix) : null;
  for (const w of keys.warnings) process.stderr.write(`authbench-server: warning: ${w}
`);
  let app;
  try {
    app = await buildApp(options, { keys, redis });
    attachInstrumentation(app);
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    redis?.disconnect();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  process.stdout.write(JSON.stringify({
    event: "ready",
    strategy: options.strategy,
    profile: options.profile,
    alg: options.alg,
    claims: options.claims,
    host: options.host,
    port,
    pid: process.pid
  }) + "\n");
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
    await app.close();
    await redis?.quit().catch(() => redis?.disconnect());
    process.exit(0);
  };
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
  process.on("disconnect", close);
  if (process.send !== void 0 && !process.connected) void close();
}
main().catch((err) => {
  const known = err instanceof ConfigError || err.code === "EADDRINUSE";
  process.stderr.write(`authbench-server: ${known ? err.message : err.stack ?? err.message}
`);
  process.exit(known ? 2 : 1);
});
