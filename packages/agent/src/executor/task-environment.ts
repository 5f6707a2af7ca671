/**
 * The environment a task starts with. Built from scratch rather than copied
 * from the agent, so the agent's own variables (credentials, tokens, proxy
 * settings) never leak into tasks: only a few locale and path variables are
 * inherited. Precedence, lowest first: inherited, the app's env, Drover's own
 * variables (a task cannot be told a wrong port or id by its app spec).
 */
import type { TaskSpec } from '@drover/proto';

/** Variables copied from the agent's environment when set. */
export const INHERITED_VARIABLES = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'HOME'] as const;

/** Facts about where the task runs that go into its environment. */
export interface TaskEnvironmentContext {
  /** Address the task is reachable at (HOST). */
  readonly host: string;
  /** The task's sandbox directory (DROVER_SANDBOX). */
  readonly sandboxDir: string;
  /** The agent's environment to inherit from; default process.env. */
  readonly agentEnv?: NodeJS.ProcessEnv;
}

/** "http-alt" -> "PORT_HTTP_ALT" (upper case, anything but letters and digits becomes "_"). */
export function namedPortVariable(name: string): string {
  return `PORT_${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/** The complete environment of a task (nothing else is inherited). */
export function taskEnvironment(spec: TaskSpec, context: TaskEnvironmentContext): Record<string, string> {
  const agentEnv = context.agentEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = agentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, spec.env);

  env.DROVER_TASK_ID = spec.taskId;
  env.DROVER_APP_ID = spec.appId;
  env.DROVER_APP_VERSION = spec.appVersion;
  env.DROVER_SANDBOX = context.sandboxDir;
  env.HOST = context.host;
  const numbers = spec.ports.map((p) => String(p.number));
  if (numbers.length > 0) {
    env.PORT = numbers[0] as string;
    env.PORTS = numbers.join(',');
  }
  numbers.forEach((n, i) => {
    env[`PORT${i}`] = n;
  });
  for (const port of spec.ports) {
    if (port.name !== '') env[namedPortVariable(port.name)] = String(port.number);
  }
  return env;
}
