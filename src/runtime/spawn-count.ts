// How many processes the daemon has started: DESIGN.md budgets spawns per RPC, and the
// benchmarks read this (verbose Status info) to check the budget.
let spawned = 0;

export function countSpawn(): void {
  spawned++;
}

export function spawnCount(): number {
  return spawned;
}
