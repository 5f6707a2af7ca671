/**
 * scripts/install: a self-contained copy of drover outside the checkout that
 * runs, and a systemd unit whose ExecStart survives awkward arguments.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, requireBuiltCli } from '../support/drover-process.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const root = tempDir('install');

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('scripts/install', () => {
  it('installs a working drover and an agent unit with quoted arguments', async () => {
    requireBuiltCli();
    const prefix = path.join(root, 'opt', 'drover');
    const bin = path.join(root, 'bin');
    const units = path.join(root, 'units');
    await run(
      'bash',
      [
        path.join(REPO, 'scripts/install'),
        '--no-setup',
        '--prefix',
        prefix,
        '--bin-dir',
        bin,
        '--unit-dir',
        units,
        '--service',
        'agent',
        '--',
        '--master',
        '10.0.0.1:5053',
        '--work-dir',
        '/var/lib/drover agent',
        '--attributes',
        'rack=r1,note=50%',
      ],
      { timeout: 120_000 },
    );
    // The installed copy runs from outside the checkout with its own modules.
    expect(fs.realpathSync(path.join(bin, 'drover')).startsWith(fs.realpathSync(prefix))).toBe(true);
    const version = await run(path.join(bin, 'drover'), ['--version'], { cwd: root });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run(path.join(bin, 'drover'), ['master', '--help'], { cwd: root });
    expect(help.stdout).toContain('--data-dir');

    const unit = fs.readFileSync(path.join(units, 'drover-agent.service'), 'utf8');
    expect(unit).toContain(
      `ExecStart=${bin}/drover agent "--master" "10.0.0.1:5053" "--work-dir" "/var/lib/drover agent" "--attributes" "rack=r1,note=50%%"`,
    );
    expect(unit).toContain('KillMode=process');
  });

  it('writes an HA master unit with --etcd, and refuses --etcd for an agent', async () => {
    const units = path.join(root, 'units-ha');
    const common = ['--no-setup', '--prefix', path.join(root, 'opt', 'drover-ha'), '--bin-dir', path.join(root, 'bin-ha'), '--unit-dir', units];
    const refused = await run('bash', [path.join(REPO, 'scripts/install'), ...common, '--service', 'agent', '--etcd', 'http://10.0.0.1:2379'], { timeout: 120_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 2, stderr: 'install: --etcd is for --service master\n' });
    await run('bash', [path.join(REPO, 'scripts/install'), ...common, '--service', 'master', '--etcd', 'http://10.0.0.1:2379,http://10.0.0.2:2379', '--', '--advertise', '10.0.0.1'], { timeout: 120_000 });
    const unit = fs.readFileSync(path.join(units, 'drover-master.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${path.join(root, 'bin-ha')}/drover master "--etcd" "http://10.0.0.1:2379,http://10.0.0.2:2379" "--advertise" "10.0.0.1"`);
    expect(unit).toContain('Restart=always');
  }, 120_000);
});
