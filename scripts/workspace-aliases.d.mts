/** Each workspace package and app by name → its `src/index.ts`. */
export declare const workspaceAliases: Record<string, string>
