/**
 * `npm run bench -- sync [--members N] [--seconds S] [--seed K] [--delay-max MS] [--jitter MS]`
 *
 * A watch-together room in simulated time (services/live/sync/simulate.ts):
 * the server's RoomClock and N members, each with its clock off by up to
 * ±5 s and skewed by up to ±50 ppm, a player whose media clock is off by up
 * to ±0.3 % and whose seeks take 80–400 ms, and one-way network delays of
 * 10–150 ms per member and direction plus exponential jitter (mean 15 ms).
 * The host plays at 0 s and seeks at 20 s.
 *
 * Reported: drift |member − room| p50/p95/max, sampled every second over the
 * last 10 s; time for the seek's state to reach every member; time until
 * every member is within 250 ms of the room again. Baseline in the same run:
 * the naive client (apply each state as it arrives, no clock offset, no
 * drift correction); ratio = naive p95 / sync p95.
 * Goals: drift p95 ≤ 250 ms, seek ≤ 500 ms.
 */
import { DEFAULT_SIMULATION, type SimulationOptions, simulateRoom } from "../../services/live/sync/simulate.js";

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function main(args: string[]): Promise<void> {
  const o: SimulationOptions = {
    ...DEFAULT_SIMULATION,
    members: Number(arg(args, "--members") ?? DEFAULT_SIMULATION.members),
    seconds: Number(arg(args, "--seconds") ?? DEFAULT_SIMULATION.seconds),
    seed: Number(arg(args, "--seed") ?? DEFAULT_SIMULATION.seed),
    delayMs: [DEFAULT_SIMULATION.delayMs[0], Number(arg(args, "--delay-max") ?? DEFAULT_SIMULATION.delayMs[1])],
    jitterMs: Number(arg(args, "--jitter") ?? DEFAULT_SIMULATION.jitterMs),
  };
  if (!(o.members > 0 && o.seconds > o.seekAtS + o.measureLastS)) {
    console.error(`need --members > 0 and --seconds > ${o.seekAtS + o.measureLastS}`);
    process.exit(2);
  }
  console.log(
    `sync: ${o.members} members, ${o.seconds} s simulated, delay ${o.delayMs[0]}–${o.delayMs[1]} ms + jitter ${o.jitterMs} ms, clocks ±${o.clockSpreadMs} ms`,
  );
  const t0 = performance.now();
  const naive = simulateRoom({ ...o, client: "naive" });
  console.log(
    `  naive client  drift p50 ${naive.driftP50Ms} ms, p95 ${naive.driftP95Ms} ms, max ${naive.driftMaxMs} ms`,
  );
  const sync = simulateRoom(o);
  const wallMs = Math.round(performance.now() - t0);
  console.log(
    `  sync client   drift p50 ${sync.driftP50Ms} ms, p95 ${sync.driftP95Ms} ms, max ${sync.driftMaxMs} ms (${sync.samples} samples)`,
  );
  console.log(
    `  seek          reached all members in ${sync.seekDeliveredMs} ms; all within ${o.inSyncMs} ms of the room after ${sync.seekInSyncMs} ms`,
  );
  const ratio = sync.driftP95Ms > 0 ? Math.round((naive.driftP95Ms / sync.driftP95Ms) * 10) / 10 : null;
  console.log(`  naive/sync p95 drift ratio ${ratio}; simulated in ${wallMs} ms`);
  console.log(
    JSON.stringify({
      scenario: "sync",
      members: o.members,
      simulatedSeconds: o.seconds,
      driftP50Ms: sync.driftP50Ms,
      driftP95Ms: sync.driftP95Ms,
      driftMaxMs: sync.driftMaxMs,
      seekDeliveredMs: sync.seekDeliveredMs,
      seekInSyncMs: sync.seekInSyncMs,
      naiveDriftP95Ms: naive.driftP95Ms,
      naiveOverSyncRatio: ratio,
      goals: { driftP95Ms: 250, seekMs: 500 },
      met: sync.driftP95Ms <= 250 && sync.seekDeliveredMs <= 500,
    }),
  );
}
