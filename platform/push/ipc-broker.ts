/**
 * The push broker between the workers of one `orbit bundle --workers N`
 * (no --redis): each message goes to the cluster primary over the IPC
 * channel, which hands it to every other worker (platform/kernel/workers.ts).
 * Presence is not shared (each worker knows its own connections). A
 * worker whose primary is gone stops anyway, so nothing is kept for later.
 */
import type { Broker } from "./broker.js";

/** The `kind` of the IPC messages that carry broker messages. */
export const IPC_BROKER_KIND = "orbit.push";

export class IpcBroker implements Broker {
  readonly name = "cluster ipc";
  private listener: ((m: { kind?: string; data?: string }) => void) | undefined;

  get connected(): boolean {
    return process.connected === true;
  }

  async start(onMessage: (msg: Uint8Array) => void): Promise<void> {
    if (!process.send) throw new Error("the IPC push broker runs only in a cluster worker");
    this.listener = (m) => {
      if (m?.kind === IPC_BROKER_KIND && typeof m.data === "string") onMessage(Buffer.from(m.data, "base64"));
    };
    process.on("message", this.listener);
  }

  publish(msg: Uint8Array): void {
    if (!process.connected) return;
    process.send!({ kind: IPC_BROKER_KIND, data: Buffer.from(msg).toString("base64") });
  }

  async close(): Promise<void> {
    if (this.listener) process.off("message", this.listener);
    this.listener = undefined;
  }
}
