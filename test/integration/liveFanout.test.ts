// Live fan-out: subscribers of the same query share one encoding of each event (counted
// by the server's vigil_live_events_encoded_total), a hub read's events reach a
// subscriber as one message, and every subscriber, over WebSocket or SSE, gets every
// matching event exactly once, in order, each tracked by its seq (resumable from any).
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rawSocket } from '../support/rawSocket.js';
import { createApp, listen, type RunningServer } from '../../server/app.js';
import { generateToken } from '../../server/services/auth.js';
import type { LiveHub } from '../../server/services/liveHub.js';
import { processSecretsKey } from '../../server/services/secretsKey.js';
import { generateSigner } from '../../server/services/signingKey.js';
import { createVigilClient, type VigilClient } from '../../shared/client.js';
import type { AuditEvent, EventInput } from '../../shared/event.js';
import { createVigilLiveClient, type VigilLiveClient } from '../../shared/liveClient.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/waiting.js';

const RULE = 'action:cordon,delete';
const OTHER = 'action:create';
const ACTIONS = ['delete', 'create', 'connect', 'cordon', 'auto_start', 'delete', 'stop'] as const;

interface Collected {
  events: { id: string; data: AuditEvent }[];
  errors: string[];
  started: boolean;
  stop(): void;
}

describe.each(BACKENDS)('live fan-out on %s', (backend) => {
  let database: TestDatabase;
  let running: RunningServer;
  let hub: LiveHub;
  let admin: VigilClient;
  let token: string;
  const clients: VigilLiveClient[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    token = generateToken();
    const app = createApp({
      db: database.db,
      listen: database.listen,
      signer: generateSigner(),
      secretsKey: processSecretsKey(),
      adminToken: token,
      maxBodyBytes: 16 * 1024 * 1024,
    });
    hub = (app.locals.vigil as { live: LiveHub }).live;
    running = await listen(app, 0, '127.0.0.1');
    admin = createVigilClient({ url: running.url, token });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await running?.close();
    await database?.destroy();
  });

  function subscribe(transport: 'ws' | 'sse', q: string, lastEventId?: string): Collected {
    const client = createVigilLiveClient({ url: running.url, token, transport, WebSocket, EventSource });
    clients.push(client);
    const collected: Collected = { events: [], errors: [], started: false, stop: () => {} };
    const sub = client.client.events.live.subscribe(
      { q, ...(lastEventId ? { lastEventId } : {}) },
      {
        onStarted: () => (collected.started = true),
        onData: (tracked) => collected.events.push(tracked),
        onError: (error) => collected.errors.push(error.message),
      },
    );
    collected.stop = () => {
      sub.unsubscribe();
      client.close();
    };
    return collected;
  }

  /** A raw WebSocket subscription, to see the messages themselves. */
  async function rawSubscribe(q: string) {
    const { ws, messages } = await rawSocket(running.url, token);
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'events.live', input: { q } } }));
    return { ws, data: () => messages.filter((m) => m.result?.type === 'data') };
  }

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(name))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }

  /** Records one batch of `n` events of mixed actions; answers each one's seq and action. */
  async function record(tag: string, n: number): Promise<{ seq: number; action: string }[]> {
    const events: EventInput[] = Array.from({ length: n }, (_, i) => ({ action: ACTIONS[i % ACTIONS.length]!, resourceType: 'workspace', resourceTarget: `${tag}-${i}` }));
    const { events: stored } = await admin.events.recordBatch.mutate({ events });
    return stored.map((e, i) => ({ seq: e.seq, action: events[i]!.action }));
  }
  const seqsOf = (stored: { seq: number; action: string }[], actions: string[]) => stored.filter((e) => actions.includes(e.action)).map((e) => e.seq);

  it('one encoding per event per query, one message per read, every event to every subscriber exactly once, in order', async () => {
    const rule = [subscribe('ws', RULE), subscribe('ws', RULE), subscribe('ws', RULE), subscribe('sse', RULE), subscribe('sse', RULE)];
    const other = [subscribe('ws', OTHER), subscribe('sse', OTHER)];
    const raw = await rawSubscribe(RULE);
    const all = [...rule, ...other];
    await eventually(() => all.every((s) => s.started) && hub.joinedCount === all.length + 1, 'every subscriber to join the hub');
    const encodedBefore = await metric('vigil_live_events_encoded_total');

    const stored: { seq: number; action: string }[] = [];
    for (let b = 0; b < 4; b++) {
      stored.push(...(await record(`fan${b}`, 21)));
      // Read before the next one is recorded (else one read could take two batches).
      await eventually(() => raw.data().length === b + 1, `the message for batch ${b}`);
    }
    const ruleSeqs = seqsOf(stored, ['cordon', 'delete']);
    const otherSeqs = seqsOf(stored, ['create']);
    expect(ruleSeqs).toHaveLength(4 * 9);

    await eventually(() => rule.every((s) => s.events.length >= ruleSeqs.length) && other.every((s) => s.events.length >= otherSeqs.length), 'every delivery');
    for (const [subs, seqs] of [[rule, ruleSeqs], [other, otherSeqs]] as const) {
      for (const s of subs) {
        expect(s.errors).toEqual([]);
        expect(s.events.map((e) => e.data.seq)).toEqual(seqs);
        expect(s.events.map((e) => e.id)).toEqual(seqs.map(String));
      }
    }
    // Each matching event encoded once for its query, however many subscribers share it.
    expect(await metric('vigil_live_events_encoded_total')).toBe(encodedBefore + ruleSeqs.length + otherSeqs.length);
    // Four batches, each read on its own: four messages, each tracked by its last
    // event's seq and carrying that batch's matching events.
    const messages = raw.data();
    expect(messages).toHaveLength(4);
    const carried = messages.map((m) => (JSON.parse(m.result.data.data) as AuditEvent[]).map((e) => e.seq));
    expect(carried.flat()).toEqual(ruleSeqs);
    expect(messages.map((m) => m.result.id)).toEqual(carried.map((seqs) => String(seqs.at(-1))));
    raw.ws.close();
    for (const s of all) s.stop();
  });

  it.each(['ws', 'sse'] as const)('%s: resumes after any event id, also one in the middle of a message', async (transport) => {
    const first = subscribe(transport, RULE);
    await eventually(() => first.started && hub.joinedCount >= 1, 'the subscription to join');
    const seqs = seqsOf(await record(`resume-${transport}`, 28), ['cordon', 'delete']);
    await eventually(() => first.events.length >= seqs.length, 'the first deliveries');
    expect(first.events.map((e) => e.data.seq)).toEqual(seqs);
    first.stop();
    // Resume from the third event: the rest of that message, then what came meanwhile.
    const from = first.events[2]!.id;
    const laterSeqs = seqsOf(await record(`later-${transport}`, 14), ['cordon', 'delete']);
    const resumed = subscribe(transport, RULE, from);
    const expected = [...seqs.slice(3), ...laterSeqs];
    await eventually(() => resumed.events.length >= expected.length, 'the resumed deliveries');
    expect(resumed.events.map((e) => e.data.seq)).toEqual(expected);
    expect(resumed.errors).toEqual([]);
    resumed.stop();
  });
});
