export async function devCommand(_opts: unknown): Promise<number> { return 1; }
