/**
 * The article's claims and the fixed, written rule that gives each a verdict from a run's data.
 * Every rule is a pure function of results.json; a claim whose cells are missing is
 * "not measured in this run" — never guessed, never defaulted.
 */
import type { Cell, RunResults } from '../harness/results/results.ts'
import { STRATEGIES } from '../servers/strategies/index.ts'
import { fmt, isMeasured } from './model.ts'
import { EFFICIENCY_MARGIN, scalabilityFromCurve } from './scale-curve.ts'
import { clearlyLower, defs, isHybrid, isPureJwt, isSession, notMeasured, read, readLargest, show, type Def, type Reading, type Verdict } from './claim-inputs.ts'
import { layoutOf } from '../scenarios/scale-out.ts'
import { h2Metric, type H2Indexing } from '../scenarios/request-size.ts'

/** How the scalability verdict says it had no scale-out curve to go on. */
const PER_REQUEST_BASIS = 'basis: one instance\'s CPU per request (no scale-out curve in this run) — '

/** A revocation window at most this share of the lifetime is "refused at once". */
const AT_ONCE_SHARE = 0.1
/**
 * A window of at least this share of the lifetime is "valid until expiry": JWT `exp` has 1 s
 * granularity, so a short-lived token (2–4 s in the revocation scenario) can end up to 1 s early.
 */
const UNTIL_EXPIRY_SHARE = 0.5

export function scalability(results: RunResults): Verdict {
  const base = {
    id: 'scalability', claim: 'Scalability — sessions "Moderate", JWT "Better"',
    metrics: 'throughput: server CPU /me ÷ /health and Redis commands per request; scale-out: auth failures under round robin',
    rule: `with a scale-out curve (--instances 1,2,4…): supported when plain JWT's scaling efficiency at the largest instance count is higher than every server-side session's by more than ${EFFICIENCY_MARGIN * 100} points, ` +
      'refuted when lower than every one\'s by as much, depends otherwise; without one: supported when plain JWT costs clearly less CPU per request than every server-side session and needs no shared store; ' +
      'refuted when it costs clearly more than every one; depends otherwise (the condition names its basis, who is cheaper and what the sessions need to scale out)',
  }
  const fromCurve = scalabilityFromCurve(results, base)
  if (fromCurve) return fromCurve
  // one instance's per-request cost: the smallest instance count each strategy ran
  const single = (c: Cell) => c.instances === Math.min(...results.cells.filter((x) => x.scenario === 'throughput' && x.strategy === c.strategy && isMeasured(x)).map((x) => x.instances))
  const sessions = read(results, 'throughput', 'cpuRatio', defs().filter(isSession), single)
  const [jwt] = read(results, 'throughput', 'cpuRatio', defs().filter(isPureJwt), single)
  if (!jwt || sessions.length === 0) return notMeasured(base, 'throughput cells of jwt and of a server-side session strategy')
  const redisCmds = read(results, 'throughput', 'redisCommandsPerRequest', defs().filter(isSession), single)
  const rr = read(results, 'scale-out', 'authFailureShare', defs().filter(isSession), (c) => layoutOf(c) === 'roundRobin')
  const values = [...sessions.map((r) => show(r, '× /health CPU')), show(jwt, '× /health CPU'),
    ...redisCmds.filter((r) => r.e.median > 0).map((r) => show(r, 'Redis commands per request')),
    ...rr.map((r) => show(r, 'auth failures, round robin'))]
  const cheaper = sessions.filter((s) => clearlyLower(jwt.e, s.e)).map((s) => s.strategy)
  const dearer = sessions.filter((s) => clearlyLower(s.e, jwt.e)).map((s) => s.strategy)
  const needsStore = [...redisCmds.filter((r) => r.e.median > 0).map((r) => `${r.strategy} sends ${fmt(r.e.median)} Redis command(s) per request to one shared store`),
    ...rr.filter((r) => r.e.median > 0.05).map((r) => `${r.strategy} refuses ${fmt(r.e.median * 100)} % of requests under round robin`)]
  if (cheaper.length === sessions.length) {
    return { ...base, values, verdict: 'supported', condition: `${PER_REQUEST_BASIS}plain JWT costs ${fmt(jwt.e.median)}× /health per request, clearly less than ${cheaper.join(', ')}${needsStore.length ? `; ${needsStore.join('; ')}` : ''}` }
  }
  if (dearer.length === sessions.length) {
    return { ...base, values, verdict: 'refuted', condition: `${PER_REQUEST_BASIS}plain JWT's verification (${fmt(jwt.e.median)}× /health) costs clearly more per request than ${dearer.join(', ')}` }
  }
  const parts = [
    cheaper.length ? `JWT is cheaper per request than ${cheaper.join(', ')}` : '',
    dearer.length ? `dearer than ${dearer.join(', ')}` : '',
    sessions.filter((s) => !cheaper.includes(s.strategy) && !dearer.includes(s.strategy)).map((s) => `no clear difference from ${s.strategy}`).join(', '),
  ].filter(Boolean)
  return { ...base, values, verdict: 'depends', condition: `${PER_REQUEST_BASIS}plain JWT costs ${fmt(jwt.e.median)}× /health per request: ${parts.join('; ')}${needsStore.length ? `; ${needsStore.join('; ')}` : ''}` }
}

/** 2. Logout: sessions "easy", JWT "harder" (the token remains valid until expiry). */
export function logout(results: RunResults): Verdict {
  const base = {
    id: 'logout', claim: 'Logout handling — sessions "Easy", JWT "Harder" ("token remains valid until expiry")',
    metrics: 'revocation: how long a copied credential still works after logout, as a share of its lifetime',
    rule: `supported when every server-side session is refused within ${AT_ONCE_SHARE * 100} % of its lifetime after logout and a plain JWT stays valid for at least ${UNTIL_EXPIRY_SHARE * 100} % of it (exp has 1 s granularity); refuted when the JWT is refused at once or a session lives on; depends otherwise`,
  }
  const sessions = read(results, 'revocation', 'windowSameInstanceShareOfTtl', defs().filter(isSession))
  const [jwt] = read(results, 'revocation', 'windowSameInstanceShareOfTtl', defs().filter(isPureJwt))
  if (!jwt || sessions.length === 0) return notMeasured(base, 'revocation cells of jwt and of a server-side session strategy')
  const hybrids = read(results, 'revocation', 'windowSameInstanceShareOfTtl', defs().filter(isHybrid))
  const secs = read(results, 'revocation', 'windowSameInstanceSec', defs().filter((d) => d.name === jwt.strategy))[0]
  const values = [...sessions, jwt, ...hybrids].map((r) => show(r, 'of the lifetime'))
  const sessionsAtOnce = sessions.every((s) => s.e.median <= AT_ONCE_SHARE)
  const jwtLives = jwt.e.median >= UNTIL_EXPIRY_SHARE
  const revocableHybrids = hybrids.filter((h) => h.e.median <= AT_ONCE_SHARE).map((h) => h.strategy)
  const hybridNote = revocableHybrids.length ? `; ${revocableHybrids.join(' and ')} ${revocableHybrids.length > 1 ? 'refuse' : 'refuses'} at once by keeping server-side state again` : ''
  if (sessionsAtOnce && jwtLives) {
    return { ...base, values, verdict: 'supported', condition: `a logged-out session is refused at once; a copied JWT kept working for ${secs ? `${fmt(secs.e.median)} s, ` : ''}${fmt(jwt.e.median * 100)} % of its lifetime${hybridNote}` }
  }
  if (jwt.e.median <= AT_ONCE_SHARE || sessions.some((s) => s.e.median >= UNTIL_EXPIRY_SHARE)) {
    return { ...base, values, verdict: 'refuted', condition: jwt.e.median <= AT_ONCE_SHARE ? 'a plain JWT was refused right after logout' : `a session (${sessions.filter((s) => s.e.median >= UNTIL_EXPIRY_SHARE).map((s) => s.strategy).join(', ')}) lived on after logout` }
  }
  return { ...base, values, verdict: 'depends', condition: `neither refused at once nor valid until expiry: sessions ${sessions.map((s) => fmt(s.e.median)).join('/')}, JWT ${fmt(jwt.e.median)} of the lifetime${hybridNote}` }
}

/** 3. Token size: session id "small", JWT "larger". */
export function tokenSize(results: RunResults): Verdict {
  const base = {
    id: 'token-size', claim: 'Token size — session "Small", JWT "Larger" ("token sent repeatedly")',
    metrics: 'request-size: credential bytes per request, counted at the server socket, per claim set, over HTTP/1.1 (the verdict) and HTTP/2 (said beside it)',
    rule: 'supported when the plain JWT adds clearly more bytes per request than every server-side session id for every claim set measured; refuted when it never does; depends when it does for some claim sets only',
  }
  const sets = ['Small', 'Typical', 'Large']
  const rows = sets.map((set) => ({
    set,
    sessions: read(results, 'request-size', `credentialBytesPerRequest${set}`, defs().filter(isSession)),
    jwt: read(results, 'request-size', `credentialBytesPerRequest${set}`, defs().filter(isPureJwt))[0],
  })).filter((r) => r.jwt && r.sessions.length > 0)
  if (rows.length === 0) return notMeasured(base, 'request-size cells of jwt and of a server-side session strategy')
  const values = rows.flatMap((r) => [...r.sessions, r.jwt!].map((x) => `${show(x, 'B')} (${r.set.toLowerCase()} claims)`))
  const larger = rows.filter((r) => r.sessions.every((s) => clearlyLower(s.e, r.jwt!.e)))
  const extra = (r: (typeof rows)[number]) => `+${fmt(r.jwt!.e.median - Math.max(...r.sessions.map((s) => s.e.median)))} B per request with ${r.set.toLowerCase()} claims`
  const h2 = http2Note(results)
  if (larger.length === rows.length) return { ...base, values, verdict: 'supported', condition: `larger over HTTP/1.1: ${rows.map(extra).join(', ')}${h2}` }
  if (larger.length === 0) return { ...base, values, verdict: 'refuted', condition: `the JWT was not larger than a session id for any claim set measured${h2}` }
  return { ...base, values, verdict: 'depends', condition: `larger for ${larger.map((r) => r.set.toLowerCase()).join(', ')} claims only: ${rows.map(extra).join(', ')}${h2}` }
}

/**
 * Under HTTP/2 what a credential costs after the first request of a connection depends on HPACK: a
 * cookie is indexed and then costs a byte or so, a bearer token is never indexed (nghttp2, RFC 7541
 * §7.1.3), and a client that marks its credential never-indexed pays it in full again. '' when not measured.
 */
function http2Note(results: RunResults): string {
  const later = (mode: H2Indexing, pick: (d: Def) => boolean) => read(results, 'request-size', h2Metric.laterRequest('small', mode), defs().filter(pick))
  const jwt = later('Default', isPureJwt)[0]
  const jwtCookie = later('Default', (d) => d.name === 'jwt-cookie')[0]
  const sessions = later('Default', isSession)
  const jwtNever = later('NeverIndexed', isPureJwt)[0]
  const sessionsNever = later('NeverIndexed', isSession)
  if (!jwt || sessions.length === 0) return ''
  const max = (rs: Reading[]) => fmt(Math.max(...rs.map((r) => r.e.median)))
  return `; over HTTP/2, on each request after a connection's first (small claims): a bearer JWT still ${fmt(jwt.e.median)} B (never indexed by HPACK)` +
    `${jwtCookie ? `, the same JWT in a cookie ${fmt(jwtCookie.e.median)} B (indexed)` : ''}, a session cookie ${max(sessions)} B (indexed)` +
    `${jwtNever && sessionsNever.length ? `; marked never-indexed, ${fmt(jwtNever.e.median)} B against ${max(sessionsNever)} B` : ''}` +
    `: under HTTP/2 the claim ${jwt.e.median > Math.max(...sessions.map((r) => r.e.median)) + 10 ? 'holds for a bearer JWT' : 'does not hold for a bearer JWT'}` +
    `${jwtCookie ? `, ${jwtCookie.e.median > Math.max(...sessions.map((r) => r.e.median)) + 10 ? 'and for a JWT in a cookie' : 'not for a JWT in a cookie'}` : ''}`
}

/** 4. Sessions cost "server memory". */
export function serverMemory(results: RunResults): Verdict {
  const base = {
    id: 'server-memory', claim: 'Drawback of sessions — "Server memory usage: sessions stored on server"',
    metrics: 'memory: heap bytes per live credential (in-process sessions) and Redis bytes per credential, at the largest population measured',
    rule: 'supported when a server-side session holds clearly more bytes per live credential (heap or Redis) than the plain JWT holds in heap; refuted when none does',
  }
  const heap = readLargest(results, 'memory', 'heapBytesPerCredentialAt', defs().filter((d) => isSession(d) && !d.needsRedis))
  const redis = readLargest(results, 'memory', 'redisBytesPerCredentialAt', defs().filter((d) => isSession(d) && d.needsRedis))
  const [jwt] = readLargest(results, 'memory', 'heapBytesPerCredentialAt', defs().filter(isPureJwt))
  if (!jwt || heap.length + redis.length === 0) return notMeasured(base, 'memory cells of jwt and of a server-side session strategy')
  const values = [...heap.map((r) => show(r, 'B heap per credential')), ...redis.map((r) => show(r, 'B Redis per credential')), show(jwt, 'B heap per credential')]
  const costly = [...heap, ...redis].filter((r) => clearlyLower(jwt.e, r.e) && r.e.median - jwt.e.median > 50)
  if (costly.length === 0) return { ...base, values, verdict: 'refuted', condition: 'no session strategy held clearly more per credential than the stateless JWT' }
  const per100k = (r: Reading) => `${r.strategy} ≈ ${fmt((r.e.median * 100_000) / 1e6)} MB per 100 000 live sessions`
  return { ...base, values, verdict: 'supported', condition: `${costly.map(per100k).join('; ')}; the JWT keeps ${fmt(jwt.e.median)} B per credential (allocator noise, no state)` }
}

/** 5. Sessions: "harder horizontal scaling — shared session store needed". */
export function sharedStore(results: RunResults): Verdict {
  const base = {
    id: 'shared-store', claim: 'Drawback of sessions — "Harder horizontal scaling: shared session store needed"',
    metrics: 'scale-out: auth failures under round robin vs sticky; failover: logins lost when an instance dies',
    rule: 'supported when in-process sessions fail under round robin while Redis-backed sessions do not, and either no sticky layout was measured or the instance-kill test loses logins; depends when sticky routing alone keeps sessions working and losses on failover were not measured; refuted when in-process sessions do not fail under round robin',
  }
  const local = defs().filter((d) => isSession(d) && !d.needsRedis)
  const shared = defs().filter((d) => isSession(d) && d.needsRedis)
  const rrLocal = read(results, 'scale-out', 'authFailureShare', local, (c) => layoutOf(c) === 'roundRobin')
  const rrShared = read(results, 'scale-out', 'authFailureShare', shared, (c) => layoutOf(c) === 'roundRobin')
  const sticky = read(results, 'scale-out', 'authFailureShare', local, (c) => layoutOf(c) === 'sticky')
  const lost = read(results, 'failover', 'lostLoginShareAfterKill', local)
  if (rrLocal.length === 0) return notMeasured(base, 'scale-out cells of an in-process session strategy with more than one instance')
  const values = [...rrLocal.map((r) => show(r, 'auth failures, round robin')), ...rrShared.map((r) => show(r, 'auth failures, round robin')),
    ...sticky.map((r) => show(r, 'auth failures, sticky')), ...lost.map((r) => show(r, 'logins lost on instance kill'))]
  const fails = rrLocal.filter((r) => r.e.median > 0.05)
  if (fails.length === 0) return { ...base, values, verdict: 'refuted', condition: 'in-process sessions worked under round robin without a shared store' }
  const sharedOk = rrShared.length === 0 || rrShared.every((r) => r.e.median <= 0.01)
  const stickyOk = sticky.some((r) => r.e.median <= 0.01)
  const losesOnKill = lost.some((r) => r.e.median > 0.05)
  const failText = `without a shared store ${fails.map((r) => `${r.strategy} refuses ${fmt(r.e.median * 100)} % of requests under round robin`).join(', ')}`
  if (sharedOk && (!stickyOk || losesOnKill)) {
    const kill = losesOnKill ? `; sticky routing avoids that until an instance dies, which logs out ${fmt(lost[0]!.e.median * 100)} % of users` : ''
    return { ...base, values, verdict: 'supported', condition: `${failText}${rrShared.length ? `; with Redis, ${rrShared.map((r) => r.strategy).join(', ')} fails ${fmt(rrShared[0]!.e.median * 100)} %` : ''}${kill}` }
  }
  return { ...base, values, verdict: 'depends', condition: `${failText}; sticky routing ${stickyOk ? 'alone keeps them working' : 'was not measured'}${lost.length ? '' : ', and losses when an instance dies were not measured'}` }
}

/** 6. Revocation: sessions "easier", JWT "revocation complexity". */
export function revocation(results: RunResults): Verdict {
  const base = {
    id: 'revocation', claim: 'Revocation — sessions "Easier revocation: server controls sessions", JWT "Token revocation complexity"',
    metrics: 'revocation: share of a user\'s credentials still accepted after revoke-all; throughput: what revocability costs a JWT (jwt-denylist, refresh vs jwt: CPU ratio, Redis commands per request)',
    rule: 'supported when every server-side session strategy revokes all (≤ 1 % still accepted) and the plain JWT cannot (≥ 99 % accepted); refuted when the plain JWT revokes as well as the sessions; depends otherwise',
  }
  const sessions = read(results, 'revocation', 'revokeAllStillAcceptedShare', defs().filter(isSession))
  const [jwt] = read(results, 'revocation', 'revokeAllStillAcceptedShare', defs().filter(isPureJwt))
  if (!jwt || sessions.length === 0) return notMeasured(base, 'revocation cells of jwt and of a server-side session strategy')
  const revocable = defs().filter((d) => d.family === 'jwt' && d.canRevokeAll)
  const cost = read(results, 'throughput', 'cpuRatio', revocable)
  const [jwtCost] = read(results, 'throughput', 'cpuRatio', defs().filter(isPureJwt))
  const cmds = read(results, 'throughput', 'redisCommandsPerRequest', revocable)
  const values = [...sessions, jwt, ...read(results, 'revocation', 'revokeAllStillAcceptedShare', revocable)].map((r) => show(r, 'still accepted after revoke-all'))
    .concat(jwtCost ? [jwtCost, ...cost].map((r) => show(r, '× /health CPU')) : [], cmds.map((r) => show(r, 'Redis commands per request')))
  const price = jwtCost && cost.length
    ? `; revocable JWTs pay for it: ${cost.map((c) => `${c.strategy} ${fmt(c.e.median)}× vs ${fmt(jwtCost.e.median)}× /health${cmds.find((x) => x.strategy === c.strategy) ? ` and ${fmt(cmds.find((x) => x.strategy === c.strategy)!.e.median)} Redis command(s) per request` : ''}`).join('; ')}`
    : ''
  // in-process sessions on other instances are out of reach of a revoke-all sent to one of them
  const elsewhere = read(results, 'revocation', 'revokeAllStillAcceptedOtherInstanceShare', defs().filter(isSession)).filter((r) => r.e.median > 0.01)
  values.push(...elsewhere.map((r) => show(r, 'still accepted on the other instance')))
  const elsewhereNote = elsewhere.length ? `; but ${elsewhere.map((r) => `${r.strategy}'s sessions on another instance stay valid (${fmt(r.e.median * 100)} %)`).join(', ')}: revoke-all reaches only the instance that receives it` : ''
  if (sessions.every((s) => s.e.median <= 0.01) && jwt.e.median >= 0.99) {
    return { ...base, values, verdict: 'supported', condition: `sessions end every credential of a user at once; a plain JWT cannot be revoked at all${elsewhereNote}${price}` }
  }
  if (jwt.e.median <= 0.01) return { ...base, values, verdict: 'refuted', condition: 'the plain JWT was revoked as completely as the sessions' }
  return { ...base, values, verdict: 'depends', condition: `sessions left ${sessions.map((s) => fmt(s.e.median * 100) + ' %').join('/')} accepted, the JWT ${fmt(jwt.e.median * 100)} %${price}` }
}

/** 7. JWT "stateless — no session storage needed". */
export function stateless(results: RunResults): Verdict {
  const base = {
    id: 'stateless', claim: 'Benefit of JWT — "Scalable: no session storage needed" (stateless)',
    metrics: 'memory: heap bytes per live credential, plain JWT against an in-process session; revocation and memory: Redis keys and bytes per credential of the JWT variants that bring state back',
    rule: 'supported when the plain JWT (which by design uses no store) grows its server\'s heap by less than a tenth of an in-process session\'s per live credential, or no session was measured beside it; refuted when it grows it as much as a session; depends in between (the measurement cannot tell allocation noise from state); the condition names the state every revocable variant brings back',
  }
  const [jwt] = readLargest(results, 'memory', 'heapBytesPerCredentialAt', defs().filter(isPureJwt))
  if (!jwt) return notMeasured(base, 'the memory cell of jwt')
  const sessions = readLargest(results, 'memory', 'heapBytesPerCredentialAt', defs().filter((d) => isSession(d) && !d.needsRedis))
  const stateful = defs().filter((d) => d.family === 'jwt' && d.stateful)
  const keys = read(results, 'revocation', 'revocationKeysPerLiveCredential', stateful)
  const perLogout = read(results, 'revocation', 'revocationKeysLeftPerLogout', stateful)
  const bytes = readLargest(results, 'memory', 'redisBytesPerCredentialAt', stateful)
  const values = [show(jwt, 'B heap per credential'), ...sessions.map((r) => show(r, 'B heap per credential')),
    ...keys.map((r) => show(r, 'Redis keys per live credential')), ...perLogout.map((r) => show(r, 'keys left per logout')), ...bytes.map((r) => show(r, 'B Redis per credential'))]
  const back = [...keys.filter((k) => k.e.median > 0).map((k) => `${k.strategy} ${fmt(k.e.median)} Redis key(s) per live credential`),
    ...perLogout.filter((k) => k.e.median > 0).map((k) => `${k.strategy} ${fmt(k.e.median)} left per logout`),
    ...bytes.filter((k) => k.e.median > 0).map((k) => `${k.strategy} ${fmt(k.e.median)} B of Redis per credential`)]
  const backText = back.length ? `, but every revocable variant brings storage back: ${back.join(', ')}` : ''
  if (sessions.length > 0 && sessions.every((s) => jwt.e.median >= s.e.median)) {
    return { ...base, values, verdict: 'refuted', condition: `the plain JWT's server grew ${fmt(jwt.e.median)} B per credential, as much as ${sessions.map((s) => `${s.strategy}'s ${fmt(s.e.median)} B`).join(', ')}` }
  }
  if (sessions.length > 0 && sessions.some((s) => jwt.e.median >= s.e.median / 10)) {
    return { ...base, values, verdict: 'depends', condition: `the plain JWT needs no store, but its server still grew ${fmt(jwt.e.median)} B per credential against ${sessions.map((s) => `${s.strategy}'s ${fmt(s.e.median)} B`).join(', ')}: at this population size allocation noise is not told apart from state${backText}` }
  }
  return { ...base, values, verdict: 'supported', condition: `the plain JWT needs no store: its server grew ${fmt(jwt.e.median)} B per credential (no per-credential state; allocation noise)${sessions.length ? ` against ${sessions.map((s) => `${s.strategy}'s ${fmt(s.e.median)} B`).join(', ')}` : ''}${backText}` }
}

/** 8. The hybrids the article recommends. */
export function hybrids(results: RunResults): Verdict {
  const base = {
    id: 'hybrids', claim: 'Modern systems "combine both": "JWT inside secure cookies", "refresh token systems"',
    metrics: 'throughput: CPU /me ÷ /health; revocation: share of the lifetime a copied credential works after logout — each hybrid against plain JWT and a server-side session',
    rule: 'supported when some hybrid is refused after logout within 10 % of its lifetime at a per-request CPU no clearly higher than the dearest server-side session; refuted when no hybrid revokes better than the plain JWT; depends otherwise. The condition places every hybrid',
  }
  const hs = defs().filter(isHybrid)
  const cost = read(results, 'throughput', 'cpuRatio', hs)
  const window = read(results, 'revocation', 'windowSameInstanceShareOfTtl', hs)
  const sessionCost = read(results, 'throughput', 'cpuRatio', defs().filter(isSession))
  const [jwtWindow] = read(results, 'revocation', 'windowSameInstanceShareOfTtl', defs().filter(isPureJwt))
  const both = cost.filter((c) => window.some((w) => w.strategy === c.strategy))
  if (both.length === 0 || !jwtWindow) return notMeasured(base, 'throughput and revocation cells of a hybrid strategy and of jwt')
  const values = [...cost.map((r) => show(r, '× /health CPU')), ...window.map((r) => show(r, 'of the lifetime valid after logout')), show(jwtWindow, 'of the lifetime valid after logout (plain JWT)')]
  const place = both.map((c) => {
    const w = window.find((x) => x.strategy === c.strategy)!
    return `${c.strategy} (${STRATEGIES[c.strategy as keyof typeof STRATEGIES].hybrid}): ${fmt(c.e.median)}× /health, valid ${fmt(w.e.median * 100)} % of its lifetime after logout`
  }).join('; ')
  const dearestSession = sessionCost.length ? sessionCost.reduce((a, b) => (a.e.median >= b.e.median ? a : b)) : null
  const good = both.filter((c) => {
    const w = window.find((x) => x.strategy === c.strategy)!
    return w.e.median <= AT_ONCE_SHARE && (dearestSession === null || !clearlyLower(dearestSession.e, c.e))
  })
  if (good.length > 0) return { ...base, values, verdict: 'supported', condition: `${good.map((g) => g.strategy).join(', ')} ${good.length > 1 ? 'revoke' : 'revokes'} at once at no more than a server-side session's cost: ${place}` }
  if (window.every((w) => !clearlyLower(w.e, jwtWindow.e))) return { ...base, values, verdict: 'refuted', condition: `no hybrid revoked better than the plain JWT: ${place}` }
  return { ...base, values, verdict: 'depends', condition: place }
}

/** Every claim rule, in the order of the verdict table. */
export const CLAIM_RULES = [scalability, logout, tokenSize, serverMemory, sharedStore, revocation, stateless, hybrids] as const

export function verdicts(results: RunResults): Verdict[] {
  return CLAIM_RULES.map((rule) => rule(results))
}

export { clearlyLower, type Verdict, type VerdictKind } from './claim-inputs.ts'
