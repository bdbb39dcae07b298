// The DPoP add-on's key pair (RFC 9449 §2): made by WebCrypto with a non-extractable private key, so no
// script, XSS included, can read it out and use it elsewhere. In a page it is kept in IndexedDB, which
// stores CryptoKey objects as they are (structured clone), so a reload keeps the binding and the tabs of
// an origin share one key; where there is no IndexedDB (Node, Bun, Deno, a browser that refuses it) it
// lives in memory, and the binding ends with the process. Typed by shape, as platform.ts does, so the
// library needs no DOM types.

/** A WebCrypto key, as the platform's `crypto.subtle` types it (the DOM's `CryptoKey` in a page). */
export type DpopCryptoKey = Parameters<typeof crypto.subtle.sign>[1];

/** The DPoP key pair: a non-extractable private key and its public key. */
export interface DpopKeyPair {
  readonly privateKey: DpopCryptoKey;
  readonly publicKey: DpopCryptoKey;
}

/** The proof algorithms the add-on makes keys for: ES256 (P-256, everywhere) and EdDSA (Ed25519, where the platform has it). */
export type DpopAlgorithm = 'ES256' | 'EdDSA';

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface Store {
  get(key: string): IdbRequest<DpopKeyPair | undefined>;
  put(value: DpopKeyPair, key: string): unknown;
  delete(key: string): unknown;
}
interface Database {
  createObjectStore(name: string): unknown;
  transaction(
    store: string,
    mode: 'readwrite',
  ): {
    objectStore(name: string): Store;
    oncomplete: (() => void) | null;
    onerror: (() => void) | null;
    onabort: (() => void) | null;
    error: unknown;
  };
  close(): void;
}
type Opening = IdbRequest<Database> & { onupgradeneeded: (() => void) | null };

const DB = 'tessera-dpop';
const STORE = 'keys';

const P256 = { name: 'ECDSA', namedCurve: 'P-256' };

/**
 * A new key pair, its private key non-extractable (WebCrypto always lets the public key be exported).
 * EdDSA falls back to ES256 on a platform without Ed25519 in WebCrypto.
 */
export function generateDpopKey(algorithm: DpopAlgorithm): Promise<DpopKeyPair> {
  const make = (params: { name: string }) => crypto.subtle.generateKey(params, false, ['sign', 'verify']) as Promise<DpopKeyPair>;
  return algorithm === 'EdDSA' ? make({ name: 'Ed25519' }).catch(() => make(P256)) : make(P256);
}

type Factory = { open(name: string, version: number): Opening };

function indexedDb(): Factory | undefined {
  return (globalThis as { indexedDB?: Factory }).indexedDB;
}

/** Runs `use` in one `readwrite` transaction on the key store; resolves when the transaction has committed. */
function transact<T>(idb: Factory, use: (store: Store) => () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const opening = idb.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      try {
        const tx = db.transaction(STORE, 'readwrite');
        const result = use(tx.objectStore(STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(result());
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      } catch (err) {
        db.close();
        reject(err);
      }
    };
  });
}

/**
 * The key pair stored under `name`, or a new one stored there, read and written in one `readwrite`
 * transaction. IndexedDB runs those one at a time, so of two tabs that start together the first writes its
 * key and the second finds it and uses it: the tabs share one binding. A key is made before the transaction
 * (nothing may be awaited inside one) and dropped when one was stored already; making a P-256 key costs
 * well under a millisecond. Without IndexedDB, or when it fails (a private window, a full quota), a key in memory.
 */
export async function loadDpopKey(name: string, algorithm: DpopAlgorithm): Promise<DpopKeyPair> {
  const fresh = await generateDpopKey(algorithm);
  const idb = indexedDb();
  if (idb === undefined) return fresh;
  try {
    const stored = await transact(idb, (store) => {
      const request = store.get(name);
      request.onsuccess = () => {
        if (request.result === undefined) store.put(fresh, name);
      };
      return () => request.result;
    });
    return stored ?? fresh;
  } catch {
    return fresh;
  }
}

/** Deletes the key stored under `name` (nothing to do without IndexedDB). */
export async function forgetDpopKey(name: string): Promise<void> {
  const idb = indexedDb();
  if (idb !== undefined) await transact(idb, (store) => (store.delete(name), () => undefined)).catch(() => undefined);
}
