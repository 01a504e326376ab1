import { describe, expect, test } from 'vitest';
import { Semaphore } from './semaphore.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  test('runs at most `limit` tasks, then the waiting ones in FIFO order', async () => {
    const gate = new Semaphore(2);
    const order: number[] = [];
    const releases: Array<() => void> = [];
    const tasks = [0, 1, 2, 3].map((i) =>
      gate.run(async () => {
        order.push(i);
        await new Promise<void>((r) => releases.push(r));
        return i;
      }),
    );
    await tick();
    expect([order, gate.inFlight, gate.queued]).toEqual([[0, 1], 2, 2]);
    releases[1]!();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    expect(gate.inFlight).toBe(2);
    releases[0]!();
    releases[2]!();
    await tick();
    releases[3]!();
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3]);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  test('a failing task frees its slot', async () => {
    const gate = new Semaphore(1);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(async () => 'next')).resolves.toBe('next');
    expect(gate.inFlight).toBe(0);
  });

  test('the limit must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Semaphore(bad)).toThrow(RangeError);
  });
});
