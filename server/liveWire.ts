// The WebSocket encoder: tRPC's JSON messages, except that a live batch's text, already
// encoded and quoted once for all its subscribers, is spliced into the small envelope
// rather than serialized again for each of them. The bytes are those JSON.stringify
// would give, so clients decode with the default encoder.
import { jsonEncoder, type Encoder } from '@trpc/server/adapters/ws';
import { LiveBatch } from './services/liveBatch.js';

interface TrackedDataMessage {
  id: string | number | null;
  jsonrpc?: '2.0';
  result: { type: 'data'; id?: string; data: { id: string; data: unknown } };
}

function liveBatchOf(message: unknown): { message: TrackedDataMessage; batch: LiveBatch } | null {
  const result = (message as Partial<TrackedDataMessage> | null)?.result;
  const batch = result?.type === 'data' ? (result.data as { data?: unknown } | undefined)?.data : undefined;
  return batch instanceof LiveBatch ? { message: message as TrackedDataMessage, batch } : null;
}

const TAIL = 'null}}}';

export const liveWireEncoder: Encoder = {
  encode(message) {
    const live = liveBatchOf(message);
    if (!live) return jsonEncoder.encode(message);
    const { id, jsonrpc, result } = live.message;
    const envelope = JSON.stringify({ id, jsonrpc, result: { type: 'data', id: result.id, data: { id: result.data.id, data: null } } });
    return envelope.slice(0, -TAIL.length) + live.batch.quoted() + '}}}';
  },
  decode: jsonEncoder.decode,
};
