// Seeded randomness for sampling and the latent state's initialisation. Small and explicit so a
// seed reproduces a generation on any machine.

/** sfc32, seeded through splitmix32; returns floats in [0, 1). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    let s = 0x9e3779b9;
    const mix = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      for (const seed of seeds) z = Math.imul(z ^ (seed | 0) ^ Math.floor(seed / 2 ** 32), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Normal(0, std) truncated to [-3 std, 3 std] by rejection, like torch's trunc_normal_ bounds. */
  truncatedNormal(std: number): number {
    for (;;) {
      const z = this.normal();
      if (z >= -3 && z <= 3) return z * std;
    }
  }
}
