// The ZooKeeper layout of one deployment, under a configurable root (default /imatch).
// Every service builds its paths here so the layout is defined once (docs/zookeeper.md).
//
//   <root>/index/current                      JSON IndexPointer: the version searchers serve
//   <root>/services/searcher/col-<c>/<id>     ephemeral, JSON SearcherRegistration
//   <root>/services/<kind>/<id>               ephemeral, JSON {url, ...} for merger, blender,
//                                             dispatch, click-filter, billing, learner, reports
//   <root>/dispatch/election/n-<seq>          ephemeral sequential: lowest is the leader
//   <root>/dispatch/ids                       JSON {next}: first id of the next free block
//   <root>/dispatch/changes                   JSON ChangesTopic: the Kafka cluster and topic this
//                                             deployment's change messages go to
//   <root>/config/qrw                         JSON {synonyms: {word: [alternatives]}, stopwords: [..]}
//   <root>/config/pricing                     JSON {reserveMicros, stepMicros}
//   <root>/config/click-filter                JSON thresholds and block lists
//   <root>/config/experiment                  JSON ExperimentConfig {arms: {name: share}} (core/experiment.ts)
//   <root>/learner/model                      JSON ModelPointer: the newest click model snapshot

export type ServiceKind =
  | 'searcher'
  | 'merger'
  | 'blender'
  | 'dispatch'
  | 'click-filter'
  | 'billing'
  | 'learner'
  | 'reports';

export function zkPaths(root: string) {
  const r = root.endsWith('/') ? root.slice(0, -1) : root;
  return {
    root: r,
    indexCurrent: `${r}/index/current`,
    services: `${r}/services`,
    serviceKind: (kind: ServiceKind) => `${r}/services/${kind}`,
    searcherColumn: (column: number) => `${r}/services/searcher/col-${column}`,
    searcherReplica: (column: number, replica: string) => `${r}/services/searcher/col-${column}/${replica}`,
    dispatchElection: `${r}/dispatch/election`,
    dispatchIds: `${r}/dispatch/ids`,
    dispatchChanges: `${r}/dispatch/changes`,
    config: `${r}/config`,
    configQrw: `${r}/config/qrw`,
    configPricing: `${r}/config/pricing`,
    configClickFilter: `${r}/config/click-filter`,
    configExperiment: `${r}/config/experiment`,
    learnerModel: `${r}/learner/model`,
  };
}

/** What /index/current holds. */
export interface IndexPointer {
  version: string;
  /** Absolute path of the version folder (manifest.json and one segment per column). */
  dir: string;
  columns: number;
  /** Last change-message id the version already contains. */
  watermark: number;
  publishedAt: string;
}

/** What a searcher replica writes into its ephemeral registration node. */
export interface SearcherRegistration {
  url: string;
  /** `host:port` of its frame RPC listener (core/frame-rpc.ts), when it has one. */
  frames?: string;
  column: number;
  replica: string;
  version: string;
  appliedId: number;
  startedAt: string;
}

/**
 * What <root>/dispatch/changes holds (written by dispatch once the topic exists): searchers consume
 * change messages only from this Kafka cluster and topic, so a replica pointed at another
 * deployment's Kafka never applies its changes.
 */
export interface ChangesTopic {
  topic: string;
  /** Kafka's cluster id (admin describeCluster). */
  clusterId: string;
  partitions: number;
}

/**
 * What <root>/learner/model holds (written by the learner after each snapshot): the model file
 * whoever ranks loads. `sha256` is of the whole file; a reader reloads when it changes.
 */
export interface ModelPointer {
  version: number;
  /** Absolute path of the model file (learner/model-file.ts format). */
  path: string;
  sha256: string;
  bytes: number;
  weights: number;
  examples: number;
  createdAt: string;
}
