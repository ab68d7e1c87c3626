export async function runCommand(_opts: unknown): Promise<number> { return 1; }
