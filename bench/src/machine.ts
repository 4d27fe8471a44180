import { cpus, freemem, loadavg, release, totalmem, type } from 'node:os';

/** The machine a run was measured on, written beside its results. */
export interface MachineDescription {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  freeMemoryBytes: number;
  node: string;
  os: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: [number, number, number];
}

/** Describes this machine now. */
export function describeMachine(): MachineDescription {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    node: process.version,
    os: `${type()} ${release()}`,
    loadAverage: [round2(one), round2(five), round2(fifteen)],
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
