import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inUseWithin, offeredPortsInUse, portsInTable, readPortsInUse } from './ports-in-use.js';

const TCP_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ';
const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const UDP_HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ';

describe('portsInTable', () => {
  it.each<{ name: string; protocol: 'tcp' | 'udp'; lines: string[]; ports: number[] }>([
    {
      name: 'an IPv4 listener on every address',
      protocol: 'tcp',
      lines: [TCP_HEADER, '   0: 00000000:7A1A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 108 1 00000000177a1548 100 0 0 10 0'],
      ports: [31258],
    },
    {
      name: 'an IPv4 listener on loopback only',
      protocol: 'tcp',
      lines: [TCP_HEADER, '   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2211 1 0000000000000000 100 0 0 10 0'],
      ports: [8080],
    },
    {
      name: 'established, TIME_WAIT and SYN_SENT sockets are not listeners',
      protocol: 'tcp',
      lines: [
        TCP_HEADER,
        '   2: 0100007F:7A1B 0100007F:8CA2 01 00000000:00000000 00:00000000 00000000  1000        0 5121 1 0000000000000000 20 4 30 10 -1',
        '   3: 0100007F:7A1C 0100007F:1F90 06 00000000:00000000 03:00000F2E 00000000     0        0 0 3 0000000000000000',
        '   4: 0A000002:7A1D 5DB8D822:01BB 02 00000001:00000000 01:00000064 00000002  1000        0 7001 1 0000000000000000 200 0 0 10 -1',
      ],
      ports: [],
    },
    {
      name: 'IPv6 listeners: wildcard and loopback',
      protocol: 'tcp',
      lines: [
        TCP6_HEADER,
        '   0: 00000000000000000000000000000000:827B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 28762 1 00000000cbab6ab0 100 0 0 10 0',
        '   1: 00000000000000000000000001000000:7A1E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 28763 1 00000000cbab6ab1 100 0 0 10 0',
        '   2: 0000000000000000FFFF00000100007F:7A1F 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 28764 1 00000000cbab6ab2 20 4 0 10 -1',
      ],
      ports: [33403, 31262],
    },
    {
      name: 'every bound UDP socket, unconnected (07) or connected (01)',
      protocol: 'udp',
      lines: [
        UDP_HEADER,
        ' 1012: 00000000:7A20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3311 2 0000000000000000 0',
        ' 1013: 0100007F:7A21 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 3312 2 0000000000000000 0',
      ],
      ports: [31264, 31265],
    },
    {
      name: 'an IPv6 UDP socket',
      protocol: 'udp',
      lines: [' 2001: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 4411 2 0000000000000000 0'],
      ports: [5353],
    },
    {
      name: 'only the header, an empty file, junk and a port of 0',
      protocol: 'tcp',
      lines: [TCP_HEADER, '', 'garbage', '   5: 00000000:0000 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1'],
      ports: [],
    },
  ])('$name', ({ protocol, lines, ports }) => {
    expect(portsInTable(lines.join('\n'), protocol)).toEqual(ports);
  });
});

describe('inUseWithin', () => {
  it.each<{ name: string; offered: Array<{ begin: number; end: number }>; inUse: number[]; out: Array<{ begin: number; end: number }> }>([
    { name: 'nothing offered', offered: [], inUse: [31000], out: [] },
    { name: 'ports outside the ranges are left out', offered: [{ begin: 31000, end: 31010 }], inUse: [22, 5050, 30999, 31011], out: [] },
    {
      name: 'adjacent ports merge, range edges count',
      offered: [{ begin: 31000, end: 31010 }, { begin: 32000, end: 32000 }],
      inUse: [31010, 31000, 31001, 32000, 31005],
      out: [
        { begin: 31000, end: 31001 },
        { begin: 31005, end: 31005 },
        { begin: 31010, end: 31010 },
        { begin: 32000, end: 32000 },
      ],
    },
  ])('$name', ({ offered, inUse, out }) => {
    expect(inUseWithin(offered, new Set(inUse))).toEqual(out);
  });
});

describe('on this machine', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function listenTcp(host: string): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
    closers.push(() => new Promise((r) => server.close(() => r())));
    return (server.address() as net.AddressInfo).port;
  }

  it('finds real TCP listeners (IPv4 and IPv6) and bound UDP sockets, and not a closed one', async () => {
    const v4 = await listenTcp('127.0.0.1');
    const v6 = await listenTcp('::');
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => udp.close(() => r())));
    const closed = await listenTcp('127.0.0.1');
    await (closers.pop() as () => Promise<void>)();

    const inUse = await readPortsInUse();
    expect(inUse.has(v4)).toBe(true);
    expect(inUse.has(v6)).toBe(true);
    expect(inUse.has(udp.address().port)).toBe(true);
    expect(inUse.has(closed)).toBe(false);
    expect(await offeredPortsInUse([{ begin: v4, end: v4 }])).toEqual([{ begin: v4, end: v4 }]);
  });

  it('skips tables the kernel does not have (no IPv6)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-procnet-'));
    try {
      fs.writeFileSync(path.join(dir, 'tcp'), `${TCP_HEADER}\n   0: 00000000:7A1A 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 108 1\n`);
      fs.writeFileSync(path.join(dir, 'udp'), `${UDP_HEADER}\n`);
      expect([...(await readPortsInUse(dir))]).toEqual([31258]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
