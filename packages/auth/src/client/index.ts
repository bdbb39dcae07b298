// @tessera/auth/client: the browser and Node client. Platform-only (fetch, BroadcastChannel,
// timers): it imports nothing from the server side of the library and runs as a browser ES module.
export { createClient, TesseraClient } from './client.js';
export type { AuthSend, ClientOptions, FetchLike } from './options.js';
export type { ClientEvents, SessionState, SignInSource } from './session.js';
export type { Credentials } from './auth-api.js';
export { ClientError, readError, type ClientErrorCode, type ClientOnlyCode } from './errors.js';
export { CookieJar, type CookieJarOptions } from './cookie-jar.js';
export type { TokenStorage } from './platform.js';
export type { Transport } from '../protocol/protocol.js';
