/** `kms-byok fleet report`: declaration (flags, help). The command is in ../commands/fleet.ts. */
import type { CommandGroup, CommandSpec } from '../command-spec.js';
import { OUTPUT } from './shared.js';

export const FLEET_REPORT: CommandSpec = {
  name: 'fleet report',
  summary: "merge the run states of a plan's shards into one result per key (exit 1: incomplete)",
  usage: ['fleet report --plan FILE [--state-dir DIR] [--shards N] [--command reimport|restore|status] [--json]'],
  description: `Reads the run state every shard of the plan left (reimport --plan FILE --shard K/N [--state-dir DIR])
and prints one row per key of the plan: its shard, quota domain (account, Region) and last result.
No KMS request is sent. Exit 1 when any key failed or has no result, a shard has not run, a shard ran
a different plan (the plan's SHA-256 is in each state's header), or two shards served the same
quota domain or key; exit 3 when status found keys that need attention; exit 0 otherwise.`,
  flags: {
    plan: { type: 'string', value: 'FILE', help: 'the plan the shards ran' },
    'state-dir': { type: 'string', value: 'DIR', help: "where the shards' run states are (default: the plan's directory)" },
    shards: { type: 'string', value: 'N', help: 'the number of shards (default: the N of the state files found)' },
    command: { type: 'string', value: 'CMD', help: 'reimport (default), restore or status' },
    ...OUTPUT,
  },
  examples: ['$ kms-byok fleet report --plan fleet.json --state-dir /var/lib/kms-byok/runs', '$ kms-byok fleet report --plan fleet.json --shards 4 --json'],
};

export const FLEET_COMMANDS: CommandGroup = {
  name: 'fleet',
  summary: "merge the results of a plan's shards (fleet report)",
  subcommands: [FLEET_REPORT],
};
