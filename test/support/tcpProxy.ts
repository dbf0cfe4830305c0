// A TCP proxy a test can cut and restore, to take "the database" away from a server
// without stopping the Postgres other tests share; or stall, to make the path lose bytes
// silently (no error, no close: what a dropped NAT entry or a dead peer looks like).
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones. */
  cut(): void;
  /** From now on no byte goes through, on open connections and new ones, and nobody is told. restore() lets new connections through; the stalled ones stay black holes. */
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const links = new Set<{ stalled: boolean }>();
  let down = false;
  let stalling = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const link = { stalled: stalling };
    links.add(link);
    const upstream = net.connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        if (link.stalled) return;
        client.destroy();
        upstream.destroy();
      });
    }
    // Byte by byte forwarding (not pipe) so a stall can swallow what arrives, ends included.
    const forward = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk) => {
        if (!link.stalled) to.write(chunk);
      });
      from.on('end', () => {
        if (!link.stalled) to.end();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => {
      if (!link.stalled) links.delete(link);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    stall() {
      stalling = true;
      for (const link of links) link.stalled = true;
    },
    restore() {
      down = false;
      stalling = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
