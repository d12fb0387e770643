/**
 * A TCP proxy the test controls, between a bundle and a shared server (the
 * MariaDB every test uses must never be stopped or frozen itself):
 *
 *   freeze()  stop forwarding both ways (a database that hangs: nothing
 *             answers, nothing is refused); bytes sent meanwhile are held and
 *             dropped with the connection if the client gives up
 *   thaw()    forward again
 *   cut()     drop every connection and refuse new ones (a database that is down)
 *   restore() accept again
 */
import net from "node:net";

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private frozen = false;
  private down = false;
  port = 0;

  private constructor(
    private readonly host: string,
    private readonly upstreamPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(host: string, port: number): Promise<TcpProxy> {
    const p = new TcpProxy(host, port);
    await new Promise<void>((resolve) => p.server.listen(0, "127.0.0.1", () => resolve()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  private accept(client: net.Socket): void {
    if (this.down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.upstreamPort, this.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on("data", (d) => {
        if (!to.write(d)) from.pause();
      });
      to.on("drain", () => this.frozen || from.resume());
      from.on("close", close);
      from.on("error", close);
    }
    if (this.frozen) {
      client.pause();
      upstream.pause();
    }
  }

  freeze(): void {
    this.frozen = true;
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  cut(): void {
    this.down = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
