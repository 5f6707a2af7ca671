/**
 * Relays file requests to the agent that runs (or ran) a task, over that
 * agent's own Connect stream: masters never dial agents (they may sit
 * behind NAT), so the stream the agent opened is the only way to its
 * sandboxes.
 *
 * Protocol. The relay picks a fresh request id (unique for this master's
 * lifetime) and sends FileRequest{request_id, task_id, ...} to the task's
 * agent. The agent answers with FileResponse messages carrying that id; the
 * gateway hands each to `deliver`, which checks it came from the agent the
 * request went to and passes it on. The response with `done` ends the
 * request; `error`/`error_code` end it with that gRPC code. When the caller
 * stops (its AbortSignal fires: the gRPC client went away) the relay sends
 * FileRequestCancel{request_id} so the agent stops reading (a follow would
 * otherwise run for ever). When the agent's stream ends, its requests fail
 * with UNAVAILABLE. An agent that does not answer at all (an older agent
 * ignores FileRequest) fails the request after `firstAnswerTimeoutMs`.
 */
import { Code, DroverError, type Logger, NotFoundError } from '@drover/common';
import { FileRequest, type FileResponse } from '@drover/proto';
import type { AgentSession } from '../sessions/agent-session.js';
import type { AgentSessions } from '../sessions/agent-sessions.js';
import type { ClusterState } from '../state/cluster-state.js';

/** Default time an agent has to send the first answer to a request. */
export const DEFAULT_FIRST_ANSWER_TIMEOUT_MS = 15_000;

/** What a relayed request asks of the agent (the relay fills in the id and the task). */
export type FileAsk = Partial<Omit<FileRequest, 'requestId' | 'taskId'>>;

interface Pending {
  readonly agentId: string;
  readonly host: string;
  readonly session: AgentSession;
  readonly onResponse: (response: FileResponse) => void;
  readonly finish: (error?: DroverError) => void;
  answered: boolean;
}

/** Sends FileRequests to agents and routes their answers back (see the top of the file). */
export class FileRelay {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly firstAnswerTimeoutMs: number;

  constructor(
    private readonly state: ClusterState,
    private readonly sessions: AgentSessions,
    private readonly log: Logger,
    options: { firstAnswerTimeoutMs?: number } = {},
  ) {
    this.firstAnswerTimeoutMs = options.firstAnswerTimeoutMs ?? DEFAULT_FIRST_ANSWER_TIMEOUT_MS;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request about `taskId`'s sandbox and calls `onResponse` with
   * every answer that is not an error, in order. Resolves after the last
   * one (done) or when `signal` aborts (the agent is told to stop); rejects
   * with the agent's error, NOT_FOUND for an unknown task,
   * FAILED_PRECONDITION for a task not placed yet, UNAVAILABLE when its
   * agent is not connected or goes away. If `onResponse` throws, the
   * request is cancelled and the promise rejects with that error.
   */
  request(taskId: string, ask: FileAsk, onResponse: (response: FileResponse) => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { agentId, host, session } = this.route(taskId);
      if (signal?.aborted) return resolve();
      const requestId = this.nextId++;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        session.send({ $case: 'fileCancel', value: { requestId } });
        finish();
      };
      const finish = (error?: DroverError) => {
        if (this.pending.get(requestId) !== entry) return;
        this.pending.delete(requestId);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const entry: Pending = {
        agentId,
        host,
        session,
        answered: false,
        finish,
        onResponse: (response) => {
          try {
            onResponse(response);
          } catch (e) {
            session.send({ $case: 'fileCancel', value: { requestId } });
            finish(DroverError.from(e, Code.Internal));
          }
        },
      };
      this.pending.set(requestId, entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => {
        if (entry.answered) return;
        session.send({ $case: 'fileCancel', value: { requestId } });
        finish(new DroverError(`agent ${host} did not answer the file request within ${this.firstAnswerTimeoutMs} ms`, Code.DeadlineExceeded));
      }, this.firstAnswerTimeoutMs);
      timer.unref();
      const sent = session.send({ $case: 'fileRequest', value: FileRequest.fromPartial({ ...ask, requestId, taskId }) });
      if (!sent) finish(notConnected(host));
    });
  }

  /** An agent answered (from the gateway). Answers to unknown ids, or from another agent, are dropped. */
  deliver(agentId: string, response: FileResponse): void {
    const entry = this.pending.get(response.requestId);
    if (entry === undefined || entry.agentId !== agentId) {
      this.log.debug({ agentId, requestId: response.requestId }, 'dropping a file response nobody waits for');
      return;
    }
    entry.answered = true;
    if (response.error !== '' || response.errorCode !== 0) {
      const code = response.errorCode in Code && response.errorCode !== 0 ? (response.errorCode as Code) : Code.Unknown;
      entry.finish(new DroverError(response.error || 'the agent failed the file request', code));
      return;
    }
    entry.onResponse(response);
    if (response.done) entry.finish();
  }

  /** An agent's stream ended: its requests fail with UNAVAILABLE. */
  sessionEnded(session: AgentSession): void {
    for (const entry of [...this.pending.values()]) {
      if (entry.session === session) entry.finish(new DroverError(`agent ${entry.host} disconnected`, Code.Unavailable));
    }
  }

  /** The open session of the agent that has the task's sandbox. */
  private route(taskId: string): { agentId: string; host: string; session: AgentSession } {
    const task = this.state.task(taskId);
    if (task === undefined) throw new NotFoundError('task', taskId);
    if (task.agentId === '') throw new DroverError(`task ${taskId} has not been placed on an agent yet`, Code.FailedPrecondition);
    const host = this.state.agent(task.agentId)?.hostname || task.host || task.agentId;
    const session = this.sessions.get(task.agentId);
    if (session === undefined) throw notConnected(host);
    return { agentId: task.agentId, host, session };
  }
}

function notConnected(host: string): DroverError {
  return new DroverError(`agent ${host} is not connected`, Code.Unavailable);
}
