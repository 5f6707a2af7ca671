import { TaskSpec } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { namedPortVariable, taskEnvironment } from './task-environment.js';

const spec = TaskSpec.fromPartial({
  taskId: 'web.1',
  appId: '/web',
  appVersion: 'v1',
  cmd: 'true',
  env: { APP_ONLY: 'a', PORT0: '1', HOST: 'evil', PATH: '/app/bin' },
  ports: [
    { number: 31001, name: 'http', protocol: 'tcp' },
    { number: 31002, name: '', protocol: 'tcp' },
    { number: 31003, name: 'admin-ui', protocol: 'tcp' },
  ],
});
const env = taskEnvironment(spec, {
  host: 'node-1.example',
  sandboxDir: '/var/lib/drover-agent/tasks/web.1',
  agentEnv: { PATH: '/usr/bin', LANG: 'C.UTF-8', HOME: '/root', AWS_SECRET_ACCESS_KEY: 'secret', DROVER_LOG_LEVEL: 'debug' },
});

describe('task environment', () => {
  it.each([
    { name: 'task id', key: 'DROVER_TASK_ID', value: 'web.1' },
    { name: 'app id', key: 'DROVER_APP_ID', value: '/web' },
    { name: 'app version', key: 'DROVER_APP_VERSION', value: 'v1' },
    { name: 'sandbox', key: 'DROVER_SANDBOX', value: '/var/lib/drover-agent/tasks/web.1' },
    { name: 'HOST wins over the app env', key: 'HOST', value: 'node-1.example' },
    { name: 'PORT0 wins over the app env', key: 'PORT0', value: '31001' },
    { name: 'PORT1', key: 'PORT1', value: '31002' },
    { name: 'PORT2', key: 'PORT2', value: '31003' },
    { name: 'PORT is PORT0', key: 'PORT', value: '31001' },
    { name: 'PORTS lists all', key: 'PORTS', value: '31001,31002,31003' },
    { name: 'named port', key: 'PORT_HTTP', value: '31001' },
    { name: 'named port with a dash', key: 'PORT_ADMIN_UI', value: '31003' },
    { name: 'app env', key: 'APP_ONLY', value: 'a' },
    { name: 'app env wins over inherited', key: 'PATH', value: '/app/bin' },
    { name: 'inherited LANG', key: 'LANG', value: 'C.UTF-8' },
    { name: 'inherited HOME', key: 'HOME', value: '/root' },
  ])('sets $name', ({ key, value }) => {
    expect(env[key]).toBe(value);
  });

  it.each(['AWS_SECRET_ACCESS_KEY', 'DROVER_LOG_LEVEL', 'TZ', 'PORT3'])('does not set %s', (key) => {
    expect(env).not.toHaveProperty(key);
  });

  it('sets no PORT variables for a task without ports', () => {
    const bare = taskEnvironment(TaskSpec.fromPartial({ taskId: 't', cmd: 'true' }), { host: 'h', sandboxDir: '/s', agentEnv: {} });
    expect(Object.keys(bare).filter((k) => k.startsWith('PORT'))).toEqual([]);
  });

  it.each([
    { name: 'http', out: 'PORT_HTTP' },
    { name: 'admin-ui', out: 'PORT_ADMIN_UI' },
    { name: 'Metrics.v2', out: 'PORT_METRICS_V2' },
  ])('names port $name as $out', ({ name, out }) => {
    expect(namedPortVariable(name)).toBe(out);
  });
});
