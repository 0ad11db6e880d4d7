// Exactly-once bookkeeping (src/ensemble/claims.ts) and how a queue worker takes a member's claim
// (claimForJob in src/ensemble/queue.ts): one holder at a time, done and failed members never run
// again, a held claim's heartbeat counts up, and a claim from another host is taken over only
// once its heartbeat has stood still (a dead machine), never while it beats (a live runner).
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BEAT_MS, type Claim, claimMember, memberState, stateDir } from '../../src/ensemble/claims.ts';
import { claimForJob } from '../../src/ensemble/queue.ts';
import { sleep, tmp } from './helpers.ts';

const claimFile = (dir: string, id: string) => join(stateDir(dir), `${id}.claim`);
const readClaim = (dir: string, id: string) => JSON.parse(readFileSync(claimFile(dir, id), 'utf8')) as Claim;

describe('member claims', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('one holder at a time; done and failed members are not claimed again; the heartbeat counts up', () => {
    vi.useFakeTimers();
    const dir = tmp();
    const a = claimMember(dir, '000');
    expect(a).not.toBeNull();
    expect(readClaim(dir, '000')).toMatchObject({ host: hostname(), pid: process.pid, child: null, beat: 0 });
    expect(claimMember(dir, '000')).toBeNull(); // held by a live process (this one)
    expect(memberState(dir, '000').state).toBe('running');
    a!.setChild(12345);
    vi.advanceTimersByTime(BEAT_MS * 3);
    expect(readClaim(dir, '000')).toMatchObject({ child: 12345, beat: 3 });
    a!.release();
    expect(memberState(dir, '000').state).toBe('pending');
    const b = claimMember(dir, '000')!;
    b.done({ final_loss: 0.5 });
    expect(memberState(dir, '000')).toMatchObject({ state: 'done', summary: { final_loss: 0.5 } });
    expect(claimMember(dir, '000')).toBeNull();
    expect(claimMember(dir, '000', true)).toBeNull(); // done is done, also when failed ones are retried
    vi.advanceTimersByTime(BEAT_MS * 3); // a finished claim's heartbeat does not bring its file back
    expect(() => readClaim(dir, '000')).toThrow(/ENOENT/);

    claimMember(dir, '001')!.failed('flyvis fit: bad input', 2);
    expect(memberState(dir, '001')).toEqual({ state: 'failed', error: 'flyvis fit: bad input', attempts: 2 });
    expect(claimMember(dir, '001')).toBeNull();
    const retried = claimMember(dir, '001', true);
    expect(retried).not.toBeNull();
    retried!.release();
  });

  it("a stale claim (its process gone from this host) is taken over; another host's claim is trusted", () => {
    const dir = tmp();
    claimMember(dir, '000')!.release();
    writeFileSync(claimFile(dir, '000'), JSON.stringify({ host: hostname(), pid: 2 ** 22 + 17, child: null, started: 'x', beat: 4 }));
    expect(memberState(dir, '000').state).toBe('pending');
    const c = claimMember(dir, '000');
    expect(c).not.toBeNull();
    c!.release();
    writeFileSync(claimFile(dir, '000'), JSON.stringify({ host: 'another-host', pid: 1, child: 2, started: 'x', beat: 4 }));
    expect(memberState(dir, '000').state).toBe('running');
    expect(claimMember(dir, '000')).toBeNull();
  });
});

describe('a queue worker taking a member (claimForJob)', () => {
  it("waits while another host's claim beats, takes it over once the beat stands still", async () => {
    const dir = tmp();
    claimMember(dir, '000')!.release(); // creates the bookkeeping folder
    let beat = 0;
    const write = () => writeFileSync(claimFile(dir, '000'), JSON.stringify({ host: 'another-host', pid: 1, child: 2, started: 'then', beat: beat++ }));
    write();
    const beating = setInterval(write, 150);
    let taken = false;
    const claim = claimForJob({ ensembleDir: dir, id: '000' }, 600).then((c) => ((taken = true), c));
    await sleep(2000); // more than three times the stale time: a live runner is never taken over
    expect(taken).toBe(false);
    clearInterval(beating);
    const t0 = performance.now();
    const held = await claim;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(550);
    expect(held).not.toBeNull();
    expect(readClaim(dir, '000')).toMatchObject({ host: hostname(), pid: process.pid });
    held!.release();
  });

  it('a done member resolves to null; a failed one rejects with its recorded error (a job handed out again is not run again)', async () => {
    const dir = tmp();
    claimMember(dir, '000')!.done({ final_loss: 1 });
    claimMember(dir, '001')!.failed('flyvis fit: x.json: not JSON', 1);
    await expect(claimForJob({ ensembleDir: dir, id: '000' })).resolves.toBeNull();
    await expect(claimForJob({ ensembleDir: dir, id: '001' })).rejects.toThrow('flyvis fit: x.json: not JSON');
  });
});
