// Unique names per test, so tests never see each other's data on the shared servers: ZooKeeper
// roots, Kafka topics and consumer group ids. Names use only [a-z0-9.-] (valid everywhere).
import { randomBytes } from 'node:crypto';

let counter = 0;

export function uniqueName(prefix: string): string {
  counter += 1;
  const clean = prefix.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  return `${clean}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A fresh ZooKeeper root such as `/imatch-test/zk-1234-1-a1b2c3`. */
export function uniqueZkRoot(prefix = 'zk'): string {
  return `/imatch-test/${uniqueName(prefix)}`;
}

export function uniqueTopic(prefix = 'topic'): string {
  return `imatch-test.${uniqueName(prefix)}`;
}

export function uniqueGroupId(prefix = 'group'): string {
  return `imatch-test.${uniqueName(prefix)}`;
}
