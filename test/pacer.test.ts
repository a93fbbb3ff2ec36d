import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pacer } from '../src/engine/pacer.ts';

let sent: Array<{ at: number; items: number[] }>;
let pacer: Pacer<number>;
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  sent = [];
  pacer = new Pacer<number>((_key, items) => sent.push({ at: Date.now(), items }));
});
afterEach(() => vi.useRealTimers());

describe('pacer', () => {
  it('lets a burst through, then one call per 1/rate seconds', () => {
    const req = { key: 'crm:default', perSecond: 2, burst: 3 };
    for (let i = 0; i < 7; i++) pacer.enqueue(req, i);
    expect(sent.map((s) => s.at)).toEqual([0, 0, 0]);
    vi.advanceTimersByTime(2000);
    expect(sent.map((s) => s.at)).toEqual([0, 0, 0, 500, 1000, 1500, 2000]);
    expect(sent.flatMap((s) => s.items)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('hands a batch node up to `batch` waiting tasks per call', () => {
    const req = { key: 'bitrix24:default', perSecond: 1, burst: 1, batch: 5 };
    for (let i = 0; i < 12; i++) pacer.enqueue(req, i);
    vi.advanceTimersByTime(3000);
    expect(sent).toEqual([{ at: 0, items: [0] }, { at: 1000, items: [1, 2, 3, 4, 5] }, { at: 2000, items: [6, 7, 8, 9, 10] }, { at: 3000, items: [11] }]);
  });

  it('batches only tasks of the same node when several nodes share a connection', () => {
    const add = { key: 'bitrix24:default', perSecond: 1, burst: 1, batch: 5 };
    const find = { key: 'bitrix24:default', perSecond: 1, burst: 1 };
    pacer.enqueue(find, 0, 'intake@1:find');
    for (let i = 1; i <= 6; i++) i % 3 ? pacer.enqueue(add, i, 'create@1:add') : pacer.enqueue(find, i, 'intake@1:find');
    vi.advanceTimersByTime(4000);
    expect(sent.map((s) => s.items)).toEqual([[0], [1, 2, 4, 5], [3], [6]]);
  });

  it('sends tasks beyond a short queue back to the store, spread at the lane\'s throughput', () => {
    const req = { key: 'sms:default', perSecond: 1, burst: 1 };
    // The queue holds 10 s of the lane's throughput: ten tasks at one a second (one left at once).
    for (let i = 0; i < 11; i++) expect(pacer.admit(req)).toBeNull(), pacer.enqueue(req, i);
    const later = [pacer.admit(req), pacer.admit(req), pacer.admit(req)];
    expect(later[0]).toBe(10_000); // after the ten still queued
    expect(later[1]! - later[0]!).toBe(1000);
    expect(later[2]! - later[1]!).toBe(1000);
  });

  it('holds each chat to its own pace and all chats of a bot to the bot\'s', () => {
    const bot = { key: 'telegram:default', perSecond: 2, burst: 2 };
    for (let chat = 1; chat <= 6; chat++) pacer.enqueue({ key: `telegram:default:chat:${chat}`, perSecond: 1, burst: 1, within: bot }, chat);
    pacer.enqueue({ key: 'telegram:default:chat:1', perSecond: 1, burst: 1, within: bot }, 10);
    vi.advanceTimersByTime(3000);
    // Two at once (the bot's burst), then two a second across chats; chat 1's second message not before 1 s.
    expect(sent.filter((x) => x.at === 0).map((x) => x.items[0])).toEqual([1, 2]);
    expect(sent.length).toBe(7);
    // The bot's bucket: never more than its burst plus its rate over the time so far.
    for (let t = 0; t <= 3000; t += 250) expect(sent.filter((x) => x.at <= t).length).toBeLessThanOrEqual(2 + (2 * t) / 1000);
    expect(sent.find((x) => x.items[0] === 10)!.at).toBeGreaterThanOrEqual(1000);
  });

  it('forgets idle chat lanes, so a bot that met many people does not keep a lane for each', () => {
    const bot = { key: 'telegram:default', perSecond: 1000, burst: 1000 };
    const chat = (n: number) => ({ key: `telegram:default:chat:${n}`, perSecond: 1, burst: 1, within: bot });
    for (let n = 0; n < 998; n++) pacer.enqueue(chat(n), n);
    expect(Object.keys(pacer.queued())).toHaveLength(999); // 998 chats and the bot
    vi.advanceTimersByTime(2000); // every chat's bucket is full again
    pacer.enqueue(chat(5000), 5000); // the 1000th new lane sweeps the idle ones
    expect(Object.keys(pacer.queued()).sort()).toEqual(['telegram:default', 'telegram:default:chat:5000']);
    // A chat seen again starts with a full bucket, as it would have had anyway.
    pacer.enqueue(chat(1), 1);
    expect(sent.at(-1)).toEqual({ at: 2000, items: [1] });
  });

  it('stops a lane for as long as the service asked', () => {
    const req = { key: 'telegram:default', perSecond: 10, burst: 1 };
    pacer.enqueue(req, 1);
    pacer.slowDown('telegram:default', 5000);
    pacer.enqueue(req, 2);
    vi.advanceTimersByTime(4900);
    expect(sent.map((s) => s.items[0])).toEqual([1]);
    vi.advanceTimersByTime(200);
    expect(sent).toEqual([{ at: 0, items: [1] }, { at: 5000, items: [2] }]);
    expect(pacer.queued()).toEqual({ 'telegram:default': 0 });
  });
});
