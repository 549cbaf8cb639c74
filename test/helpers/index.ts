// Shared helpers of the integration tests (see each module).

export { uniqueGroupId, uniqueName, uniqueTopic, uniqueZkRoot } from './names.js';
export { freePort, freePorts } from './ports.js';
export { kafkaBrokers, testKafka, testZk, zkConnect } from './servers.js';
export { CLI, REPO_ROOT, type ServiceProcess, spawnImatch, spawnService } from './spawn.js';
export { type WaitOptions, waitFor } from './wait.js';
