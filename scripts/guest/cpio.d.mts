export interface CpioEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode?: number;
  data?: Uint8Array | string;
  target?: string;
}
export function buildCpio(entries: CpioEntry[]): Buffer;
