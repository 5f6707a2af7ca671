// @drover/client: the typed client users and the CLI call to talk to a master.
export * from './drover-client.js';
export type { Agent, App, AppSpec, AppVersion, Deployment, Event, FileEntry, Task } from '@drover/proto';
