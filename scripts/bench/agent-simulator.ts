/**
 * Simulated agents for scripts/bench/cluster: N agents, each with its own
 * gRPC connection and Connect stream to a real master, speaking the real
 * protocol. A launch is answered at once with STARTING then RUNNING (no
 * process is started), a kill with KILLED, a ping with a pong, so the
 * benchmark measures the master: RPC, persistence and scheduling.
 *
 *   tsx scripts/bench/agent-simulator.ts --master HOST:PORT --agents 1000
 */
import { parseArgs } from 'node:util';
import { DROVER_VERSION, newId } from '@drover/common';
import { type AgentMessage, AgentServiceClient, type MasterMessage, TaskState, TaskStatus } from '@drover/proto';
import { type ClientDuplexStream, credentials } from '@grpc/grpc-js';

const { values } = parseArgs({ options: { master: { type: 'string' }, agents: { type: 'string', default: '1000' } } });
const master = values.master ?? '127.0.0.1:5053';
const count = Number(values.agents);
const ZONES = ['a', 'b', 'c'];

function status(taskId: string, state: TaskState): AgentMessage {
  return { message: { $case: 'status', value: TaskStatus.fromPartial({ uuid: newId(), taskId, state, timestamp: new Date(), pid: 1 }) } };
}

function simulate(i: number): Promise<void> {
  // A channel of its own per agent, as real agents on separate machines have.
  const client = new AgentServiceClient(master, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const stream: ClientDuplexStream<AgentMessage, MasterMessage> = client.connect();
  return new Promise((resolve, reject) => {
    stream.on('data', (m: MasterMessage) => {
      const body = m.message;
      switch (body?.$case) {
        case 'registered':
          resolve();
          return;
        case 'ping':
          stream.write({ message: { $case: 'pong', value: { nonce: body.value.nonce } } });
          return;
        case 'launch': {
          const taskId = body.value.task?.taskId ?? '';
          stream.write(status(taskId, TaskState.TASK_STATE_STARTING));
          stream.write(status(taskId, TaskState.TASK_STATE_RUNNING));
          return;
        }
        case 'kill':
          stream.write(status(body.value.taskId, TaskState.TASK_STATE_KILLED));
          return;
        default:
          return;
      }
    });
    stream.on('error', reject);
    stream.write({
      message: {
        $case: 'register',
        value: {
          agentId: '',
          hostname: `sim-${String(i).padStart(5, '0')}`,
          address: '127.0.0.1',
          resources: { cpus: 16, mem: 65536, disk: 500_000, gpus: 0, ports: [{ begin: 31000, end: 32000 }] },
          attributes: { rack: `r${i % 10}`, zone: ZONES[i % 3] as string },
          tasks: [],
          version: DROVER_VERSION,
          epoch: 0,
          capabilities: [],
          taskSpecs: [],
          agentSecret: '',
          bootId: '',
          portsInUse: [],
        },
      },
    });
  });
}

const started = Date.now();
for (let i = 0; i < count; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => simulate(i + j)));
}
process.stdout.write(`registered ${count} agents in ${Date.now() - started} ms\n`);
