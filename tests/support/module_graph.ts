/**
 * The import edges of `main.ts`'s module graph, from `deno info --json`, for tests that check a
 * heavy module is reached only through a dynamic import (loaded only when it is needed).
 *
 * @module
 */

/** One import: which module imports which specifier, and whether by `import()`. */
export interface ImportEdge {
  /** The importing module's URL. */
  readonly from: string;
  /** The specifier as written (an npm name, or a resolved URL). */
  readonly to: string;
  /** True for a dynamic `import()`. */
  readonly dynamic: boolean;
}

/**
 * Lists every import edge of `main.ts`'s graph.
 *
 * @returns the edges
 */
export async function mainImportEdges(): Promise<ImportEdge[]> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`deno info main.ts exited with ${code}`);
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string; isDynamic?: boolean }[] }[];
  };
  return info.modules.flatMap((m) =>
    (m.dependencies ?? []).map((d) => ({
      from: m.specifier,
      to: d.specifier,
      dynamic: d.isDynamic === true,
    }))
  );
}
