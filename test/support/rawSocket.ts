// A WebSocket speaking tRPC's wire format by hand (its connectionParams first), so a test
// sees the messages themselves and decides when it reads them. Answers the server's PINGs.
import { WebSocket } from 'ws';

export async function rawSocket(url: string, token: string): Promise<{ ws: WebSocket; messages: any[] }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/trpc?connectionParams=1`);
  const messages: any[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === 'PING') return void ws.send('PONG');
    messages.push(JSON.parse(text));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
  return { ws, messages };
}
