/**
 * scripts/bench/scheduler: the pure scheduler, in process, on simulated
 * clusters of 1,000 / 5,000 / 10,000 agents (4-64 cpus, 8-256 GiB, 10 racks,
 * 3 zones, ports 31000-32000), placing 100,000 tasks as apps of 100-1,000
 * instances (small, varied resources; some with ports; binpack and spread),
 * without constraints, with UNIQUE hostname, with GROUP_BY zone, and with
 * both.
 *
 * One pass = one schedule() call for one app's instances, as the master
 * makes it. Between passes the benchmark applies the plan to its own copy of
 * the cluster (free resources, free ports, live tasks per app) and builds
 * the next snapshot from it; that bookkeeping is outside the timed section.
 * placementsPerSec = placements / total time inside schedule(); p99PassMs =
 * 99th percentile of one pass's time.
 *
 *   scripts/bench/scheduler [--quick] [--json] [--seed N]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type Constraint, parsePortRanges, type PortRange, removePorts, type ScalarResources, scalars, subtract } from '@drover/common';
import { type AgentSnapshot, type PlacementRequest, type Random, schedule, seededRandom, type Snapshot } from '@drover/scheduler';
import { percentile, printTable, round, saveResult } from './bench-support.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const SEED = Number(values.seed);
const AGENT_COUNTS = values.quick ? [1_000, 10_000] : [1_000, 5_000, 10_000];
const TASKS = values.quick ? 20_000 : 100_000;

/** One benchmark configuration's constraints. */
interface Config {
  readonly label: string;
  readonly constraints: readonly Constraint[];
}

const CONFIGS: readonly Config[] = [
  { label: 'none', constraints: [] },
  { label: 'unique-hostname', constraints: [{ field: 'hostname', operator: 'UNIQUE' }] },
  { label: 'group-by-zone', constraints: [{ field: 'zone', operator: 'GROUP_BY' }] },
  {
    label: 'unique-hostname+group-by-zone',
    constraints: [
      { field: 'hostname', operator: 'UNIQUE' },
      { field: 'zone', operator: 'GROUP_BY' },
    ],
  },
];

/** One line of the results. */
interface Result {
  readonly agents: number;
  readonly tasks: number;
  readonly constraints: string;
  readonly placementsPerSec: number;
  readonly p99PassMs: number;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** The benchmark's own mutable view of the cluster, from which each pass's snapshot is built. */
class SimulatedCluster {
  readonly agents: AgentSnapshot[];
  private readonly byId = new Map<string, number>();
  readonly placed = new Map<string, Map<string, number>>();

  constructor(count: number, random: Random) {
    const ports = parsePortRanges('31000-32000');
    this.agents = Array.from({ length: count }, (_, i) => {
      const cpus = pick(random, [4, 8, 16, 32, 64]);
      // 1-4 GiB per cpu, within 8-256 GiB.
      const memGiB = Math.min(256, Math.max(8, cpus * pick(random, [1, 2, 4])));
      const total = scalars({ cpus, mem: memGiB * 1024, disk: 512 * 1024 });
      const id = `agent-${String(i).padStart(5, '0')}`;
      this.byId.set(id, i);
      return {
        id,
        hostname: `host-${i}.bench`,
        attributes: { rack: `rack-${i % 10}`, zone: `zone-${Math.floor(random() * 3)}` },
        total,
        free: total,
        freePorts: ports,
        draining: false,
      };
    });
  }

  /** The snapshot a pass sees (shares unchanged agents with the previous one). */
  snapshot(): Snapshot {
    return { agents: [...this.agents], placed: this.placed };
  }

  /** Applies a pass's placements, as the master's plan applier would. */
  apply(request: PlacementRequest, placements: readonly { agentId: string; hostPorts: readonly number[] }[]): void {
    const perAgent = new Map<number, { count: number; ports: number[] }>();
    for (const p of placements) {
      const i = this.byId.get(p.agentId) as number;
      const entry = perAgent.get(i) ?? { count: 0, ports: [] };
      entry.count++;
      entry.ports.push(...p.hostPorts);
      perAgent.set(i, entry);
    }
    const counts = this.placed.get(request.appId) ?? new Map<string, number>();
    for (const [i, { count, ports }] of perAgent) {
      const a = this.agents[i] as AgentSnapshot;
      let free: ScalarResources = a.free;
      for (let k = 0; k < count; k++) free = subtract(free, request.resources);
      const freePorts: PortRange[] = ports.length > 0 ? removePorts(a.freePorts, ports) : [...a.freePorts];
      this.agents[i] = { ...a, free, freePorts };
      counts.set(a.id, (counts.get(a.id) ?? 0) + count);
    }
    this.placed.set(request.appId, counts);
  }
}

/** The apps of a run: 100-1,000 instances each until `tasks` instances in all. */
function apps(tasks: number, constraints: readonly Constraint[], random: Random): PlacementRequest[] {
  const out: PlacementRequest[] = [];
  for (let total = 0, n = 0; total < tasks; n++) {
    const count = Math.min(tasks - total, 100 + Math.floor(random() * 901));
    total += count;
    const withPorts = random();
    out.push({
      key: `/bench/app-${n}`,
      appId: `/bench/app-${n}`,
      count,
      resources: scalars({ cpus: pick(random, [0.01, 0.05, 0.1, 0.2]), mem: pick(random, [32, 64, 128, 256]), disk: pick(random, [0, 0, 100]) }),
      ports: withPorts < 0.6 ? [] : withPorts < 0.9 ? [{ port: 0 }] : [{ port: 0 }, { port: 0 }],
      constraints,
      strategy: random() < 0.7 ? 'binpack' : 'spread',
    });
  }
  return out;
}

function run(agentCount: number, config: Config): Result & { passes: number; unplaced: number } {
  const random = seededRandom(SEED);
  const cluster = new SimulatedCluster(agentCount, random);
  const requests = apps(TASKS, config.constraints, random);
  const passMs: number[] = [];
  let placements = 0;
  let unplaced = 0;
  let pass = 0;
  for (const request of requests) {
    const snapshot = cluster.snapshot();
    const t0 = performance.now();
    const plan = schedule(snapshot, [request], { seed: SEED + pass++ });
    passMs.push(performance.now() - t0);
    placements += plan.placements.length;
    unplaced += plan.unplaced.reduce((n, u) => n + u.count, 0);
    cluster.apply(request, plan.placements);
  }
  const totalMs = passMs.reduce((a, b) => a + b, 0);
  return {
    agents: agentCount,
    tasks: placements,
    constraints: config.label,
    placementsPerSec: Math.round(placements / (totalMs / 1000)),
    p99PassMs: round(percentile(passMs, 99), 2),
    passes: passMs.length,
    unplaced,
  };
}

function main(): void {
  // Warm the JIT on a small run so the first configuration is not penalised.
  for (const config of CONFIGS) {
    const random = seededRandom(SEED);
    const cluster = new SimulatedCluster(500, random);
    for (const request of apps(3_000, config.constraints, random)) cluster.apply(request, schedule(cluster.snapshot(), [request]).placements);
  }
  const results: Array<ReturnType<typeof run>> = [];
  for (const agents of AGENT_COUNTS) {
    for (const config of CONFIGS) {
      const r = run(agents, config);
      results.push(r);
      if (values.json) {
        const { agents: a, tasks, constraints, placementsPerSec, p99PassMs } = r;
        console.log(JSON.stringify({ agents: a, tasks, constraints, placementsPerSec, p99PassMs }));
      }
    }
  }
  const file = saveResult('scheduler', {
    seed: SEED,
    tasksRequested: TASKS,
    results: results.map(({ agents, tasks, constraints, placementsPerSec, p99PassMs, passes, unplaced }) => ({
      agents,
      tasks,
      constraints,
      placementsPerSec,
      p99PassMs,
      passes,
      unplaced,
    })),
  });
  if (!values.json) {
    printTable(
      results.map((r) => ({
        agents: r.agents,
        constraints: r.constraints,
        tasks: r.tasks,
        unplaced: r.unplaced,
        passes: r.passes,
        'placements/s': r.placementsPerSec,
        'p99 pass ms': r.p99PassMs,
      })),
    );
    console.log(`written to ${file}`);
  }
}

main();
