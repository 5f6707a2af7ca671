/**
 * How a record is written down, shared by every store so that a record
 * means the same bytes in SQLite and in etcd: the record as JSON, nothing
 * added. A record that JSON cannot hold (a bigint) throws here, before any
 * store has written anything of its batch.
 */
import type { Mutation } from '../model/mutation.js';

/** The stored form of one record. */
export function encodeRecord(record: object): string {
  return JSON.stringify(record);
}

/** A record from its stored form. */
export function decodeRecord<T>(doc: string): T {
  return JSON.parse(doc) as T;
}

/** The record a put mutation writes; undefined for a delete. */
export function recordOf(m: Mutation): object | undefined {
  switch (m.kind) {
    case 'putApp':
      return m.app;
    case 'putTask':
      return m.task;
    case 'putAgent':
      return m.agent;
    case 'putVersion':
      return m.version;
    case 'putDeployment':
      return m.deployment;
    case 'deleteApp':
    case 'deleteTask':
    case 'deleteVersion':
    case 'deleteDeployment':
      return undefined;
  }
}
