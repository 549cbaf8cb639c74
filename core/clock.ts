// Time as a dependency: services that decide by time (click expiry, rate windows, billing days)
// take a Clock instead of calling Date.now(), so tests can move time. OffsetClock is the real
// clock plus an adjustable offset (a test-only endpoint or `--clock-offset-ms` moves it); ManualClock
// is for unit tests. Single-threaded: plain fields, no locking needed.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The system clock shifted by an offset that can be changed at run time. */
export class OffsetClock implements Clock {
  constructor(private offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  get offset(): number {
    return this.offsetMs;
  }
  setOffset(ms: number): void {
    this.offsetMs = ms;
  }
}

/** A clock that moves only when told to (unit tests). */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(ms: number): void {
    this.t = ms;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
