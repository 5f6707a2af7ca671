/**
 * How `drover app get` shows where and how an app's tasks run: the
 * container, the artifacts fetched before the command, the OS user. One
 * line per item, so an operator can compare them with the agent's view.
 */
import { type Container, DockerNetwork, type FetchUri } from '@drover/proto';

/** Hex digits of a sha256 shown: enough to tell two artifacts apart at a glance. */
const SHA_SHOWN = 12;

/**
 * "docker IMAGE (network bridge, privileged, force pull)", then a line per
 * port mapping, volume and docker parameter; undefined for a plain process.
 */
export function formatContainer(c: Container | undefined): string | undefined {
  const d = c?.docker;
  if (c === undefined || d === undefined) return undefined;
  const traits = [`network ${d.network === DockerNetwork.DOCKER_NETWORK_BRIDGE ? 'bridge' : 'host'}`];
  if (d.privileged) traits.push('privileged');
  if (d.forcePullImage) traits.push('force pull');
  const lines = [`docker ${d.image} (${traits.join(', ')})`];
  for (const m of d.portMappings) {
    // hostPort 0 is assigned from the agent's range at launch; containerPort 0 means "the same as the host port".
    const host = m.hostPort === 0 ? 'assigned' : String(m.hostPort);
    const inside = m.containerPort === 0 ? 'same as host' : String(m.containerPort);
    lines.push(`port ${inside}/${m.protocol || 'tcp'} <- host ${host}${m.name === '' ? '' : ` (${m.name})`}`);
  }
  for (const v of c.volumes) lines.push(`volume ${v.containerPath} <- ${v.hostPath} (${v.mode || 'RW'})`);
  for (const p of d.parameters) lines.push(`param --${p.key}=${p.value}`);
  return lines.join('\n');
}

/** One line per artifact: "URI -> dest [executable, extract, cache, sha256 0123456789ab…]"; undefined for none. */
export function formatFetch(fetch: readonly FetchUri[]): string | undefined {
  if (fetch.length === 0) return undefined;
  return fetch
    .map((f) => {
      const flags: string[] = [];
      if (f.executable) flags.push('executable');
      // Unset extract unpacks by file extension; only an explicit choice is worth a word.
      if (f.extract !== undefined) flags.push(f.extract ? 'extract' : 'no extract');
      if (f.cache) flags.push('cache');
      if (f.sha256 !== '') flags.push(`sha256 ${f.sha256.slice(0, SHA_SHOWN)}…`);
      const dest = f.destPath === '' ? '' : ` -> ${f.destPath}`;
      return `${f.uri}${dest}${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}`;
    })
    .join('\n');
}
