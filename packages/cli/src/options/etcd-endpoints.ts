/** etcd client URLs as operators give them: comma-separated, each http(s)://host:port. */
import { Code, DroverError } from '@drover/common';

/** Parses "http://h1:2379,http://h2:2379" into a list; throws InvalidArgument naming the bad part. */
export function parseEtcdEndpoints(text: string): string[] {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new DroverError('no etcd endpoint given: expected http://host:2379[,http://host2:2379...]', Code.InvalidArgument);
  return parts.map((part) => {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new DroverError(`bad etcd endpoint "${part}": expected a URL like http://10.0.0.1:2379`, Code.InvalidArgument);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '') {
      throw new DroverError(`bad etcd endpoint "${part}": expected http(s)://host:port, for example http://10.0.0.1:2379`, Code.InvalidArgument);
    }
    return `${url.protocol}//${url.host}`;
  });
}

/** Checks an etcd key prefix: absolute, no trailing slash, no empty segments. */
export function parseEtcdPrefix(text: string): string {
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(text)) {
    throw new DroverError(`bad etcd prefix "${text}": expected a path like /drover or /prod/drover (letters, digits, . _ -)`, Code.InvalidArgument);
  }
  return text;
}
