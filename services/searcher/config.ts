// The searcher's settings: one TypeBox schema (flags, IMATCH_* variables, defaults), read once at
// the program edge by bin/commands/searcher.ts with core/config.ts loadConfig, then frozen and
// passed down. No I/O and no state here.
import { type Static, Type } from '@sinclair/typebox';
import {
  CommonSettings,
  FramesSettings,
  HttpSettings,
  KafkaSettings,
  ZkSettings,
} from '../../core/config.js';
import { ServiceSettings } from '../../core/service-runtime.js';
import { IsUpdateSettings } from './isupdate/config.js';

export const SearcherConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...HttpSettings,
    // isupdate: change messages from Kafka into the live index (services/searcher/isupdate).
    ...KafkaSettings,
    ...IsUpdateSettings,
    ...FramesSettings,
    column: Type.Integer({
      minimum: 0,
      maximum: 1023,
      description: 'Column (partition) this replica serves',
    }),
    replica: Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      description: 'Replica id, unique within the column (its ZooKeeper node name)',
    }),
    ...ServiceSettings,
  },
  { additionalProperties: false },
);
export type SearcherConfig = Static<typeof SearcherConfig>;
