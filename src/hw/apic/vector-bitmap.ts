// 256-bit vector bitmaps (IRR, ISR, TMR of SDM vol. 3A §11.8.4) as eight 32-bit words, word i holding
// vectors 32i..32i+31 exactly as the registers at offset base + 0x10·i. No allocation on any operation.

export type VectorBitmap = Uint32Array;

export const newVectorBitmap = (): VectorBitmap => new Uint32Array(8);

export function setVector(bm: VectorBitmap, v: number): void {
  bm[v >>> 5] |= 1 << (v & 31);
}

export function clearVector(bm: VectorBitmap, v: number): void {
  bm[v >>> 5] &= ~(1 << (v & 31));
}

export function testVector(bm: VectorBitmap, v: number): boolean {
  return (bm[v >>> 5] & (1 << (v & 31))) !== 0;
}

/** Highest set vector, or −1 when the bitmap is empty. */
export function highestVector(bm: VectorBitmap): number {
  return highestVectorFrom(bm, 7);
}

/** Highest set vector in words `word`..0, or −1 (for callers that know the words above are empty). */
export function highestVectorFrom(bm: VectorBitmap, word: number): number {
  for (let w = word; w >= 0; w--) {
    const word = bm[w]!;
    if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
  }
  return -1;
}
