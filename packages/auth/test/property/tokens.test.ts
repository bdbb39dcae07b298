// Property tests of the token core with fast-check: (a) no single-character edit of a genuine token
// verifies; (b) arbitrary strings and arbitrary JSON signed with the real keys either verify with
// exactly the signed claims or throw a TesseraError, matching an oracle written from the rules of
// docs/architecture.md "Tokens" and security.md §1; (c) authenticate() over arbitrary raw header lists and
// bodies throws only TesseraErrors, and returns only the genuine token.
// Long on purpose: the oracle it checks against is written out here, beside the properties.
import { Buffer, isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError, type AuthenticateOptions, type AuthRequest, type Key, type TokenKind, type TokenLocation } from '../../src/index.js';
import {
  ACCESS_TTL,
  ALGS,
  AUDIENCE,
  audienceFor,
  b64u,
  claimsFor,
  createFixtures,
  headerFor,
  ISSUER,
  LEEWAY,
  NOW,
  NOW_S,
  outcome,
  parts,
  patch,
  REFRESH_TTL,
  segment,
  signSegments,
  TYP,
  type Fixture,
  type Outcome,
} from '../support/forge.js';

const fixtures = await createFixtures();
const KINDS: readonly TokenKind[] = ['access', 'refresh'];
const MAX_TOKEN_LENGTH = 8192;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function verifyAs(f: Fixture, token: string, kind: TokenKind, instance: 'tessera' | 'lenient' = 'tessera') {
  return kind === 'access' ? f[instance].verifyAccessToken(token) : f[instance].verifyRefreshToken(token);
}

function genuine(f: Fixture, kind: TokenKind): string {
  return kind === 'access' ? f.pair.access.token : f.pair.refresh.token;
}

// ---------------------------------------------------------------------------------------------
// (a) single-character edits
// ---------------------------------------------------------------------------------------------
type Edit = { op: 'replace' | 'insert' | 'delete'; at: number; char: string };

function applyEdit(token: string, edit: Edit): string {
  const at = edit.at % (token.length + (edit.op === 'insert' ? 1 : 0));
  if (edit.op === 'delete') return token.slice(0, at) + token.slice(at + 1);
  if (edit.op === 'insert') return token.slice(0, at) + edit.char + token.slice(at);
  return token.slice(0, at) + edit.char + token.slice(at + 1);
}

const charArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...B64URL) },
  { weight: 2, arbitrary: fc.constantFrom('.', '=', '+', '/', ' ', '$', '\n', '\u0000', '"', '{', '\u2024', '\uff0e') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const editArb: fc.Arbitrary<Edit> = fc.record({ op: fc.constantFrom('replace', 'insert', 'delete'), at: fc.nat(), char: charArb });

describe('(a) a single-character edit never verifies', () => {
  for (const f of fixtures) {
    for (const kind of KINDS) {
      it(`${f.alg} ring, ${kind} token: random replace / insert / delete`, () => {
        const token = genuine(f, kind);
        expect(outcome(() => verifyAs(f, token, kind))).toBe('ok');
        fc.assert(
          fc.property(editArb, (edit) => {
            const edited = applyEdit(token, edit);
            fc.pre(edited !== token);
            // Every edit breaks the signature input or the signature, so the verdict is always token_invalid.
            expect(outcome(() => verifyAs(f, edited, kind))).toBe('token_invalid');
          }),
          { numRuns: 300 },
        );
      });

      it(`${f.alg} ring, ${kind} token: every position replaced and deleted`, () => {
        const token = genuine(f, kind);
        for (let i = 0; i < token.length; i++) {
          const current = token.charAt(i);
          const next = current === '.' ? 'A' : B64URL.charAt((B64URL.indexOf(current) + 1) % B64URL.length);
          const replaced = token.slice(0, i) + next + token.slice(i + 1);
          const deleted = token.slice(0, i) + token.slice(i + 1);
          expect([i, outcome(() => verifyAs(f, replaced, kind))]).toEqual([i, 'token_invalid']);
          expect([i, outcome(() => verifyAs(f, deleted, kind))]).toEqual([i, 'token_invalid']);
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// (b) arbitrary strings and arbitrary signed JSON
// ---------------------------------------------------------------------------------------------
const segmentArb = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((bytes) => b64u(bytes)),
  fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 80 }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => b64u(JSON.stringify(value) ?? 'null')),
);

describe('(b) arbitrary input: a TesseraError or the signed claims, nothing else', () => {
  const f = fixtures[0] as Fixture;

  it('arbitrary strings are refused with token_invalid', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        fc.constantFrom(...KINDS),
        (token, kind) => {
          expect(outcome(() => verifyAs(f, token, kind))).toBe('token_invalid');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('non-string tokens are refused with token_invalid', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'string'),
        (value) => {
          // The public signature takes a string; callers in plain JavaScript can pass anything.
          expect(outcome(() => f.tessera.verifyAccessToken(value as string))).toBe('token_invalid');
        },
      ),
      { numRuns: 100 },
    );
  });

  for (const g of fixtures) {
    it(`${g.alg} ring: arbitrary 3-segment base64url (genuine header and payload mixed in) is refused with token_invalid`, () => {
      const [h, p, s] = parts(g.pair.access.token);
      const pick = (genuinePart: string) => fc.oneof({ weight: 1, arbitrary: fc.constant(genuinePart) }, { weight: 2, arbitrary: segmentArb });
      fc.assert(
        fc.property(pick(h), pick(p), segmentArb, fc.constantFrom(...KINDS), (header, payload, sig, kind) => {
          fc.pre(sig !== s);
          expect(outcome(() => verifyAs(g, `${header}.${payload}.${sig}`, kind))).toBe('token_invalid');
        }),
        { numRuns: 300 },
      );
    });
  }
});

/** Stands for a payload that is not JSON text at all. */
const NOT_JSON = Symbol('not JSON');
const ACCESS_TYP = /^(?:application\/)?at\+jwt$/i;
const REFRESH_TYP = /^(?:application\/)?rt\+jwt$/i;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Object.hasOwn(value, '__proto__');
}
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;

/**
 * What verification must answer, from the rules alone (docs/architecture.md "Tokens", security.md §1, RFC 9068
 * §4): the header picks a key by kid and must name its one algorithm and the typ of its kind; the
 * signature comes next, then the kind, then the claims; time verdicts come last. `header` and
 * `claims` are the values as a JSON parser reads them back.
 */
function oracle(
  f: Fixture,
  input: { length: number; header: unknown; claims: unknown; signer: Key; as: TokenKind; leeway: number },
): readonly Outcome[] {
  const invalid = ['token_invalid'] as const;
  const { header, claims, signer, as, leeway } = input;
  if (input.length > MAX_TOKEN_LENGTH || !isObject(header)) return invalid;
  if (['crit', 'zip', 'enc', 'b64'].some((member) => Object.hasOwn(header, member))) return invalid;
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !ALGS.some((a) => a === alg)) return invalid;
  if (kid !== undefined && typeof kid !== 'string') return invalid;
  const key = kid === undefined ? f.key : kid === f.key.kid ? f.key : kid === f.refreshKey.kid ? f.refreshKey : undefined;
  if (key === undefined || key.alg !== alg) return invalid;
  const kind = key.purpose;
  if (typeof typ !== 'string' || !(kind === 'access' ? ACCESS_TYP : REFRESH_TYP).test(typ)) return invalid;
  if (signer !== key) return invalid;
  if (kind !== as) return ['token_type_invalid'];
  if (!isObject(claims)) return invalid;

  const { exp, iat, nbf, iss, aud, sub, jti, sid, type, fresh, csrf } = claims;
  const audience = audienceFor(kind);
  if (type !== kind || !isTime(exp) || !isTime(iat) || (nbf !== undefined && !isTime(nbf))) return invalid;
  if (iss !== ISSUER) return invalid;
  if (!(aud === audience || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(audience))))
    return invalid;
  if (!isId(sub) || !isId(jti) || !isId(sid)) return invalid;
  if (fresh !== undefined && (kind !== 'access' || typeof fresh !== 'boolean')) return invalid;
  if (csrf !== undefined && !isId(csrf)) return invalid;
  if (exp - iat > (kind === 'access' ? ACCESS_TTL : REFRESH_TTL)) return invalid;
  const expired = NOW >= exp * 1000 + leeway * 1000;
  const early = iat * 1000 > NOW + leeway * 1000 || (nbf !== undefined && nbf * 1000 > NOW + leeway * 1000);
  if (expired && early) return ['token_expired', 'token_not_yet_valid'];
  if (expired) return ['token_expired'];
  if (early) return ['token_not_yet_valid'];
  return ['ok'];
}

/** A value that is mostly the genuine one, sometimes missing, sometimes replaced. */
function mostly<T>(genuineValue: T, others: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constant(genuineValue) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: others },
  );
}

const timeArb = fc.oneof(
  fc.constantFrom(NOW_S, NOW_S - 1, NOW_S + 1, NOW_S - LEEWAY, NOW_S + LEEWAY, NOW_S + LEEWAY + 1, NOW_S + ACCESS_TTL, NOW_S + ACCESS_TTL + 1),
  fc.integer({ min: NOW_S - 2 * REFRESH_TTL, max: NOW_S + 2 * REFRESH_TTL }),
  fc.double(),
  fc.jsonValue({ maxDepth: 1 }),
);
const idArb = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'x'.repeat(256), 'x'.repeat(257)), fc.jsonValue({ maxDepth: 1 }));

/** Near-genuine headers: the kind's own header with members dropped, swapped or added. */
function headerArb(f: Fixture, kind: TokenKind): fc.Arbitrary<Record<string, unknown>> {
  const genuineHeader = headerFor(f, kind);
  return fc
    .record({
      alg: mostly(
        genuineHeader.alg,
        fc.oneof(fc.constantFrom(...ALGS, 'none', 'HS512', String(genuineHeader.alg).toLowerCase()), fc.jsonValue({ maxDepth: 1 })),
      ),
      typ: mostly(
        genuineHeader.typ,
        fc.oneof(
          fc.constantFrom(TYP.access, TYP.refresh, 'AT+JWT', 'application/at+jwt', 'application/rt+jwt', 'JWT', 'at+jwt '),
          fc.jsonValue({ maxDepth: 1 }),
        ),
      ),
      kid: mostly(
        genuineHeader.kid,
        fc.oneof(fc.constantFrom(f.key.kid, f.refreshKey.kid, f.other.kid, f.attacker.kid, ''), fc.jsonValue({ maxDepth: 1 })),
      ),
      extra: fc.option(
        fc.constantFrom<Record<string, unknown>>(
          { crit: [] },
          { crit: ['exp'] },
          { zip: 'DEF' },
          { enc: 'A128GCM' },
          { b64: true },
          { jku: 'https://attacker.example' },
          { x5c: [] },
          { note: 1 },
        ),
        { nil: {} },
      ),
    })
    .map(({ extra, ...members }) => patch(extra, members));
}

/** Near-genuine claims of a kind: each reserved claim mostly kept, sometimes dropped or replaced, plus extra claims. */
function claimsArb(kind: TokenKind): fc.Arbitrary<Record<string, unknown>> {
  const base = claimsFor(kind, { csrf: undefined });
  return fc
    .record({
      iss: mostly(ISSUER, fc.oneof(fc.constantFrom(AUDIENCE, `${ISSUER}/`, ISSUER.slice(0, -1), [ISSUER]), fc.jsonValue({ maxDepth: 1 }))),
      aud: mostly(
        base.aud,
        fc.oneof(fc.constantFrom(AUDIENCE, ISSUER, [AUDIENCE], [ISSUER], ['x', AUDIENCE, ISSUER], [], [AUDIENCE, 1]), fc.jsonValue({ maxDepth: 1 })),
      ),
      sub: mostly(base.sub, idArb),
      iat: mostly(base.iat, timeArb),
      nbf: mostly(base.nbf, timeArb),
      exp: mostly(base.exp, timeArb),
      jti: mostly(base.jti, idArb),
      sid: mostly(base.sid, idArb),
      type: mostly(kind, fc.oneof(fc.constantFrom('access', 'refresh', 'ACCESS'), fc.jsonValue({ maxDepth: 1 }))),
      fresh: fc.oneof(
        { weight: 6, arbitrary: fc.constant(kind === 'access' ? true : undefined) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
      csrf: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: idArb }),
      extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    })
    .map(({ extra, ...reserved }) => patch(extra, reserved));
}

/** Reads a part back as a JSON parser would (undefined members gone, NaN → null, own __proto__ kept). */
function reparsed(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? NOT_JSON : JSON.parse(text);
}

describe('(b) signed JSON: verification agrees with the rules', () => {
  for (const f of fixtures) {
    const signerArb = fc.constantFrom(f.key, f.refreshKey, f.attacker, f.other);
    const instanceArb = fc.constantFrom('tessera' as const, 'lenient' as const);

    it(`${f.alg} ring: near-genuine headers and claims, signed with real and foreign keys`, () => {
      const seen = new Set<Outcome>();
      const caseArb = fc.constantFrom(...KINDS).chain((kind) =>
        fc.record({
          header: headerArb(f, kind),
          claims: claimsArb(kind),
          // Mostly the kind's own key and expected kind, so that acceptance and the later checks are reached.
          signer: fc.oneof({ weight: 5, arbitrary: fc.constant(kind === 'access' ? f.key : f.refreshKey) }, { weight: 2, arbitrary: signerArb }),
          as: fc.oneof({ weight: 3, arbitrary: fc.constant(kind) }, { weight: 1, arbitrary: fc.constantFrom(...KINDS) }),
          instance: instanceArb,
        }),
      );
      fc.assert(
        fc.property(caseArb, ({ header, claims, signer, as, instance }) => {
          const token = signSegments(signer, segment(header), segment(claims));
          const leeway = instance === 'lenient' ? LEEWAY : 0;
          const expected = oracle(f, { length: token.length, header: reparsed(header), claims: reparsed(claims), signer, as, leeway });
          const got = outcome(() => verifyAs(f, token, as, instance));
          seen.add(got);
          expect(expected).toContain(got);
          if (got === 'ok') expect(JSON.stringify(verifyAs(f, token, as, instance))).toBe(JSON.stringify(reparsed(claims)));
        }),
        { numRuns: 400 },
      );
      // The generator reaches acceptance, refusal and the kind check: the property is not vacuous.
      expect([...seen]).toEqual(expect.arrayContaining(['ok', 'token_invalid', 'token_type_invalid']));
    });

    it(`${f.alg} ring: arbitrary JSON header and payload (or raw bytes) signed with the real keys`, () => {
      const partArb = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.object({ maxDepth: 2 }),
        fc.constantFrom<unknown>(headerFor(f, 'access'), headerFor(f, 'refresh'), claimsFor('access'), claimsFor('refresh')),
      );
      fc.assert(
        fc.property(
          partArb,
          fc.oneof(partArb, fc.uint8Array({ maxLength: 64 })),
          fc.constantFrom(f.key, f.refreshKey),
          fc.constantFrom(...KINDS),
          (header, payload, signer, as) => {
            const payloadSegment = payload instanceof Uint8Array ? b64u(payload) : b64u(JSON.stringify(payload) ?? '');
            fc.pre(payloadSegment.length > 0);
            const token = signSegments(signer, b64u(JSON.stringify(header) ?? ''), payloadSegment);
            const claims = payload instanceof Uint8Array ? (isUtf8(payload) ? bytesAsJson(payload) : NOT_JSON) : reparsed(payload);
            const expected = oracle(f, { length: token.length, header: reparsed(header), claims, signer, as, leeway: 0 });
            const got = outcome(() => verifyAs(f, token, as));
            expect(expected).toContain(got);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

/** Raw bytes as a JSON parser reads them, or NOT_JSON. */
function bytesAsJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

// ---------------------------------------------------------------------------------------------
// (c) authenticate() over arbitrary raw header lists and bodies
// ---------------------------------------------------------------------------------------------
const READ_HEADERS = ['authorization', 'cookie', 'x-csrf-token', 'origin', 'sec-fetch-site', 'host'];

describe('(c) authenticate: only TesseraErrors, and only the genuine token', () => {
  for (const f of fixtures) {
    const access = f.pair.access.token;
    const refresh = f.pair.refresh.token;
    const csrf = f.pair.csrf ?? '';
    const names = f.tessera.config.cookies.names;
    const editedToken = fc.tuple(fc.constantFrom(access, refresh), editArb).map(([token, edit]) => applyEdit(token, edit));

    const nameArb = fc.oneof(fc.mixedCase(fc.constantFrom(...READ_HEADERS)), fc.string({ maxLength: 16 }));
    const valueArb = fc.oneof(
      fc.constantFrom(
        `Bearer ${access}`,
        `bearer ${refresh}`,
        `BEARER   ${access}`,
        `Bearer ${access} `,
        `Bearer\t${access}`,
        `Bearer ${access}, Bearer ${access}`,
        'Basic dXNlcjpwYXNz',
        'Bearer',
        'Bearer ',
      ),
      fc.constantFrom(
        `${names.access}=${access}`,
        `${names.refresh}=${refresh}`,
        `${names.access}=${access}; ${names.csrf}=${csrf}`,
        `${names.access}="${access}"`,
        `${names.access}=${refresh}`,
        `${names.refresh}=${access}; ${names.refresh}=${refresh}`,
      ),
      fc.constantFrom(
        csrf,
        `${csrf} `,
        'https://issuer.example',
        'http://api.example',
        'https://api.example',
        'null',
        'cross-site',
        'same-site',
        'same-origin',
        'api.example',
      ),
      editedToken.map((token) => `Bearer ${token}`),
      editedToken.map((token) => `${names.access}=${token}`),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    // Genuine credentials planted among the random lines, so that acceptance is reached often.
    const planted: [string, string][] = [
      ['Authorization', `Bearer ${access}`],
      ['Authorization', `Bearer ${refresh}`],
      ['Cookie', `${names.access}=${access}; ${names.csrf}=${csrf}`],
      ['Cookie', `${names.refresh}=${refresh}`],
      ['X-CSRF-Token', csrf],
    ];
    const headersArb = fc
      .tuple(fc.array(fc.tuple(nameArb, valueArb), { maxLength: 4 }), fc.subarray(planted, { maxLength: 3 }))
      .chain(([random, chosen]) => fc.shuffledSubarray([...random, ...chosen], { minLength: random.length + chosen.length }))
      .map((pairs) => pairs.flat());
    const tokenValueArb = fc.oneof(fc.constantFrom<unknown>(access, refresh, ''), editedToken, fc.anything({ maxDepth: 1 }));
    const bodyArb = fc.oneof(
      fc.constant(undefined),
      fc.anything({ maxDepth: 2 }),
      fc.record({ access_token: tokenValueArb, refresh_token: tokenValueArb }, { requiredKeys: [] }),
    );
    const methodArb = fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'get', 'post'), fc.string({ maxLength: 8 }));
    const optionsArb: fc.Arbitrary<AuthenticateOptions> = fc.record(
      {
        token: fc.constantFrom<TokenKind>('access', 'refresh'),
        optional: fc.boolean(),
        fresh: fc.boolean(),
        locations: fc.shuffledSubarray<TokenLocation>(['header', 'cookie', 'body'], { minLength: 1 }),
        claims: fc.constantFrom({ sub: 'user-1' }, { sub: 'someone-else' }, { fresh: true }),
      },
      { requiredKeys: [] },
    );
    const requestArb = fc
      .record({ method: methodArb, headers: headersArb, body: bodyArb, protocol: fc.constantFrom('http', 'https', 'https:', 'ftp', '') })
      .map(({ protocol, body, ...rest }): AuthRequest => ({
        ...rest,
        ...(body === undefined ? {} : { body }),
        ...(protocol === '' ? {} : { protocol }),
      }));

    it(`${f.alg} ring: arbitrary headers, bodies, methods and options`, async () => {
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(requestArb, optionsArb, async (request, options) => {
          let result;
          try {
            result = await f.tessera.authenticate(request, options);
          } catch (err) {
            expect(err).toBeInstanceOf(TesseraError);
            seen.add((err as TesseraError).code);
            return;
          }
          if (result === null) {
            expect(options.optional).toBe(true);
            seen.add('null');
            return;
          }
          seen.add('result');
          const kind = options.token ?? 'access';
          expect(result.kind).toBe(kind);
          expect(result.token).toBe(kind === 'access' ? access : refresh);
          expect([result.sub, result.sid]).toEqual(['user-1', f.pair.sid]);
          if (result.location === 'cookie' && !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(request.method.toUpperCase())) {
            // A cookie credential on a state-changing method passed only with the one matching CSRF header.
            const csrfValues = request.headers.filter((_, i) => i % 2 === 1 && request.headers[i - 1]?.toLowerCase() === 'x-csrf-token');
            expect(csrfValues).toEqual([csrf]);
          }
        }),
        { numRuns: 250 },
      );
      expect([...seen]).toEqual(expect.arrayContaining(['result', 'null', 'token_invalid', 'token_missing', 'csrf_failed']));
    });

    const noiseArb = fc
      .array(
        fc.tuple(
          fc.string({ maxLength: 16 }).filter((n) => !READ_HEADERS.includes(n.toLowerCase())),
          fc.string({ unit: 'binary', maxLength: 40 }),
        ),
        { maxLength: 5 },
      )
      .map((pairs) => pairs.flat());

    it(`${f.alg} ring: one well-formed Bearer credential among unrelated headers is accepted`, async () => {
      const credentialArb = fc
        .tuple(fc.mixedCase(fc.constant('bearer')), fc.integer({ min: 1, max: 3 }))
        .map(([scheme, spaces]) => `${scheme}${' '.repeat(spaces)}${access}`);
      await fc.assert(
        fc.asyncProperty(noiseArb, fc.nat(), credentialArb, methodArb, fc.anything({ maxDepth: 1 }), async (noise, at, credential, method, body) => {
          const index = 2 * (at % (noise.length / 2 + 1));
          const headers = [...noise.slice(0, index), 'Authorization', credential, ...noise.slice(index)];
          const result = await f.tessera.authenticate({ method, headers, body }, { fresh: true });
          expect([result.token, result.location, result.sub]).toEqual([access, 'header', 'user-1']);
        }),
        { numRuns: 100 },
      );
    });

    it(`${f.alg} ring: a cookie credential on a state-changing method passes only with the matching CSRF header`, async () => {
      await fc.assert(
        fc.asyncProperty(
          noiseArb,
          fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH'),
          fc.option(fc.oneof(fc.constant(csrf), fc.string({ maxLength: 40 })), { nil: undefined }),
          async (noise, method, sentCsrf) => {
            const headers = [
              ...noise,
              'Cookie',
              `${names.access}=${access}; ${names.csrf}=${csrf}`,
              ...(sentCsrf === undefined ? [] : ['X-CSRF-Token', sentCsrf]),
            ];
            const got = await f.tessera.authenticate({ method, headers }).then(
              (r) => r.location,
              (err: unknown) => (err instanceof TesseraError ? err.code : 'not a TesseraError'),
            );
            expect(got).toBe(sentCsrf === csrf ? 'cookie' : 'csrf_failed');
          },
        ),
        { numRuns: 100 },
      );
      const ok = await f.tessera.authenticate({ method: 'POST', headers: ['Cookie', `${names.access}=${access}`, 'x-csrf-token', csrf] });
      expect(ok.location).toBe('cookie');
    });
  }
});
