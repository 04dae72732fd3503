// Optional packages (charts, progress bar) loaded at run time: the specifier is not a literal, so
// esbuild leaves the import to Node, and the benchmark still runs when the package is absent.

export async function importOptional<T>(name: string): Promise<T | null> {
  const specifier = name;
  try {
    return (await import(specifier)) as T;
  } catch {
    return null;
  }
}
