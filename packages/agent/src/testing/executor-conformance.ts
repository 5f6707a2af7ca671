/**
 * The one test suite every executor passes: the rules written on the
 * Executor interface (executor.ts), checked the same way for processes,
 * containers and the in-memory fake. An executor brings a subject that
 * turns the few behaviours the suite needs (exit with a code, run until
 * killed, ignore SIGTERM, die of a signal, fail to start) into specs it
 * runs; adding an executor adds a subject and changes nothing here.
 *
 * Executors that only learn exit codes (Docker: a command killed by signal N
 * exits with 128 + N) pass where a signal is expected by reporting that code.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, DroverError, NotFoundError } from '@drover/common';
import type { TaskSpec } from '@drover/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, sandboxFor } from '../sandbox/sandbox.js';
import { eventually } from './fake-master.js';
import { type Executor, LaunchError, type TaskExit, type TaskHandle } from '../executor/executor.js';

/** What a task must do; a subject turns it into a spec its executor runs. */
export type Behaviour =
  /** Exits with `code`, at once or after `afterMs`. */
  | { readonly kind: 'exit'; readonly code: number; readonly afterMs?: number }
  /** Runs until a signal ends it (SIGTERM does). */
  | { readonly kind: 'sleep' }
  /** Runs until SIGKILL: ignores SIGTERM (once subject.ignoresTerm says so). */
  | { readonly kind: 'ignore-term' }
  /** Dies of SIGKILL that nobody asked for. */
  | { readonly kind: 'die' }
  /** Cannot be started at all. */
  | { readonly kind: 'unlaunchable' };

/** One executor under test, as the suite sees it. */
export interface ConformanceSubject {
  /** A new executor; a test that plays an agent restart takes a second one. */
  executor(): Executor;
  /** A spec with a fresh task id that behaves as asked. */
  spec(behaviour: Behaviour): TaskSpec;
  /**
   * Resolves once the 'ignore-term' task in `sandboxDir` really ignores
   * SIGTERM. A real task is RUNNING before its shell has installed the trap,
   * and a SIGTERM in that window ends it; executors whose tasks cannot be
   * signalled that early leave this out.
   */
  ignoresTerm?(sandboxDir: string): Promise<void>;
  /** Whether the task behind `handle` still runs, seen from outside any executor. */
  isRunning(handle: TaskHandle): Promise<boolean>;
  /** Ends and removes whatever the test's tasks left behind. */
  cleanup(handles: readonly TaskHandle[]): Promise<void>;
}

/** Options of one run of the suite. */
export interface ConformanceOptions {
  /** Skip every test, saying why (printed). */
  skip?: string;
  /** Per-test timeout; default vitest's. */
  timeoutMs?: number;
}

/** The signal an exit stands for: "SIGKILL" for a SIGKILL death or for exit code 137. */
export function signalOf(exit: TaskExit): string | undefined {
  if (exit.kind === 'signaled') return exit.signal;
  if (exit.kind === 'exited' && exit.exitCode > 128) {
    const number = exit.exitCode - 128;
    return Object.entries(os.constants.signals).find(([, n]) => n === number)?.[0];
  }
  return undefined;
}

/** Whether `p` settled within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

/** Registers the conformance suite for the executor `makeSubject` builds. */
export function executorConformance(name: string, makeSubject: () => ConformanceSubject, options: ConformanceOptions = {}): void {
  const suite = options.skip === undefined ? describe : describe.skip;
  if (options.skip !== undefined) console.warn(`executor conformance (${name}) skipped: ${options.skip}`);

  suite(`executor conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    let workDir: string;
    let executors: Executor[];
    let handles: TaskHandle[];

    const executor = (): Executor => {
      const e = subject.executor();
      executors.push(e);
      return e;
    };
    const launch = async (e: Executor, spec: TaskSpec): Promise<TaskHandle> => {
      const sandbox = sandboxFor(path.join(workDir, 'tasks'), spec.taskId);
      await createSandbox(sandbox);
      const handle = await e.launch({ spec, sandbox, host: 'node-1.test' });
      handles.push(handle);
      return handle;
    };
    const ignoringTerm = async (spec: TaskSpec): Promise<void> => {
      await subject.ignoresTerm?.(sandboxFor(path.join(workDir, 'tasks'), spec.taskId).dir);
    };
    const request = async (spec: TaskSpec) => {
      const sandbox = sandboxFor(path.join(workDir, 'tasks'), spec.taskId);
      await createSandbox(sandbox);
      return { spec, sandbox, host: 'node-1.test' };
    };

    beforeEach(async () => {
      subject = makeSubject();
      workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'drover-conformance-'));
      executors = [];
      handles = [];
    });

    afterEach(async () => {
      for (const e of executors) e.close();
      await subject.cleanup(handles);
      await fs.rm(workDir, { recursive: true, force: true });
    });

    const t = options.timeoutMs;

    it.each([
      { name: 'exit 0', code: 0 },
      { name: 'exit 3', code: 3 },
    ])('reports $name as the exit code', async ({ code }) => {
      const e = executor();
      const spec = subject.spec({ kind: 'exit', code });
      await launch(e, spec);
      expect(await e.wait(spec.taskId)).toMatchObject({ kind: 'exited', exitCode: code });
    }, t);

    it('reports a signal nobody sent', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'die' });
      await launch(e, spec);
      expect(signalOf(await e.wait(spec.taskId))).toBe('SIGKILL');
    }, t);

    it('launches once per task id, also when asked concurrently, with a plain JSON handle', async () => {
      const e = executor();
      const req = await request(subject.spec({ kind: 'sleep' }));
      const [a, b] = await Promise.all([e.launch(req), e.launch(req)]);
      handles.push(a);
      expect(b).toEqual(a);
      expect(await e.launch(req)).toEqual(a);
      expect(a).toMatchObject({ taskId: req.spec.taskId, executor: e.name });
      expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    }, t);

    it('resolves every wait, before and after the end, with the same exit', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'exit', code: 4, afterMs: 200 });
      await launch(e, spec);
      const early = await Promise.all([e.wait(spec.taskId), e.wait(spec.taskId), e.wait(spec.taskId)]);
      const late = await e.wait(spec.taskId);
      for (const exit of [...early, late]) expect(exit).toEqual(early[0]);
      expect(late).toMatchObject({ kind: 'exited', exitCode: 4 });
    }, t);

    it('kills politely first: a task that stops on SIGTERM ends well within its grace period', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'sleep' });
      await launch(e, spec);
      const started = Date.now();
      const exit = await e.kill(spec.taskId, 10_000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(signalOf(exit)).toBe('SIGTERM');
      expect(await e.wait(spec.taskId)).toEqual(exit);
    }, t);

    it('forces the kill once the grace period is over', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'ignore-term' });
      const handle = await launch(e, spec);
      await ignoringTerm(spec);
      const started = Date.now();
      const exit = await e.kill(spec.taskId, 700);
      const took = Date.now() - started;
      expect(signalOf(exit)).toBe('SIGKILL');
      expect(took).toBeGreaterThanOrEqual(650);
      expect(took).toBeLessThan(4000);
      expect(await subject.isRunning(handle)).toBe(false);
    }, t);

    it('never restarts the grace period on a second kill, but lets it be shortened', async () => {
      const e = executor();
      const [slow, fast] = [subject.spec({ kind: 'ignore-term' }), subject.spec({ kind: 'ignore-term' })];
      await Promise.all([launch(e, slow), launch(e, fast)]);
      await Promise.all([ignoringTerm(slow), ignoringTerm(fast)]);
      const started = Date.now();
      const slowExit = e.kill(slow.taskId, 1000);
      const fastExit = e.kill(fast.taskId, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      void e.kill(slow.taskId, 30_000);
      void e.kill(fast.taskId, 200);
      const [s, f] = await Promise.all([slowExit, fastExit]);
      expect(signalOf(s)).toBe('SIGKILL');
      expect(signalOf(f)).toBe('SIGKILL');
      expect(Date.now() - started).toBeLessThan(5000);
    }, t);

    it('resolves a kill of an ended task at once, with its exit', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'exit', code: 0 });
      await launch(e, spec);
      const exit = await e.wait(spec.taskId);
      const started = Date.now();
      expect(await e.kill(spec.taskId, 30_000)).toEqual(exit);
      expect(Date.now() - started).toBeLessThan(500);
    }, t);

    it('rejects wait and kill of an unknown task with NotFoundError', async () => {
      const e = executor();
      await expect(e.wait('unknown.1')).rejects.toBeInstanceOf(NotFoundError);
      await expect(e.kill('unknown.1', 0)).rejects.toBeInstanceOf(NotFoundError);
    }, t);

    it('rejects a launch that cannot start with a LaunchError, and knows nothing of the task after', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'unlaunchable' });
      const error = await launch(e, spec).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(LaunchError);
      expect((error as LaunchError).taskId).toBe(spec.taskId);
      await expect(e.wait(spec.taskId)).rejects.toBeInstanceOf(NotFoundError);
    }, t);

    it('re-adopts a running task in a new executor, which can kill it; the closed one stays silent', async () => {
      const first = executor();
      const spec = subject.spec({ kind: 'sleep' });
      const handle = await launch(first, spec);
      const firstWait = first.wait(spec.taskId);
      first.close();

      const second = executor();
      const foreign: TaskHandle = { taskId: 'foreign.1', executor: `not-${second.name}`, pid: 1, details: {} };
      expect(await second.recover([handle, foreign])).toEqual(new Set([spec.taskId]));
      expect(await subject.isRunning(handle)).toBe(true);
      const exit = await second.kill(spec.taskId, 10_000);
      expect(exit.kind === 'unknown' || signalOf(exit) === 'SIGTERM').toBe(true);
      expect(await subject.isRunning(handle)).toBe(false);
      expect(await settlesWithin(firstWait, 200)).toBe(false);
    }, t);

    it('says a handle whose task is gone is gone', async () => {
      const e = executor();
      const gone: TaskHandle = { taskId: 'gone.1', executor: e.name, pid: 2 ** 22 + 1, details: {} };
      expect(await e.recover([gone])).toEqual(new Set());
      await expect(e.wait('gone.1')).rejects.toBeInstanceOf(NotFoundError);
    }, t);

    it('reports a task that ended while no executor watched: its exit if it can still read it, else gone', async () => {
      const first = executor();
      const spec = subject.spec({ kind: 'exit', code: 3, afterMs: 300 });
      const handle = await launch(first, spec);
      first.close();
      await eventually(async () => !(await subject.isRunning(handle)), 'the task to end', 10_000);

      const second = executor();
      const adopted = await second.recover([handle]);
      if (second.capabilities.exitStatusAfterRecover) {
        expect(adopted).toEqual(new Set([spec.taskId]));
        expect(await second.wait(spec.taskId)).toMatchObject({ kind: 'exited', exitCode: 3 });
      } else {
        expect(adopted).toEqual(new Set());
      }
    }, t);

    it('leaves tasks running on close, with wait pending', async () => {
      const e = executor();
      const spec = subject.spec({ kind: 'sleep' });
      const handle = await launch(e, spec);
      const waiting = e.wait(spec.taskId);
      e.close();
      expect(await settlesWithin(waiting, 300)).toBe(false);
      expect(await subject.isRunning(handle)).toBe(true);
    }, t);

    it('removes an ended task once asked (idempotently), refusing to remove a running one', async () => {
      const e = executor();
      const [ended, running] = [subject.spec({ kind: 'exit', code: 0 }), subject.spec({ kind: 'sleep' })];
      const [endedHandle, runningHandle] = await Promise.all([launch(e, ended), launch(e, running)]);
      await e.wait(ended.taskId);
      await e.remove(endedHandle);
      await e.remove(endedHandle);
      await expect(e.wait(ended.taskId)).rejects.toBeInstanceOf(NotFoundError);
      const refusal = await e.remove(runningHandle).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(DroverError);
      expect((refusal as DroverError).code).toBe(Code.FailedPrecondition);
      expect(await subject.isRunning(runningHandle)).toBe(true);
    }, t);
  });
}
