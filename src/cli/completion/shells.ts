/** The shells `agora completion` writes scripts for (a module of its own: the command's registration needs only this). */
export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const
export type Shell = typeof SHELLS[number]
