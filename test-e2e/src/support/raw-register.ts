/**
 * One Register on a raw AgentService stream, the way an impostor would send
 * it: whatever identity and credentials the test chooses, no agent behind.
 */
import { type channelCredentials, DROVER_VERSION } from '@drover/common';
import { type AgentMessage, AgentServiceClient, type MasterMessage, type Register } from '@drover/proto';

type ChannelCredentials = ReturnType<typeof channelCredentials>;

/** How the master answered: Registered, or the status it ended the stream with. */
export type RegisterAnswer = { readonly registered: true; readonly agentId: string } | { readonly registered: false; readonly code: number; readonly details: string };

/** A Register with harmless defaults (no tasks: the message that would mark a real agent's tasks LOST). */
export function register(overrides: Partial<Register>): Register {
  return {
    agentId: '',
    agentSecret: '',
    hostname: 'impostor',
    address: '127.0.0.1',
    resources: { cpus: 8, mem: 8192, disk: 10_000, gpus: 0, ports: [{ begin: 33000, end: 33099 }] },
    attributes: {},
    tasks: [],
    version: DROVER_VERSION,
    epoch: 0,
    capabilities: [],
    taskSpecs: [],
    portsInUse: [],
    bootId: '',
    ...overrides,
  };
}

/** Sends `reg` as the first message of a Connect stream and returns the master's answer; the stream is then dropped. */
export async function sendRegister(address: string, credentials: ChannelCredentials, reg: Register): Promise<RegisterAnswer> {
  const client = new AgentServiceClient(address, credentials);
  const stream = client.connect();
  try {
    return await new Promise<RegisterAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to Register in 10 s')), 10_000);
      stream.on('data', (m: MasterMessage) => {
        if (m.message?.$case !== 'registered') return;
        clearTimeout(timer);
        resolve({ registered: true, agentId: m.message.value.agentId });
      });
      stream.on('error', (e: Error & { code: number; details: string }) => {
        clearTimeout(timer);
        resolve({ registered: false, code: e.code, details: e.details });
      });
      stream.write({ message: { $case: 'register', value: reg } } satisfies AgentMessage);
    });
  } finally {
    stream.cancel();
    client.close();
  }
}
