/**
 * What must hold of every plan, whatever the scheduler's choices: checked
 * by replaying the plan in order against the snapshot. The property tests
 * run it on random clusters; a non-empty answer is a scheduler bug.
 */
import { containsPort, fixed, SCALAR_NAMES, type ScalarResources, subtract } from '@drover/common';
import { fieldValue } from '../field-value.js';
import type { AgentSnapshot, Plan, PlacementRequest, Snapshot } from '../types.js';

/** Every way the plan breaks the rules (empty when it is sound). */
export function planViolations(snap: Snapshot, requests: readonly PlacementRequest[], plan: Plan): string[] {
  const problems: string[] = [];
  const agents = new Map(snap.agents.map((a) => [a.id, a]));
  const byKey = new Map(requests.map((r) => [r.key, r]));
  const free = new Map<string, ScalarResources>(snap.agents.map((a) => [a.id, a.free]));
  const portsUsed = new Map<string, Set<number>>();
  // app -> agent id -> tasks, starting from the snapshot's live tasks.
  const tasks = new Map<string, Map<string, number>>();
  for (const [app, byAgent] of snap.placed) tasks.set(app, new Map(byAgent));

  const countOn = (app: string, field: string, value: string): number => {
    let n = 0;
    for (const [id, count] of tasks.get(app) ?? []) {
      const a = agents.get(id);
      if (a && fieldValue(a, field) === value) n += count;
    }
    return n;
  };

  for (const p of plan.placements) {
    const req = byKey.get(p.key);
    const a = agents.get(p.agentId);
    if (!req || !a) {
      problems.push(`placement ${p.key} on ${p.agentId}: unknown request or agent`);
      continue;
    }
    if (a.draining) problems.push(`${p.key} placed on draining agent ${a.id}`);
    problems.push(...constraintViolations(req, a, countOn));
    const left = subtract(free.get(a.id) as ScalarResources, req.resources);
    free.set(a.id, left);
    for (const name of SCALAR_NAMES) {
      if (fixed(left[name]) < 0) problems.push(`agent ${a.id} overcommitted on ${name} by ${p.key}`);
    }
    const used = portsUsed.get(a.id) ?? new Set<number>();
    portsUsed.set(a.id, used);
    if (p.hostPorts.length !== req.ports.length) problems.push(`${p.key}: ${p.hostPorts.length} ports for ${req.ports.length} requested`);
    p.hostPorts.forEach((port, i) => {
      const wanted = req.ports[i]?.port ?? 0;
      if (wanted !== 0 && wanted !== port) problems.push(`${p.key}: fixed port ${wanted} given as ${port}`);
      if (!containsPort(a.freePorts, port)) problems.push(`${p.key}: port ${port} not free on ${a.id}`);
      if (used.has(port)) problems.push(`${p.key}: port ${port} on ${a.id} handed out twice`);
      used.add(port);
    });
    const appTasks = tasks.get(req.appId) ?? new Map<string, number>();
    tasks.set(req.appId, appTasks);
    appTasks.set(a.id, (appTasks.get(a.id) ?? 0) + 1);
  }

  for (const r of requests) {
    const placed = plan.placements.filter((p) => p.key === r.key).length;
    const unplaced = plan.unplaced.filter((u) => u.key === r.key);
    if (unplaced.length > 1) problems.push(`${r.key}: ${unplaced.length} unplaced entries`);
    const missing = unplaced.reduce((n, u) => n + u.count, 0);
    if (placed + missing !== r.count) problems.push(`${r.key}: ${placed} placed + ${missing} unplaced != ${r.count}`);
  }
  return problems;
}

/** The constraints of `req` that placing one more instance on `a` breaks, given the counts so far. */
function constraintViolations(
  req: PlacementRequest,
  a: AgentSnapshot,
  countOn: (app: string, field: string, value: string) => number,
): string[] {
  const out: string[] = [];
  for (const c of req.constraints) {
    const value = fieldValue(a, c.field);
    const text = `${req.key} on ${a.id}: ${c.field} ${c.operator} ${c.value ?? ''}`.trimEnd();
    if (value === undefined) {
      if (c.operator !== 'UNLIKE') out.push(`${text} (no attribute)`);
      continue;
    }
    const n = countOn(req.appId, c.field, value);
    const ok = {
      UNIQUE: () => n === 0,
      MAX_PER: () => n < Number(c.value),
      IS: () => value === c.value,
      IN: () => (c.value ?? '').split(',').map((v) => v.trim()).includes(value),
      LIKE: () => new RegExp(`^(?:${c.value})$`).test(value),
      UNLIKE: () => !new RegExp(`^(?:${c.value})$`).test(value),
      // Checked by dedicated tests: they depend on the whole cluster.
      CLUSTER: () => true,
      GROUP_BY: () => true,
    }[c.operator]();
    if (!ok) out.push(text);
  }
  return out;
}
