/**
 * Agents indexed by free resources, so a pass finds agents that can take an
 * instance without visiting the ones that cannot.
 *
 * The index is a grid of cells by free cpus x free mem, each axis on a log2
 * scale (cell c holds agents with 2^(c-1) <= free units < 2^c; units are
 * millicores and MiB; cell 0 holds agents with nothing free). An agent that
 * fits a request has at least the request in both, so it lies in the
 * quadrant of cells at or above the request's own cell on both axes: the
 * walk visits only those cells and skips every agent elsewhere unseen.
 * Agents in the request's own row or column may still fall short; the
 * resources-fit filter checks them exactly. Disk and gpus are not indexed
 * (most requests need no gpus and little disk); the filters check them.
 *
 * Non-empty cells are kept in a list ordered tightest first (by the sum of
 * the two cell numbers), so a request's quadrant is a short scan of that
 * list, not of the whole grid. A walk goes one of two ways:
 *  - tightest: cell by cell from the tightest, each from its front, so the
 *    busiest agents that fit come first (binpack).
 *  - scattered: from a given position among the quadrant's agents, then in
 *    steps of about 0.38 of their number (a golden-ratio stride, coprime
 *    with it, so every agent comes up exactly once). The first few agents
 *    are spread over all the cells, from the busiest to the emptiest, like
 *    a stratified random sample (spread). A plain run from a random start
 *    would not do: neighbours in the index have nearly the same free
 *    resources, so the sample would see one load level only.
 *
 * Updating an agent after a placement is O(1) unless its cell changes
 * (swap-remove from one cell, append to another and swap to the front, so
 * the agent a binpack pass just used is the first one it sees again).
 * Only a cell that becomes empty or non-empty touches the ordered list.
 *
 * The index only ever prunes: every agent it yields still goes through all
 * the filters, so a bug here can cost a placement, never overcommit.
 */
import { fixed, type ScalarResources } from '@drover/common';
import type { WorkingAgent } from './working-agent.js';

/** Cells per axis: 2^31 millicores or MiB is far beyond any machine. */
const AXIS = 32;

/** The log2 cell of an amount in whole units: 0 for nothing, else floor(log2(units)) + 1. */
function cellOnAxis(units: number): number {
  if (!(units >= 1)) return 0;
  return 32 - Math.clz32(Math.min(units, 0x7fffffff));
}

function cellOf(r: ScalarResources): number {
  return cellOnAxis(Math.round(r.cpus * 1000)) * AXIS + cellOnAxis(Math.floor(fixed(r.mem)));
}

/** Position in the tightest-first order: diagonal first, then cpus. */
function rank(cell: number): number {
  const c = Math.floor(cell / AXIS);
  const m = cell % AXIS;
  return (c + m) * AXIS + c;
}

/** How a walk goes: from the tightest cell, or scattered from a position given as a fraction in [0, 1). */
export type WalkOrder = { readonly kind: 'tightest' } | { readonly kind: 'scattered'; readonly start: number };

/** A step near 0.382 * n (the golden ratio's 1 - 1/phi) that is coprime with n, so n steps visit every position once. */
function coprimeStride(n: number): number {
  if (n <= 2) return 1;
  let stride = Math.max(1, Math.round(n * 0.381966));
  while (gcd(stride, n) !== 1) stride++;
  return stride;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Free-resource index over a pass's working agents (see the top of this file). */
export class FreeIndex {
  private readonly cells: number[][] = [];
  /** Cell of each agent by ordinal; -1 when the agent is not in the index. */
  private readonly cellByAgent: Int32Array;
  /** Position of each agent within its cell. */
  private readonly slotByAgent: Int32Array;
  /** Non-empty cells, tightest first. */
  private readonly live: number[] = [];
  /** Reused by walk: the quadrant's cells, and how many agents precede each. */
  private readonly quadrant = new Int32Array(AXIS * AXIS);
  private readonly before = new Int32Array(AXIS * AXIS + 1);

  constructor(agentCount: number) {
    for (let i = 0; i < AXIS * AXIS; i++) this.cells.push([]);
    this.cellByAgent = new Int32Array(agentCount).fill(-1);
    this.slotByAgent = new Int32Array(agentCount);
  }

  /** Number of agents in the index. */
  get size(): number {
    let n = 0;
    for (const cell of this.live) n += (this.cells[cell] as number[]).length;
    return n;
  }

  /** True when the agent is in the index. */
  has(agent: WorkingAgent): boolean {
    return (this.cellByAgent[agent.ordinal] as number) >= 0;
  }

  /** Adds an agent by its current free resources, at the front of its cell. */
  add(agent: WorkingAgent): void {
    const ordinal = agent.ordinal;
    if ((this.cellByAgent[ordinal] as number) >= 0) return;
    const cell = cellOf(agent.free);
    const members = this.cells[cell] as number[];
    if (members.length === 0) this.insertLive(cell);
    const slot = members.length;
    members.push(ordinal);
    this.cellByAgent[ordinal] = cell;
    this.slotByAgent[ordinal] = slot;
    if (slot > 0) {
      const front = members[0] as number;
      members[0] = ordinal;
      members[slot] = front;
      this.slotByAgent[ordinal] = 0;
      this.slotByAgent[front] = slot;
    }
  }

  /** Takes an agent out of the index (no-op if it is not in it). */
  remove(agent: WorkingAgent): void {
    const ordinal = agent.ordinal;
    const cell = this.cellByAgent[ordinal] as number;
    if (cell < 0) return;
    const members = this.cells[cell] as number[];
    const slot = this.slotByAgent[ordinal] as number;
    const last = members.pop() as number;
    if (last !== ordinal) {
      members[slot] = last;
      this.slotByAgent[last] = slot;
    }
    this.cellByAgent[ordinal] = -1;
    if (members.length === 0) this.removeLive(cell);
  }

  /** Moves an indexed agent to the cell its free resources now belong to. */
  update(agent: WorkingAgent): void {
    const cell = this.cellByAgent[agent.ordinal] as number;
    if (cell < 0 || cell === cellOf(agent.free)) return;
    this.remove(agent);
    this.add(agent);
  }

  /**
   * Calls `visit` with the ordinal of each indexed agent whose cell could
   * fit `need`, in the given order, until it returns false or every such
   * agent was visited once. `visit` must not change the index.
   */
  walk(need: ScalarResources, order: WalkOrder, visit: (ordinal: number) => boolean): void {
    const minCpus = cellOnAxis(Math.round(need.cpus * 1000));
    const minMem = cellOnAxis(Math.floor(fixed(need.mem)));
    const quadrant = this.quadrant;
    const before = this.before;
    let n = 0;
    let total = 0;
    for (const cell of this.live) {
      if (Math.floor(cell / AXIS) >= minCpus && cell % AXIS >= minMem) {
        before[n] = total;
        quadrant[n++] = cell;
        total += (this.cells[cell] as number[]).length;
      }
    }
    before[n] = total;
    if (total === 0) return;
    if (order.kind === 'tightest') {
      for (let k = 0; k < n; k++) {
        const members = this.cells[quadrant[k] as number] as number[];
        for (let j = 0; j < members.length; j++) {
          if (!visit(members[j] as number)) return;
        }
      }
      return;
    }
    const stride = coprimeStride(total);
    let position = Math.min(total - 1, Math.max(0, Math.floor(order.start * total)));
    for (let visited = 0; visited < total; visited++) {
      // The quadrant cell holding `position`: the last k with before[k] <= position.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if ((before[mid] as number) <= position) lo = mid;
        else hi = mid - 1;
      }
      const members = this.cells[quadrant[lo] as number] as number[];
      if (!visit(members[position - (before[lo] as number)] as number)) return;
      position += stride;
      if (position >= total) position -= total;
    }
  }

  private insertLive(cell: number): void {
    const r = rank(cell);
    let lo = 0;
    let hi = this.live.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rank(this.live[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    this.live.splice(lo, 0, cell);
  }

  private removeLive(cell: number): void {
    this.live.splice(this.live.indexOf(cell), 1);
  }
}
