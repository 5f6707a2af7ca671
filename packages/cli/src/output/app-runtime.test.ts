import { type Container, ContainerType, DockerNetwork, FetchUri } from '@drover/proto';
import { describe, expect, it } from 'vitest';
import { formatContainer, formatFetch } from './app-runtime.js';

const docker = (d: Partial<NonNullable<Container['docker']>>, volumes: Container['volumes'] = []): Container => ({
  type: ContainerType.CONTAINER_TYPE_DOCKER,
  docker: { image: 'web:1', network: DockerNetwork.DOCKER_NETWORK_HOST, privileged: false, forcePullImage: false, parameters: [], portMappings: [], ...d },
  volumes,
});

describe('formatContainer', () => {
  it.each([
    { name: 'a plain process', c: undefined, want: undefined },
    { name: 'host networking, nothing else', c: docker({}), want: 'docker web:1 (network host)' },
    {
      name: 'bridge with an assigned and a fixed port, a volume, a parameter, privileged and force pull',
      c: docker(
        {
          network: DockerNetwork.DOCKER_NETWORK_BRIDGE,
          privileged: true,
          forcePullImage: true,
          parameters: [{ key: 'ulimit', value: 'nofile=1024' }],
          portMappings: [
            { containerPort: 8080, hostPort: 0, protocol: '', name: 'http', labels: {}, servicePort: 0 },
            { containerPort: 0, hostPort: 31005, protocol: 'udp', name: '', labels: {}, servicePort: 0 },
          ],
        },
        [{ containerPath: '/data', hostPath: 'data', mode: '' }],
      ),
      want: [
        'docker web:1 (network bridge, privileged, force pull)',
        'port 8080/tcp <- host assigned (http)',
        'port same as host/udp <- host 31005',
        'volume /data <- data (RW)',
        'param --ulimit=nofile=1024',
      ].join('\n'),
    },
  ])('$name', ({ c, want }) => {
    expect(formatContainer(c)).toBe(want);
  });
});

describe('formatFetch', () => {
  it.each([
    { name: 'none', fetch: [], want: undefined },
    { name: 'a bare URI', fetch: [FetchUri.fromPartial({ uri: 'https://x/a.sh' })], want: 'https://x/a.sh' },
    {
      name: 'every option, and an explicit no-extract',
      fetch: [
        FetchUri.fromPartial({ uri: 'https://x/a.tgz', executable: true, extract: true, cache: true, destPath: 'bin', sha256: 'ab'.repeat(32) }),
        FetchUri.fromPartial({ uri: 'file:///srv/b.zip', extract: false }),
      ],
      want: 'https://x/a.tgz -> bin [executable, extract, cache, sha256 abababababab…]\nfile:///srv/b.zip [no extract]',
    },
  ])('$name', ({ fetch, want }) => {
    expect(formatFetch(fetch)).toBe(want);
  });
});
