/** A small seeded PRNG (xorshift32) so random tests are reproducible from their seed. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    let x = this.s
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    this.s = x
    return x
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return this.next() % n
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
}
