/**
 * Where the etcd store keeps each record: one key per record, never a blob,
 * so a batch writes only what changed and a load reads in pages.
 *
 *   <prefix>/apps/<app id>
 *   <prefix>/versions/<app id>/<version>
 *   <prefix>/deployments/<deployment id>
 *   <prefix>/tasks/<task id>
 *   <prefix>/agents/<agent id>
 *   <prefix>/meta/format        the stored format (STORE_FORMAT)
 *   <prefix>/meta/generation    the last generation handed out
 *   <prefix>/meta/term          the generation the current term began with
 *
 * Every id is one URI-encoded segment: app ids hold slashes ('/web/api'),
 * and without the encoding app '/a/b' version 'c' and app '/a' version 'b/c'
 * would share a key. The values are the records as record-codec.ts encodes
 * them, so a key never has to be parsed: loading decodes values only.
 *
 * The leadership keys live beside them (leadership/etcd-leadership.ts):
 * <prefix>/leader/<lease id> and <prefix>/masters/<master id>.
 */
import type { Mutation } from '../model/mutation.js';

/** The kinds of record, each under a key prefix of its own. */
export const RECORD_KINDS = ['apps', 'versions', 'deployments', 'tasks', 'agents'] as const;
/** One kind of record. */
export type RecordKind = (typeof RECORD_KINDS)[number];

/** The keys of one store, under one prefix. */
export class EtcdKeys {
  /** `prefix` without a trailing slash ('/drover'). */
  constructor(readonly prefix: string) {}

  /** The prefix every record of `kind` has (ends with '/'). */
  kind(kind: RecordKind): string {
    return `${this.prefix}/${kind}/`;
  }

  /** A meta key. */
  meta(name: 'format' | 'generation' | 'term'): string {
    return `${this.prefix}/meta/${name}`;
  }

  /** The key a mutation writes or deletes. */
  of(m: Mutation): string {
    switch (m.kind) {
      case 'putApp':
        return this.record('apps', m.app.spec.id);
      case 'deleteApp':
        return this.record('apps', m.id);
      case 'putTask':
        return this.record('tasks', m.task.id);
      case 'deleteTask':
        return this.record('tasks', m.id);
      case 'putAgent':
        return this.record('agents', m.agent.id);
      case 'putVersion':
        return this.record('versions', m.version.appId, m.version.version);
      case 'deleteVersion':
        return this.record('versions', m.appId, m.version);
      case 'putDeployment':
        return this.record('deployments', m.deployment.id);
      case 'deleteDeployment':
        return this.record('deployments', m.id);
    }
  }

  private record(kind: RecordKind, ...ids: string[]): string {
    return this.kind(kind) + ids.map(encodeURIComponent).join('/');
  }
}

/** The key just after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
