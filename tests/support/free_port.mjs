// A free loopback port for the browser tests' servers, below the kernel's ephemeral range
// (32768-60999) where the C++ tests take theirs: two test processes never race for one port.
import net from 'node:net';

export async function freePort() {
  const tryPort = (port) => new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(0));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(port)));
  });
  for (;;) {
    const port = await tryPort(20000 + Math.floor(Math.random() * 10000));
    if (port) return port;
  }
}
