// strata snapshot pin|list|retire <name>

import { HelpRequested, isHelpFlag, UsageError, parseArgs } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE } from './common.js';
import { validatePinName, type Pin } from '../snapshot/pins.js';

const USAGE = `strata snapshot pin <name> | list | retire <name> ${VOLUME_USAGE}`;

export async function snapshot(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (isHelpFlag(action)) throw new HelpRequested(USAGE);
  if (action === 'list') {
    const { flags } = parseArgs(rest, { usage: USAGE, positionals: [], flags: { ...VOLUME_FLAGS, json: 'boolean' } });
    const pins = (await onVolume(flags, 'snapshot.list')) as Pin[];
    if (flags.json) printJson(pins);
    else for (const pin of pins) process.stdout.write(`${pin.name}\t${pin.version}\t${new Date(pin.pinnedAtMs).toISOString()}\n`);
    return 0;
  }
  if (action !== 'pin' && action !== 'retire') throw new UsageError(`snapshot needs pin, list or retire\nusage: ${USAGE}`);
  const { positionals, flags } = parseArgs(rest, { usage: USAGE, positionals: ['name'], flags: VOLUME_FLAGS });
  try {
    validatePinName(positionals[0]!);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  const pin = (await onVolume(flags, `snapshot.${action}`, { name: positionals[0] })) as Pin;
  process.stdout.write(action === 'pin' ? `${pin.version}\n` : `retired ${pin.name} (version ${pin.version})\n`);
  return 0;
}
