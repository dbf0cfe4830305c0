// An example internal app: a tiny workspace service that records what it does in Vigil
// through the typed client. Run it against a server:
//
//   VIGIL_URL=http://127.0.0.1:8080 VIGIL_TOKEN=<service token> \
//     node --import tsx test/examples/workspaceApp.ts [--operations 200] [--interval-ms 10]
//
// It performs `--operations` workspace operations, one every `--interval-ms`, records
// each with recordLater (buffered, sent in batches, retried through outages with the
// same ids) and the deletions, which matter most, with an awaited events.record. On
// exit it prints one JSON line: the ids it recorded, for the test that checks them.
import { parseArgs } from 'node:util';
import { createVigilClient } from '../../shared/client.js';

const { values } = parseArgs({
  options: { operations: { type: 'string', default: '200' }, 'interval-ms': { type: 'string', default: '10' } },
});
const operations = Number(values.operations);
const intervalMs = Number(values['interval-ms']);

// The three lines an app needs (see README, "Recording from an internal app"):
const vigil = createVigilClient({ url: process.env.VIGIL_URL ?? 'http://127.0.0.1:8080', token: process.env.VIGIL_TOKEN });
//   vigil.recordLater({ action, resourceType, resourceTarget, actor })   ...and on shutdown:
//   await vigil.close();

const ids: string[] = [];
let flushFailures = 0;
const owners = ['alice', 'bob', 'carol'];

for (let op = 0; op < operations; op++) {
  const owner = owners[op % owners.length]!;
  const workspace = `${owner}/ws-${Math.floor(op / 3)}`;
  const actor = { username: owner, email: `${owner}@example.com` };
  if (op % 50 === 49) {
    // A deletion: awaited, so the app knows it is on record before it answers its caller.
    const stored = await vigil.events.record.mutate({ action: 'delete', resourceType: 'workspace', resourceTarget: workspace, actor, metadata: { op } });
    ids.push(stored.id);
  } else {
    const action = op % 3 === 0 ? 'create' : op % 3 === 1 ? 'connect' : 'stop';
    ids.push(vigil.recordLater({ action, resourceType: 'workspace', resourceTarget: workspace, actor, metadata: { op } }).id);
  }
  if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
  if (op % 20 === 0) vigil.flush().catch(() => flushFailures++);
}

await vigil.close();
console.log(JSON.stringify({ recorded: ids.length, ids, flushFailures }));
