// The adapter conformance suite on Express 5: the app (test/conformance/apps.ts) mounts the routes that
// test/conformance/adapter.ts lists, with the Express adapter's guards and handlers.
import { describeAdapter } from '../conformance/adapter.js';
import { makeExpress } from '../conformance/apps.js';

describeAdapter('express', makeExpress);
