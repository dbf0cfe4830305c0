// What an organization sets by policy (storage.managed), read before the user's settings.
import { describe, expect, it } from 'vitest';
import { applyPolicy, readManagedPolicy } from '../../extension/src/managed.js';
import { DEFAULT_RULES } from '../../extension/src/rules.js';

describe('managed policy', () => {
  it('reads a well-formed policy, normalizing the address', () => {
    expect(
      readManagedPolicy({ serverUrl: 'https://vigil.example.com/', lockServerUrl: true, notificationRules: ['delete', 'cordon', 'delete'], lockNotificationRules: true }),
    ).toEqual({
      serverUrl: 'https://vigil.example.com',
      lockServerUrl: true,
      notificationActions: ['delete', 'cordon'],
      lockNotificationRules: true,
      notices: [],
    });
  });

  it('ignores values of the wrong type with a notice naming the setting, never throwing', () => {
    const policy = readManagedPolicy({ serverUrl: 42, lockServerUrl: 'yes', notificationRules: ['delete', 'explode'], lockNotificationRules: 1 });
    expect(policy.serverUrl).toBeUndefined();
    expect(policy.notificationActions).toBeUndefined();
    expect(policy.lockServerUrl).toBe(false);
    expect(policy.lockNotificationRules).toBe(false);
    expect(policy.notices).toHaveLength(4);
    for (const key of ['serverUrl', 'lockServerUrl', 'notificationRules', 'lockNotificationRules']) {
      expect(policy.notices.some((n) => n.includes(`"${key}"`))).toBe(true);
    }
    expect(readManagedPolicy({ serverUrl: 'ftp://x' }).notices[0]).toMatch(/"serverUrl" was ignored: the address must start with http/);
    expect(readManagedPolicy(undefined)).toEqual({ lockServerUrl: false, lockNotificationRules: false, notices: [] });
  });

  it('a lock without a value locks nothing', () => {
    expect(readManagedPolicy({ lockServerUrl: true, lockNotificationRules: true })).toMatchObject({ lockServerUrl: false, lockNotificationRules: false });
  });

  it('fills what the user has not set, and overrides it only when locked', () => {
    const managed = readManagedPolicy({ serverUrl: 'https://vigil.example.com', notificationRules: ['delete'] });
    expect(applyPolicy({}, managed)).toMatchObject({ serverUrl: 'https://vigil.example.com', notifyRules: { ...DEFAULT_RULES, actions: ['delete'] } });
    const mine = { serverUrl: 'https://mine.example.com', token: 't', notifyRules: { actions: ['login' as const], resourceTypes: [], query: '' } };
    expect(applyPolicy(mine, managed)).toMatchObject({ serverUrl: 'https://mine.example.com', token: 't', notifyRules: mine.notifyRules });
    const locked = readManagedPolicy({ serverUrl: 'https://vigil.example.com', lockServerUrl: true, notificationRules: ['delete'], lockNotificationRules: true });
    const applied = applyPolicy(mine, locked);
    expect(applied.serverUrl).toBe('https://vigil.example.com');
    // The user's token was for another server.
    expect(applied.token).toBeUndefined();
    expect(applied.notifyRules?.actions).toEqual(['delete']);
    expect(applyPolicy({ serverUrl: 'https://vigil.example.com', token: 't' }, locked).token).toBe('t');
  });
});
