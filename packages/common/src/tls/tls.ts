/**
 * TLS for every connection between Drover components: the master serves
 * gRPC over TLS and requires a client certificate from the same CA (mutual
 * TLS), so agents and clients are authenticated by their certificates and
 * nobody without one can talk to the master at all.
 *
 * Plaintext is allowed only where it cannot leak: on loopback (dev mode,
 * tests), or when the operator says --insecure on purpose.
 */
import fs from 'node:fs';
import net from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { type ChannelOptions, ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { Code } from '../errors/code.js';
import { DroverError } from '../errors/drover-error.js';

/** Paths of the PEM files, as given on the command line. */
export interface TlsPaths {
  /** CA certificate that signed every Drover certificate. */
  ca?: string;
  /** This component's certificate. */
  cert?: string;
  /** This component's private key. */
  key?: string;
}

/** The loaded PEM files. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Loads all three files, or returns undefined when none is given; a partial set is an error. */
export function loadTls(paths: TlsPaths): TlsMaterial | undefined {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => paths[k] !== undefined && paths[k] !== '');
  if (given.length === 0) return undefined;
  const missing = (['ca', 'cert', 'key'] as const).filter((k) => !given.includes(k));
  if (missing.length > 0) {
    throw new DroverError(
      `TLS needs all of --tls-ca, --tls-cert and --tls-key; missing ${missing.map((m) => `--tls-${m}`).join(', ')}`,
      Code.InvalidArgument,
    );
  }
  const read = (k: 'ca' | 'cert' | 'key'): Buffer => {
    try {
      return fs.readFileSync(paths[k] as string);
    } catch (e) {
      throw new DroverError(`cannot read --tls-${k} ${paths[k]}: ${(e as Error).message}`, Code.InvalidArgument, { cause: e });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

/** Server credentials: TLS with a required client certificate, or plaintext when no material. */
export function serverCredentials(tls: TlsMaterial | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

/** Channel credentials: TLS presenting our certificate, or plaintext when no material. */
export function channelCredentials(tls: TlsMaterial | undefined): ChannelCredentials {
  if (!tls) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** What to dial one address with: credentials and the channel options that go with them. */
export interface GrpcDial {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
}

/**
 * The TLS server name sent when the target is an IP address. Any name that
 * is not an IP will do: the master ignores SNI, and ".invalid" (RFC 6761)
 * can never be a real host.
 */
export const IP_TARGET_SERVER_NAME = 'drover-master.invalid';

/**
 * How to dial `target` ("host:port"): mutual TLS with `tls`, plaintext without.
 *
 * grpc-js sends the target's host as the TLS server name (SNI), and Node
 * warns (DEP0123) when that is an IP address, which RFC 6066 forbids there:
 * every CLI run against 10.0.0.1:5053 printed a deprecation warning. For an
 * IP target the server name is therefore a placeholder
 * (grpc.ssl_target_name_override), and the master's certificate is still
 * checked against the IP itself, exactly as Node would have.
 */
export function dialTarget(tls: TlsMaterial | undefined, target: string): GrpcDial {
  const host = hostOf(target);
  if (!tls || net.isIP(host) === 0) return { credentials: channelCredentials(tls), channelOptions: {} };
  return {
    credentials: ChannelCredentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert) }),
    channelOptions: { 'grpc.ssl_target_name_override': IP_TARGET_SERVER_NAME },
  };
}

/** True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host part of "host:port" or "[v6]:port". */
export function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return v6[1] as string;
  const i = address.lastIndexOf(':');
  return i > 0 && address.indexOf(':') === i ? address.slice(0, i) : address;
}

/**
 * Refuses plaintext over the network. `where` is what would be exposed
 * ("serving on 0.0.0.0:5053", "connecting to 10.0.0.1:5053").
 */
export function requireTlsOffLoopback(tls: TlsMaterial | undefined, host: string, insecure: boolean, where: string): void {
  if (tls || insecure || isLoopback(host)) return;
  throw new DroverError(
    `refusing plaintext gRPC when ${where}: give --tls-ca, --tls-cert and --tls-key ` +
      '(scripts/gen-certs makes a set), or --insecure on a network you trust',
    Code.InvalidArgument,
  );
}
