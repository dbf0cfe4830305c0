// An EventSource over node:http for the live benchmark's SSE subscribers. The `eventsource`
// package reads through fetch and WHATWG streams, which costs Node a lot of CPU per chunk:
// with 1,000 subscribers in the benchmark's process it kept most of a core busy, on the
// same two cores as the server it measures, where real auditors' browsers decode SSE
// natively on their own machines. Messages are parsed by eventsource-parser (the
// `eventsource` package's own parser); what the typed client does with them is unchanged.
// Enough of EventSource for tRPC's httpSubscriptionLink: events by type, lastEventId,
// readyState, close. It does not reconnect: a dropped stream is an error, as the benchmark
// wants to see it.
import http from 'node:http';
import { createParser } from 'eventsource-parser';

interface SourceEvent {
  type: string;
  data: string;
  lastEventId: string;
}

type Listener = (event: SourceEvent) => void;

export class NodeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  readyState = 0;
  onmessage: Listener | null = null;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly request: http.ClientRequest;
  private lastEventId = '';

  constructor(
    readonly url: string,
    headers: Record<string, string> = {},
  ) {
    const parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastEventId = message.id;
        this.dispatch({ type: message.event ?? 'message', data: message.data, lastEventId: this.lastEventId });
      },
    });
    this.request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return this.fail();
      }
      this.readyState = this.OPEN;
      this.dispatch({ type: 'open', data: '', lastEventId: '' });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => parser.feed(chunk));
      response.on('end', () => this.fail());
      response.on('error', () => this.fail());
    });
    this.request.on('error', () => this.fail());
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l !== listener));
  }

  close(): void {
    this.readyState = this.CLOSED;
    this.request.destroy();
  }

  private fail(): void {
    if (this.readyState === this.CLOSED) return;
    this.readyState = this.CLOSED;
    this.dispatch({ type: 'error', data: '', lastEventId: this.lastEventId });
  }

  private dispatch(event: SourceEvent): void {
    if (event.type === 'message') this.onmessage?.(event);
    for (const listener of this.listeners.get(event.type) ?? []) listener(event);
  }
}

/** The class a typed client is given: every stream it opens carries `headers` (the bearer token). */
export function eventSourceWith(headers: Record<string, string>) {
  return class extends NodeEventSource {
    constructor(url: string) {
      super(url, headers);
    }
  };
}
