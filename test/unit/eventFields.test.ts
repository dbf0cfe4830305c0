// The field table (shared/eventFields.ts) has no gaps against the two shapes derived from
// it that a database does not check: the listed event (the fixture written by the code of
// an earlier version) and the input schema. Its columns against audit_events are checked in
// test/integration/eventFields.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventInputSchema } from '../../shared/event.js';
import { EVENT_FIELDS, INPUT_FIELDS, listedEventOf, type EventField } from '../../shared/eventFields.js';

const FIELDS = EVENT_FIELDS as readonly EventField[];
const listedFixture = JSON.parse(readFileSync(new URL('../fixtures/eventFields.listed.json', import.meta.url), 'utf8')) as Record<string, unknown>[];

/** Every key of a listed event, a group's parts as `group.part`, in order. */
function pathsOf(listed: Record<string, unknown>): string[] {
  return Object.entries(listed).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && FIELDS.some((f) => f.listed.key === key && f.listed.part !== undefined)
      ? Object.keys(value).map((part) => `${key}.${part}`)
      : [key],
  );
}
const listedPath = (f: EventField) => (f.listed.part === undefined ? f.listed.key : `${f.listed.key}.${f.listed.part}`);

describe('the field table', () => {
  it('has a row for every key of a listed event made by an earlier version, in its order, and no other', () => {
    const withActor = listedFixture.find((e) => e.actor !== null)!;
    expect(pathsOf(withActor)).toEqual(FIELDS.map(listedPath));
  });

  it('builds listed events key for key as the earlier version listed them', () => {
    for (const listed of listedFixture) {
      const group = (f: EventField) => listed[f.listed.key] as Record<string, unknown> | null;
      const values = Object.fromEntries(FIELDS.map((f) => [f.key, f.listed.part ? (group(f)?.[f.listed.part] ?? null) : listed[f.listed.key]]));
      expect(JSON.stringify(listedEventOf(values, (_f, v) => v))).toBe(JSON.stringify(listed));
    }
  });

  it('says for every field whether an event sent to Vigil carries it, and a group may be absent only when its presence part is nullable', () => {
    for (const f of FIELDS) expect(['required', 'optional', null], f.key).toContain(f.input);
    // What only the server knows is never sent.
    expect(FIELDS.filter((f) => f.input === null).map((f) => f.key)).toEqual(['seq', 'recordedAt', 'hash']);
    // A nullable field is optional, but for a group's presence part (required inside its group).
    for (const f of FIELDS.filter((f) => f.nullable)) expect(f.input, f.key).toBe('presence' in f.listed ? 'required' : 'optional');
  });

  it('gives the input schema exactly the fields sent, in table order, each group as a strict object of its parts', () => {
    const inputFields = INPUT_FIELDS as readonly EventField[];
    const top = [...new Set(inputFields.map((f) => f.listed.key))];
    expect(Object.keys(eventInputSchema.shape)).toEqual(top);
    const actor = eventInputSchema.shape.actor.unwrap();
    expect(Object.keys(actor.shape)).toEqual(inputFields.filter((f) => f.listed.key === 'actor').map((f) => f.listed.part));
  });

  it('refuses in input what only the server sets, and requires what the table requires', () => {
    const minimal = { action: 'login', resourceType: 'user', resourceTarget: 'alice' };
    expect(eventInputSchema.safeParse(minimal).success).toBe(true);
    for (const f of FIELDS.filter((f) => f.input === null)) {
      const result = eventInputSchema.safeParse({ ...minimal, [f.listed.key]: 1 });
      expect(result.error?.issues.map((i) => i.code), f.key).toEqual(['unrecognized_keys']);
    }
    const required = FIELDS.filter((f) => f.input === 'required' && f.listed.part === undefined).map((f) => f.listed.key);
    expect(required.sort()).toEqual(Object.keys(minimal).sort());
    for (const key of required) {
      const { [key as keyof typeof minimal]: _, ...rest } = minimal;
      expect(eventInputSchema.safeParse(rest).error?.issues.map((i) => i.path), key).toEqual([[key]]);
    }
    expect(eventInputSchema.safeParse({ ...minimal, actor: {} }).error?.issues.map((i) => i.path)).toEqual([['actor', 'username']]);
  });
});
