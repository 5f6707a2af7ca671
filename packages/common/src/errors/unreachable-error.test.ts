import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Code } from './code.js';
import { fromGrpcError, toGrpcError } from './grpc-status.js';
import { NotLeaderError } from './not-leader-error.js';
import { connectFailureOf, UnreachableError } from './unreachable-error.js';

// Each `details` is what grpc-js 1.14 said when a client dialed a real master that way.
describe('connectFailureOf', () => {
  it.each([
    {
      name: 'nothing listens on the port',
      details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
      reason: 'connect ECONNREFUSED 127.0.0.1:1',
      failure: 'refused',
    },
    {
      name: "plaintext gRPC to the master's HTTP port",
      details: 'No connection established. Last error: Protocol error (2026-12-04T17:36:54.213Z). Resolution note: ',
      reason: 'Protocol error',
      failure: 'not-grpc',
    },
    {
      name: 'plaintext gRPC to a TLS master (or TLS refusing the client certificate)',
      details: 'No connection established. Last error: Failed to connect (2026-12-04T17:36:54.229Z). Resolution note: ',
      reason: 'Failed to connect',
      failure: 'closed',
    },
    {
      name: 'TLS to a plaintext master',
      details:
        'No connection established. Last error: Error: 806C82E3637F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ',
      reason: '806C82E3637F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:',
      failure: 'tls-mismatch',
    },
    {
      name: "a CA that did not sign the master's certificate",
      details: 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ',
      reason: 'self-signed certificate in certificate chain',
      failure: 'certificate',
    },
    {
      name: 'a host name that does not resolve',
      details: 'Name resolution failed for target dns:nosuchhost.invalid:5053',
      reason: 'Name resolution failed for target dns:nosuchhost.invalid:5053',
      failure: 'unresolved',
    },
    { name: 'anything else', details: 'No connection established. Last error: Error: EHOSTUNREACH. Resolution note: ', reason: 'EHOSTUNREACH', failure: 'other' },
  ])('$name: $failure', ({ details, reason, failure }) => {
    expect(connectFailureOf(details)).toEqual({ reason, failure });
  });
});

describe('fromGrpcError for a master it could not reach', () => {
  const unavailable = (details: string, metadata = new Metadata()) =>
    Object.assign(new Error(`14 UNAVAILABLE: ${details}`), { code: status.UNAVAILABLE, details, metadata });

  it('is an UnreachableError naming the target, the reason without timestamp, and its class', () => {
    const err = fromGrpcError(unavailable('No connection established. Last error: Protocol error (2026-12-04T17:36:54.213Z). Resolution note: '), '127.0.0.1:5050');
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ code: Code.Unavailable, target: '127.0.0.1:5050', reason: 'Protocol error', failure: 'not-grpc', neverSent: true });
    expect(err.rawMessage).toBe('cannot reach the master at 127.0.0.1:5050: Protocol error');
  });

  it('may have been sent when the connection broke under the call', () => {
    const err = fromGrpcError(unavailable('Connection dropped'), '127.0.0.1:5053');
    expect(err).toMatchObject({ failure: 'closed', neverSent: false });
  });

  it('is a plain error when a server answered UNAVAILABLE itself', () => {
    const metadata = new Metadata();
    metadata.set('drover-status-from-server', '1');
    const err = fromGrpcError(unavailable('agent node-9 is not connected', metadata), '127.0.0.1:5053');
    expect(err).not.toBeInstanceOf(UnreachableError);
    expect(err.rawMessage).toBe('agent node-9 is not connected');
  });
});

describe('a standby refusing a call', () => {
  it.each([
    { name: 'with a leader known', leader: 'h1:5053', trailer: 'h1:5053' },
    { name: 'with no leader known', leader: '', trailer: undefined },
  ])('crosses the wire as NotLeaderError $name', ({ leader, trailer }) => {
    const { code, details, metadata } = toGrpcError(new NotLeaderError(leader, 'the master at h2:5053'));
    expect(code).toBe(status.UNAVAILABLE);
    expect(metadata.get('drover-leader')[0]).toBe(trailer);
    const back = fromGrpcError(Object.assign(new Error(details), { code, details, metadata }), 'h2:5053');
    expect(back).toBeInstanceOf(NotLeaderError);
    expect(back).toMatchObject({ code: Code.Unavailable, leaderAddress: leader });
    expect(back.rawMessage).toContain('h2:5053 is a standby');
  });
});
