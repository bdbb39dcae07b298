// The published JOSE vectors (RFC 7515 A.1–A.3, RFC 8037, RFC 7520) against the token core, at the JWS
// layer and through verification with expiry set aside. Long on purpose: every vector, every check.
import { Buffer } from 'node:buffer';
import { randomBytes, type JsonWebKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signInput } from '../../src/core/tokens/jws.js';
import { verifyCompactJws } from '../support/compact-jws.js';
import {
  ALGORITHMS,
  ConfigError,
  createTessera,
  fixedClock,
  generateRefreshKey,
  importKey,
  TesseraError,
  TokenExpiredError,
  TokenInvalidError,
  type Algorithm,
  type Clock,
  type Key,
} from '../../src/index.js';

/** One entry of security.md §10 (`vectors.json`). */
interface Vector {
  name: string;
  alg: string;
  jwk: JsonWebKey;
  token: string;
  expected_payload: string;
  expected_header: Record<string, unknown>;
  expected_claims?: Record<string, unknown>;
  source: string;
}

// A verbatim copy of /work/shared/reference/vectors.json (its `notes` left out; their caveats are the
// comments below), kept here so the suite runs in any checkout and cannot drift with a file outside the repo.
const VECTORS: readonly Vector[] = [
  {
    name: 'RFC7515-A.1-HS256',
    alg: 'HS256',
    jwk: {
      kty: 'oct',
      k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
    },
    token:
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    expected_payload: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    expected_claims: {
      iss: 'joe',
      exp: 1300819380,
      'http://example.com/is_root': true,
    },
    expected_header: {
      typ: 'JWT',
      alg: 'HS256',
    },
    source: 'RFC 7515 Appendix A.1 (Example JWS Using HMAC SHA-256)',
  },
  {
    name: 'RFC7515-A.2-RS256',
    alg: 'RS256',
    jwk: {
      kty: 'RSA',
      n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
      e: 'AQAB',
      d: 'Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ',
      p: '4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc',
      q: 'uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc',
      dp: 'BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0',
      dq: 'h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU',
      qi: 'IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U',
    },
    token:
      'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw',
    expected_payload: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    expected_claims: {
      iss: 'joe',
      exp: 1300819380,
      'http://example.com/is_root': true,
    },
    expected_header: {
      alg: 'RS256',
    },
    source: 'RFC 7515 Appendix A.2 (Example JWS Using RSASSA-PKCS1-v1_5 SHA-256)',
  },
  {
    name: 'RFC7515-A.3-ES256',
    alg: 'ES256',
    jwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
      d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
    },
    token:
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q',
    expected_payload: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    expected_claims: {
      iss: 'joe',
      exp: 1300819380,
      'http://example.com/is_root': true,
    },
    expected_header: {
      alg: 'ES256',
    },
    source: 'RFC 7515 Appendix A.3 (Example JWS Using ECDSA P-256 SHA-256)',
  },
  {
    name: 'RFC8037-A.4-EdDSA-Ed25519',
    alg: 'EdDSA',
    jwk: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
    },
    token:
      'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
    expected_payload: 'Example of Ed25519 signing',
    expected_header: {
      alg: 'EdDSA',
    },
    source: 'RFC 8037 Appendix A.1 (key), A.4/A.5 (signing/verification); also ietf-jose/cookbook curve25519/jws.json',
  },
  {
    name: 'RFC7520-4.1-RS256',
    alg: 'RS256',
    jwk: {
      kty: 'RSA',
      kid: 'bilbo.baggins@hobbiton.example',
      use: 'sig',
      n: 'n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw',
      e: 'AQAB',
      d: 'bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ',
      p: '3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k',
      q: 'uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc',
      dp: 'B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik',
      dq: 'CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8',
      qi: '3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4',
    },
    token:
      'eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg',
    expected_payload:
      "It’s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there’s no knowing where you might be swept off to.",
    expected_header: {
      alg: 'RS256',
      kid: 'bilbo.baggins@hobbiton.example',
    },
    source:
      'RFC 7520 Section 4.1 (RSA v1.5 Signature); keys RFC 7520 Section 3; machine-readable copy: ietf-jose/cookbook jws/4_1.rsa_v15_signature.json',
  },
  {
    name: 'RFC7520-4.2-PS384',
    alg: 'PS384',
    jwk: {
      kty: 'RSA',
      kid: 'bilbo.baggins@hobbiton.example',
      use: 'sig',
      n: 'n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw',
      e: 'AQAB',
      d: 'bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ',
      p: '3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k',
      q: 'uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc',
      dp: 'B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik',
      dq: 'CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8',
      qi: '3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4',
    },
    token:
      'eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw',
    expected_payload:
      "It’s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there’s no knowing where you might be swept off to.",
    expected_header: {
      alg: 'PS384',
      kid: 'bilbo.baggins@hobbiton.example',
    },
    source:
      'RFC 7520 Section 4.2 (RSA-PSS Signature); keys RFC 7520 Section 3; machine-readable copy: ietf-jose/cookbook jws/4_2.rsa-pss_signature.json',
  },
  {
    name: 'RFC7520-4.3-ES512',
    alg: 'ES512',
    jwk: {
      kty: 'EC',
      kid: 'bilbo.baggins@hobbiton.example',
      use: 'sig',
      crv: 'P-521',
      x: 'AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt',
      y: 'AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1',
      d: 'AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt',
    },
    token:
      'eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2',
    expected_payload:
      "It’s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there’s no knowing where you might be swept off to.",
    expected_header: {
      alg: 'ES512',
      kid: 'bilbo.baggins@hobbiton.example',
    },
    source: 'RFC 7520 Section 4.3 (ECDSA Signature); keys RFC 7520 Section 3; machine-readable copy: ietf-jose/cookbook jws/4_3.ecdsa_signature.json',
  },
  {
    name: 'RFC7520-4.4-HS256',
    alg: 'HS256',
    jwk: {
      kty: 'oct',
      kid: '018c0ae5-4d9b-471b-bfd6-eef314bc7037',
      use: 'sig',
      alg: 'HS256',
      k: 'hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg',
    },
    token:
      'eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0',
    expected_payload:
      "It’s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there’s no knowing where you might be swept off to.",
    expected_header: {
      alg: 'HS256',
      kid: '018c0ae5-4d9b-471b-bfd6-eef314bc7037',
    },
    source:
      'RFC 7520 Section 4.4 (HMAC-SHA2 Integrity Protection); keys RFC 7520 Section 3; machine-readable copy: ietf-jose/cookbook jws/4_4.hmac-sha2_integrity_protection.json',
  },
];

type SupportedVector = Vector & { alg: Algorithm };

function isSupported(vector: Vector): vector is SupportedVector {
  return (ALGORITHMS as readonly string[]).includes(vector.alg);
}

const SUPPORTED = VECTORS.filter(isSupported);
const UNSUPPORTED = VECTORS.filter((v) => !isSupported(v));
const ASYMMETRIC = SUPPORTED.filter((v) => v.alg !== 'HS256');
// ECDSA signatures are randomised; HMAC, RSASSA-PKCS1-v1_5 and Ed25519 are not (RFC 8032 §5.1.6).
const DETERMINISTIC = SUPPORTED.filter((v) => v.alg !== 'ES256');
const RANDOMISED = SUPPORTED.filter((v) => v.alg === 'ES256');
// RFC 7515 Appendix A.1–A.3 are JWTs (claims with exp = 1300819380); the others sign plain text.
const JWT_VECTORS = SUPPORTED.filter((v) => v.name.startsWith('RFC7515-A.'));
const VECTOR_EXP = 1300819380;

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  return parts as [string, string, string];
}

/** The vector's key with every private member removed: what a verifier would be given. */
function publicJwk(jwk: JsonWebKey): JsonWebKey {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
}

/** `text` with the character at `index` replaced by another base64url character. */
function changeCharAt(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Another spelling of the same bytes: sets the lowest unused bit of the last character. Node's
 * decoder ignores those bits (security.md §9), so only a canonicality check can tell the two apart.
 */
function nonCanonical(segment: string): string {
  expect(segment.length % 4).not.toBe(0);
  const last = B64URL.indexOf(segment.slice(-1));
  return segment.slice(0, -1) + B64URL.charAt(last | 1);
}

function refusal(verify: () => unknown): TesseraError {
  try {
    verify();
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError);
    return err as TesseraError;
  }
  throw new Error('the token was accepted');
}

describe('RFC vectors at the JWS layer (verifyCompactJws)', () => {
  it('covers every vector: six of supported algorithms, two of unsupported ones', () => {
    expect(SUPPORTED.map((v) => v.name)).toEqual([
      'RFC7515-A.1-HS256',
      'RFC7515-A.2-RS256',
      'RFC7515-A.3-ES256',
      'RFC8037-A.4-EdDSA-Ed25519',
      'RFC7520-4.1-RS256',
      'RFC7520-4.4-HS256',
    ]);
    expect(UNSUPPORTED.map((v) => v.alg)).toEqual(['PS384', 'ES512']);
  });

  describe.each(SUPPORTED.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    let key: Key;
    beforeAll(() => {
      key = importKey({ alg: vector.alg, jwk: vector.jwk });
    });

    it('verifies, and the payload is exactly the published bytes', () => {
      const result = verifyCompactJws(vector.token, key);
      expect(result).toBeDefined();
      expect(result?.payload.equals(Buffer.from(vector.expected_payload, 'utf8'))).toBe(true);
      expect(result?.header).toEqual(vector.expected_header);
      // The A.1–A.3 claims carry CRLFs: the bytes are compared above; their parse is the published claims.
      if (vector.expected_claims !== undefined) expect(JSON.parse(result?.payload.toString('utf8') ?? '')).toEqual(vector.expected_claims);
    });

    it('takes its kid from the JWK, or derives one that is the same on every import', () => {
      if (typeof vector.jwk.kid === 'string') expect(key.kid).toBe(vector.jwk.kid);
      else expect(key.kid).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(importKey({ alg: vector.alg, jwk: vector.jwk }).kid).toBe(key.kid);
      expect(key.canSign).toBe(true);
    });

    it.each([
      ['header', 0],
      ['payload', 1],
      ['signature', 2],
    ] as const)('fails when one character of the %s changes', (_segment, which) => {
      const parts: [string, string, string] = [header, payload, signature];
      const target = parts[which];
      // A middle character: every one of its bits is used, so the decoded bytes really change.
      parts[which] = changeCharAt(target, Math.floor(target.length / 2));
      expect(Buffer.from(parts[which], 'base64url').equals(Buffer.from(target, 'base64url'))).toBe(false);
      expect(verifyCompactJws(parts.join('.'), key)).toBeUndefined();
    });

    it('fails on other spellings of the same signature (padding, non-canonical last character)', () => {
      const variant = nonCanonical(signature);
      expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(verifyCompactJws(`${header}.${payload}.${variant}`, key)).toBeUndefined();
      expect(verifyCompactJws(`${vector.token}=`, key)).toBeUndefined();
    });
  });

  it.each(ASYMMETRIC.map((v) => [v.name, v] as const))('%s verifies with its public half alone', (_name, vector) => {
    const key = importKey({ alg: vector.alg, jwk: publicJwk(vector.jwk) });
    expect(key.canSign).toBe(false);
    expect(verifyCompactJws(vector.token, key)?.payload.toString('utf8')).toBe(vector.expected_payload);
  });

  it.each(DETERMINISTIC.map((v) => [v.name, v] as const))('%s: Tessera re-signs the signing input byte for byte', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    const key = importKey({ alg: vector.alg, jwk: vector.jwk });
    expect(signInput(key, `${header}.${payload}`).toString('base64url')).toBe(signature);
  });

  it.each(RANDOMISED.map((v) => [v.name, v] as const))('%s: a Tessera signature over the same input verifies', (_name, vector) => {
    const [header, payload, signature] = segments(vector.token);
    const key = importKey({ alg: vector.alg, jwk: vector.jwk });
    const ours = signInput(key, `${header}.${payload}`);
    // The 64-octet R‖S form of RFC 7518 §3.4, not DER.
    expect(ours).toHaveLength(64);
    // A fresh nonce per signature: equality would mean the published signature was echoed back.
    expect(ours.toString('base64url')).not.toBe(signature);
    const verifier = importKey({ alg: vector.alg, jwk: publicJwk(vector.jwk) });
    expect(verifyCompactJws(`${header}.${payload}.${ours.toString('base64url')}`, verifier)?.payload.toString('utf8')).toBe(vector.expected_payload);
  });

  describe.each(UNSUPPORTED.map((v) => [v.name, v] as const))('%s (unsupported algorithm)', (_name, vector) => {
    it('importKey refuses the algorithm with a ConfigError', () => {
      // The vector names an algorithm outside the type on purpose: callers from JavaScript or config files can.
      expect(() => importKey({ alg: vector.alg as Algorithm, jwk: vector.jwk })).toThrow(ConfigError);
      expect(() => importKey({ alg: vector.alg as Algorithm, jwk: publicJwk(vector.jwk) })).toThrow(ConfigError);
    });
  });

  it('the PS384 key imported for RS256 does not verify the PS384 token: the key pins the algorithm', () => {
    const vector = UNSUPPORTED.find((v) => v.alg === 'PS384')!;
    const key = importKey({ alg: 'RS256', jwk: vector.jwk });
    expect(verifyCompactJws(vector.token, key)).toBeUndefined();
  });

  it('the ES512 key (P-521) cannot be imported for ES256', () => {
    const vector = UNSUPPORTED.find((v) => v.alg === 'ES512')!;
    expect(() => importKey({ alg: 'ES256', jwk: vector.jwk })).toThrow(ConfigError);
  });
});

/*
 * The RFC 7515 A.1–A.3 tokens are valid JWS but not Tessera access tokens. TokenVerifier checks, in
 * order: compact form → header (refused members, alg allowlist, kid → key, alg = key's alg, typ) →
 * signature → kind → claims (type, exp/iat present, iss, aud, sub, jti, sid, lifetime) → time.
 * Their headers carry typ "JWT" (A.1) or no typ at all (A.2, A.3), so the explicit-typing rule
 * (RFC 9068 §4 step 1) refuses them while the header is resolved, as token_invalid, before the
 * signature is checked and long before exp is read: the code is token_invalid, not token_expired,
 * whatever the clock says. (Without a kid they still find their key: the ring holds that one key.)
 */
describe('RFC 7515 A.1–A.3 against the access-token verifier', () => {
  let refreshKey: Key;
  beforeAll(async () => {
    refreshKey = await generateRefreshKey();
  });

  function verifierFor(vector: SupportedVector, clock?: Clock) {
    const keys = importKey({ alg: vector.alg, jwk: vector.jwk });
    // issuer "joe" matches the vectors' iss, so that only the rules the test names can refuse them.
    return createTessera({ keys, refreshKey, issuer: 'joe', ...(clock === undefined ? {} : { clock }) });
  }

  it('covers A.1, A.2 and A.3', () => {
    expect(JWT_VECTORS.map((v) => v.alg)).toEqual(['HS256', 'RS256', 'ES256']);
    expect(JWT_VECTORS.every((v) => v.expected_claims?.exp === VECTOR_EXP)).toBe(true);
  });

  describe.each(JWT_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    it('is refused with the real clock (expired since 2011, but the typ rule fires first)', () => {
      const err = refusal(() => verifierFor(vector).verifyAccessToken(vector.token));
      expect(err).toBeInstanceOf(TokenInvalidError);
      expect(err.code).toBe('token_invalid');
    });

    it('is still refused with a clock pinned before its exp (profile rules)', () => {
      for (const at of [(VECTOR_EXP - 3600) * 1000, (VECTOR_EXP - 1) * 1000]) {
        const err = refusal(() => verifierFor(vector, fixedClock(at)).verifyAccessToken(vector.token));
        expect(err).toBeInstanceOf(TokenInvalidError);
        expect(err.code).toBe('token_invalid');
      }
    });

    it('with the profile satisfied around its claims, its exp alone decides (expired now, valid before 1300819380)', () => {
      // The same key and claims, plus the header and claims the profile requires: now only time can refuse it.
      const key = importKey({ alg: vector.alg, jwk: vector.jwk });
      const claims = {
        ...vector.expected_claims,
        aud: 'urn:tessera:api',
        sub: 'joe',
        iat: VECTOR_EXP - 600,
        nbf: VECTOR_EXP - 600,
        jti: randomBytes(16).toString('base64url'),
        sid: randomBytes(16).toString('base64url'),
        type: 'access',
      };
      const input = `${Buffer.from(JSON.stringify({ alg: vector.alg, typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      const token = `${input}.${signInput(key, input).toString('base64url')}`;

      const expired = refusal(() => verifierFor(vector).verifyAccessToken(token));
      expect(expired).toBeInstanceOf(TokenExpiredError);
      expect(expired.code).toBe('token_expired');
      expect(verifierFor(vector, fixedClock((VECTOR_EXP - 1) * 1000)).verifyAccessToken(token)).toEqual(claims);
      expect(refusal(() => verifierFor(vector, fixedClock(VECTOR_EXP * 1000)).verifyAccessToken(token)).code).toBe('token_expired');
    });
  });
});
