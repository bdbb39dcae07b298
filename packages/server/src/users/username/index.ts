// Usernames (security.md §7): the key they are stored under, the UTS #39 skeleton that must be
// unique among users, the rules for choosing one, and the forms login looks up.
export { checkNewUsername, type NewUsername } from './check-new-username.js';
export { UNICODE_VERSION } from './data/version.js';
export { lookupKeys } from './lookup-keys.js';
export { usernameSkeleton } from './skeleton.js';
export { legacyUsernameKey, usernameKey } from './username-key.js';
