import { Code, type ConnectFailure, UnreachableError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { HintedError } from './cli-errors.js';
import { connectionHint, withConnectionHint } from './connection-hints.js';

describe('connectionHint', () => {
  it.each<{ name: string; failure: ConnectFailure; tls: boolean; hint: RegExp | undefined }>([
    { name: 'no master listening', failure: 'refused', tls: false, hint: /is a master running there\?.*--master HOST:PORT or DROVER_MASTER/ },
    { name: 'no master listening, with TLS', failure: 'refused', tls: true, hint: /is a master running there\?/ },
    { name: 'a host name that does not resolve', failure: 'unresolved', tls: true, hint: /check the host name in --master/ },
    { name: 'the HTTP port given as the gRPC port', failure: 'not-grpc', tls: false, hint: /HTTP port \(default 5050\): give its gRPC port \(default 5053\)/ },
    { name: 'a TLS master dialed without certificates', failure: 'closed', tls: false, hint: /requires TLS.*: give --tls-ca, --tls-cert and --tls-key \(or DROVER_TLS_CA/ },
    { name: 'a TLS master refusing the client certificate', failure: 'closed', tls: true, hint: /refuses this client's certificate/ },
    { name: 'TLS to a plaintext master', failure: 'tls-mismatch', tls: true, hint: /no TLS server answered there/ },
    { name: 'an untrusted master certificate', failure: 'certificate', tls: true, hint: /--tls-ca must be the cluster's CA/ },
    { name: 'anything else', failure: 'other', tls: false, hint: undefined },
  ])('$name', ({ failure, tls, hint }) => {
    const got = connectionHint(failure, tls);
    if (hint === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(hint);
  });
});

describe('withConnectionHint', () => {
  it('keeps the message and code, adding the hint', () => {
    const err = withConnectionHint(new UnreachableError('127.0.0.1:5050', 'Protocol error', 'not-grpc'), false);
    expect(err).toBeInstanceOf(HintedError);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe('cannot reach the master at 127.0.0.1:5050: Protocol error');
  });

  it('leaves an error without advice as it is', () => {
    const err = new UnreachableError('127.0.0.1:5053', 'EHOSTUNREACH', 'other');
    expect(withConnectionHint(err, false)).toBe(err);
  });
});
