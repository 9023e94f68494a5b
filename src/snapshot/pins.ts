// Snapshot pins: a name for a metadata version. While any pin exists, commits keep history, so the
// namespace and bodies as of each pinned version stay readable; object GC keeps what they reach.

import { Exists, Invalid, NotFound } from '../errors.js';
import { keys, parseKey } from '../meta/keys.js';
import { decode, encode, type PinRecord } from '../meta/records.js';
import type { Volume } from '../volume.js';

export interface Pin extends PinRecord {
  name: string;
}

export function validatePinName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw Invalid(`snapshot name ${JSON.stringify(name)} must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

export async function listPins(volume: Volume): Promise<Pin[]> {
  const [start, end] = keys.spaceRange('P');
  return (await volume.kv.scan(start, end)).map((entry) => ({ name: parseKey.pinName(entry.key), ...decode<PinRecord>(entry.value) }));
}

export async function findPin(volume: Volume, name: string): Promise<Pin> {
  validatePinName(name);
  const value = await volume.kv.get(keys.pin(name));
  if (!value) throw NotFound(`no snapshot named ${name}`);
  return { name, ...decode<PinRecord>(value) };
}

/** Pins the current version. Open write sessions publish first, so the pin sees what was written. */
export async function pinSnapshot(volume: Volume, name: string): Promise<Pin> {
  validatePinName(name);
  await volume.files.publishAll();
  return volume.namespace.mutate(async () => {
    if (await volume.kv.get(keys.pin(name))) throw Exists(`a snapshot named ${name} already exists`);
    await volume.kv.settle();
    const record: PinRecord = { version: volume.kv.currentVersion(), pinnedAtMs: Date.now() };
    await volume.kv.commit([{ type: 'put', key: keys.pin(name), value: encode(record) }], { sync: true });
    await volume.refreshPins();
    return { name, ...record };
  });
}

export async function retireSnapshot(volume: Volume, name: string): Promise<Pin> {
  const pin = await findPin(volume, name);
  await volume.namespace.mutate(async () => {
    await volume.kv.commit([{ type: 'del', key: keys.pin(name) }], { sync: true });
    await volume.refreshPins();
  });
  return pin;
}
