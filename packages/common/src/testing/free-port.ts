/** Loopback ports for servers a test starts itself (etcd members, masters). */
import net from 'node:net';

const FIRST = 20_000;
const COUNT = 10_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for servers that must
 * be told their port up front (etcd's peer URLs name each other); servers
 * that can listen on port 0 should do that instead. Picked at random in
 * 20000-29999, below the kernel's ephemeral range (32768 and up on Linux),
 * so an outgoing connection elsewhere cannot take it between this check and
 * the server's bind, and away from the agents' task ports (31000 and up).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found in ${FIRST}-${FIRST + COUNT - 1}`);
}
