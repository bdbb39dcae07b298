// The adapter conformance suite on all three frameworks, then the same requests compared byte for
// byte across them (docs/architecture.md "Conventions"). Each app (test/conformance/apps.ts) mounts the
// routes listed in test/conformance/adapter.ts with its own adapter, writing its own answers as the
// HttpResult the suite names.
import { describeAdapter, describeAdapterEquivalence } from '../conformance/adapter.js';
import { ADAPTERS } from '../conformance/apps.js';

for (const adapter of ADAPTERS) describeAdapter(adapter.name, adapter.make);
describeAdapterEquivalence(ADAPTERS);
